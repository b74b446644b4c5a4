import { EventEmitter } from 'node:events';
import { get } from 'node:http';
import { APP_FILTER } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { FastifyInstance } from 'fastify';
import { CompiledQuery, DatabaseConnection, Driver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, QueryResult } from 'kysely';
import pino from 'pino';
import { createDb } from '@keyledger/event-store';
import { ErrorEnvelopeFilter, KeyPrincipal, ServiceClients } from '@keyledger/gateway-http';
import { DB, LOGGER } from '@keyledger/nest';
import { AuditController, drainedOrClosed } from './audit.controller';

const principal = {
  kind: 'key',
  key: { id: 'key_audit', environment: 'test', agent_id: null, scopes: ['audit:read'] },
  org: { id: 'org_audit' },
  agent: null,
} as unknown as KeyPrincipal;

/** A database that answers each query with the next scripted answer: rows, or an error thrown. */
function scriptedDb(answers: Array<unknown[] | Error>): Kysely<any> {
  const connection: DatabaseConnection = {
    async executeQuery<R>(_query: CompiledQuery): Promise<QueryResult<R>> {
      const answer = answers.shift();
      if (answer === undefined) throw new Error('no scripted answer left');
      if (answer instanceof Error) throw answer;
      return { rows: answer as R[] };
    },
    streamQuery() {
      throw new Error('not scripted');
    },
  };
  const driver: Driver = {
    init: async () => undefined,
    acquireConnection: async () => connection,
    beginTransaction: async () => undefined,
    commitTransaction: async () => undefined,
    rollbackTransaction: async () => undefined,
    releaseConnection: async () => undefined,
    destroy: async () => undefined,
  };
  return new Kysely<any>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}

/** `count` events as listAuditEvents returns them, `dataBytes` of data each. */
function eventRows(count: number, dataBytes = 10): unknown[] {
  return Array.from({ length: count }, (_, i) => ({
    position: i + 1,
    transaction_id: String(1000 + i),
    stream: `agent-${i}`,
    stream_version: 1,
    type: 'AgentCreated',
    data: { padding: 'x'.repeat(dataBytes) },
    metadata: { request_id: 'req_x', actor_key_id: null, agent_id: null, ip: null },
    recorded_at: new Date('2026-11-22T10:00:00.000Z'),
    hash: null,
    prev_hash: null,
  }));
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
  afterEach(async () => {
    await app?.close();
    app = undefined;
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
    // One full page (1000 events), then the connection to Postgres is lost.
    let url: string;
    ({ app, url } = await serve(scriptedDb([eventRows(1000), Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })])));
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
      ({ app, url } = await serve(scriptedDb([eventRows(1000, 50_000)])));
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
