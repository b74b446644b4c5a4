import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const APPS = ['gateway', 'key-registry', 'rate-limiter', 'budget-ledger', 'audit-attestation'];
const repoRoot = join(__dirname, '..', '..');

interface Service {
  image?: string;
  command?: string[] | string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
}

// `merge`: docker compose honours YAML merge keys (`<<: *app`), so the test must too
const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;

describe('docker-compose.yml', () => {
  it.each(APPS)('builds %s from the one Dockerfile with APP set to its name', (app) => {
    const service = services[app];
    expect(service).toBeDefined();
    expect(service.build).toMatchObject({ context: '.', dockerfile: 'tools/docker/Dockerfile', args: { APP: app } });
    const { context, dockerfile } = service.build ?? { context: '', dockerfile: '' };
    expect(readFileSync(join(repoRoot, context, dockerfile), 'utf8')).toMatch(/^ARG APP$/m);
  });

  it.each(APPS)('starts %s only once Postgres and NATS are healthy, pointed at them', (app) => {
    expect(services[app].depends_on).toMatchObject({
      postgres: { condition: 'service_healthy' },
      nats: { condition: 'service_healthy' },
    });
    expect(services[app].environment).toMatchObject({
      DATABASE_URL: expect.stringContaining('@postgres:5432/keyledger'),
      NATS_URL: 'nats://nats:4222',
    });
  });

  it('runs Postgres 15 with a health check', () => {
    expect(services.postgres.image).toBe('postgres:15');
    expect(String(services.postgres.healthcheck?.test)).toContain('pg_isready');
  });

  it('runs NATS 2 with JetStream and a health check on the monitoring port', () => {
    expect(services.nats.image).toMatch(/^nats:2(-|$)/);
    expect(services.nats.command).toEqual(expect.arrayContaining(['-js', '-m', '8222']));
    expect(String(services.nats.healthcheck?.test)).toContain(':8222/healthz');
  });

  it('passes the operator token to the gateway from the environment, refusing to start without it', () => {
    expect(services.gateway.environment?.KEYLEDGER_OPERATOR_TOKEN).toMatch(/^\$\{KEYLEDGER_OPERATOR_TOKEN:\?.+\}$/);
    for (const app of APPS.filter((a) => a !== 'gateway')) {
      expect(services[app].environment?.KEYLEDGER_OPERATOR_TOKEN).toBeUndefined();
    }
  });

  it('health-checks the gateway on /healthz', () => {
    expect(String(services.gateway.healthcheck?.test)).toContain('/healthz');
  });

  it('has nothing but the infrastructure and the five apps', () => {
    expect(Object.keys(services).sort()).toEqual(['nats', 'postgres', ...APPS].sort());
  });
});
