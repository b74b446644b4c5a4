import { Kysely, sql } from 'kysely';
import { connect, NatsConnection } from 'nats';
import pino from 'pino';
import type { CommandMeta } from '@keyledger/contracts';
import { createDb, EventStore, eventStoreMigrations, migrateToLatest } from '@keyledger/event-store';
import { createTestDatabase, TestDatabase, testNatsUrl } from '@keyledger/testing';
import { CommandRunner, eventMetadata } from './command-runner';

describe('CommandRunner with an Idempotency-Key (run once)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  let nats: NatsConnection;
  let runner: CommandRunner;

  beforeAll(async () => {
    database = await createTestDatabase('command_runner');
    db = createDb(database.url, { poolSize: 4 });
    await migrateToLatest(db, [eventStoreMigrations]);
    nats = await connect({ servers: testNatsUrl() });
    runner = new CommandRunner(db, new EventStore(db), nats, pino({ level: 'silent' }), async () => undefined);
  });

  afterAll(async () => {
    await nats?.close();
    await db?.destroy();
    await database?.drop();
  });

  it('carries out a command delivered twice at once (a retry sent while the first still runs) exactly once', async () => {
    const meta: CommandMeta = { request_id: 'req_1', actor_key_id: 'key_1', agent_id: null, ip: '127.0.0.1', idempotency_key: 'idem-concurrent' };
    const metadata = eventMetadata(meta);
    let firstAppended!: () => void;
    const appended = new Promise<void>((resolve) => (firstAppended = resolve));
    // Like creating a key: each delivery would append to a stream of its own, so no version conflict stops the second.
    const first = runner.run(async (uow) => {
      await uow.append('key-first', 0, [{ type: 'KeyCreated', data: { key_id: 'first' } }], { metadata, orgId: 'org_1' });
      firstAppended();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return 'first';
    }, { meta, orgId: 'org_1' });
    await appended;
    const second = runner.run(async (uow) => {
      await uow.append('key-second', 0, [{ type: 'KeyCreated', data: { key_id: 'second' } }], { metadata, orgId: 'org_1' });
      return 'second';
    }, { meta, orgId: 'org_1' });
    const results = await Promise.allSettled([first, second]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'first' });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'CONFLICT' } });
    const events = await sql<{ stream: string }>`select stream from events where metadata->>'idempotency_key' = 'idem-concurrent'`.execute(db);
    expect(events.rows.map((e) => e.stream)).toEqual(['key-first']);
  });
});
