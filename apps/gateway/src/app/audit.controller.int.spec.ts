import { EventEmitter } from 'node:events';
import { get } from 'node:http';
import { APP_FILTER } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { FastifyInstance } from 'fastify';
import { Kysely, KyselyPlugin, sql } from 'kysely';
import pino from 'pino';
import { createDb, eventStoreMigrations, migrateToLatest } from '@keyledger/event-store';
import { ErrorEnvelopeFilter, KeyPrincipal, ServiceClients } from '@keyledger/gateway-http';
import { DB, LOGGER } from '@keyledger/nest';
import { createTestDatabase, TestDatabase, waitForLogHorizon } from '@keyledger/testing';
import { AuditController, drainedOrClosed } from './audit.controller';

const principal = {
  kind: 'key',
  key: { id: 'key_audit', environment: 'test', agent_id: null, scopes: ['audit:read'] },
  org: { id: 'org_audit' },
  agent: null,
} as unknown as KeyPrincipal;

/**
 * The same database, except that the `failOn`-th read of the events listing fails as a lost
 * connection would: Postgres answers every other query.
 */
function failingListing(db: Kysely<any>, failOn: number): Kysely<any> {
  let listings = 0;
  const plugin: KyselyPlugin = {
    transformQuery({ node }) {
      if (node.kind === 'RawNode' && node.sqlFragments.join('').includes('from events e') && ++listings === failOn) {
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      }
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  return db.withPlugin(plugin);
}

/** The audit routes over real HTTP, with the gateway's error envelope, the caller already authenticated. */
async function serve(db: Kysely<any>): Promise<{ app: NestFastifyApplication; url: string }> {
  const module = await Test.createTestingModule({
    controllers: [AuditController],
    providers: [
      { provide: ServiceClients, useValue: {} },
      { provide: DB, useValue: db },
      { provide: LOGGER, useValue: pino({ level: 'silent' }) },
      { provide: APP_FILTER, useClass: ErrorEnvelopeFilter },
    ],
  }).compile();
  const app = module.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
  (app.getHttpAdapter().getInstance() as unknown as FastifyInstance).addHook('onRequest', async (request) => {
    request.principal = principal;
  });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe('GET /v1/audit/export when the database fails', () => {
  let app: NestFastifyApplication | undefined;
  let database: TestDatabase;
  let db: Kysely<any>;

  beforeAll(async () => {
    database = await createTestDatabase('gateway_audit_export');
    db = createDb(database.url, { poolSize: 4 });
    await migrateToLatest(db, [eventStoreMigrations]);
    // audit_chain belongs to the audit service's migrations; the listing only joins it for hashes.
    await sql`create table audit_chain (position bigint primary key, hash bytea not null, prev_hash bytea not null)`.execute(db);
    // 1 500 events of the caller's org: more than one export page (1 000). The first 300 carry 20 kB
    // of data each, so the first page alone is far more than the socket buffers take.
    await sql`
      insert into events (stream, stream_version, type, data, metadata, org_id)
      select 'agent-' || n, 1, 'AgentUpdated', jsonb_build_object('n', n, 'padding', case when n <= 300 then repeat('x', 20000) else '' end),
             '{"request_id":"req_x","actor_key_id":null,"agent_id":null,"ip":null,"environment":"test"}'::jsonb, 'org_audit'
      from generate_series(1, 1500) n`.execute(db);
    // The listing is gap-safe: wait until no transaction begun before the insert (another suite's) still runs.
    await waitForLogHorizon(db);
  }, 60_000);

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('answers 503 SERVICE_UNAVAILABLE in the error envelope, with Retry-After, when Postgres is unreachable from the start', async () => {
    // Nothing listens on port 1: every connection is refused, as with Postgres down.
    const unreachable = createDb<any>('postgres://postgres@127.0.0.1:1/keyledger', { poolSize: 1 });
    let url: string;
    ({ app, url } = await serve(unreachable));
    try {
      const res = await fetch(`${url}/v1/audit/export`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(await res.json()).toMatchObject({ success: false, error: { code: 'SERVICE_UNAVAILABLE' } });
    } finally {
      await unreachable.destroy();
    }
  });

  it('breaks the body off when a later page fails, so the client’s read fails instead of ending as if complete', async () => {
    // One full page (1000 events) is sent, then the read of the second one fails.
    let url: string;
    ({ app, url } = await serve(failingListing(db, 2)));
    const res = await fetch(`${url}/v1/audit/export`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('stops, rather than waits for ever, when the client goes away while the response is backed up', async () => {
    // Watch the handler itself; the spy carries the route's metadata, so Nest still routes to it.
    const handler = AuditController.prototype.export;
    const exported = jest.spyOn(AuditController.prototype, 'export');
    for (const key of Reflect.getMetadataKeys(handler)) Reflect.defineMetadata(key, Reflect.getMetadata(key, handler), exported);
    try {
      // A page far larger than the socket buffers, so the handler is waiting for 'drain' when the client leaves.
      let url: string;
      ({ app, url } = await serve(db));
      // The client reads the status, then hangs up without reading the body.
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const request = get(`${url}/v1/audit/export`, (res) => {
          resolve(res.statusCode);
          request.destroy();
        });
        request.on('error', reject);
      });
      expect(status).toBe(200);
      await expect(exported.mock.results[0].value).resolves.toBeUndefined();
    } finally {
      exported.mockRestore();
    }
  });
});

describe('drainedOrClosed', () => {
  const stream = () => Object.assign(new EventEmitter(), { destroyed: false });

  it('resolves on drain, and on close (a client gone never drains)', async () => {
    const draining = stream();
    const drained = drainedOrClosed(draining);
    draining.emit('drain');
    await expect(drained).resolves.toBeUndefined();
    const closing = stream();
    const closed = drainedOrClosed(closing);
    closing.emit('close');
    await expect(closed).resolves.toBeUndefined();
    expect(closing.listenerCount('drain')).toBe(0);
  });

  it('resolves at once for a stream already destroyed (its close has been and gone)', async () => {
    await expect(drainedOrClosed(Object.assign(stream(), { destroyed: true }))).resolves.toBeUndefined();
  });
});
