import { Kysely, sql } from 'kysely';
import { Client } from 'pg';
import { generateSigningSeed, parseSigningKey, rawPublicKey } from '@keyledger/audit-domain';
import { createDb, EventMetadata, EventStore, eventStoreMigrations, LogProcessor, migrateToLatest } from '@keyledger/event-store';
import { createTestDatabase, TestDatabase, waitFor } from '@keyledger/testing';
import { auditMigrations } from './migrations';
import { chainEvents, listCheckpoints, signHeadIfDue } from './chain.store';
import { verifyStoredChain } from './stored-chain';

const meta: EventMetadata = { request_id: 'req_1', actor_key_id: 'key_1', agent_id: null, ip: '127.0.0.1' };

describe('the chainer (LogProcessor + chainEvents) on a live log', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  const key = parseSigningKey(generateSigningSeed());

  beforeAll(async () => {
    database = await createTestDatabase('audit_chainer');
    db = createDb(database.url, { poolSize: 12 });
    await migrateToLatest(db, [eventStoreMigrations, auditMigrations]);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('chains in gap-safe log order: an event whose transaction commits late is chained in its place, never skipped', async () => {
    const store = new EventStore(db);
    const chainer = new LogProcessor({
      name: 'audit-chain',
      db,
      pollIntervalMs: 10,
      handle: async (events, trx) => {
        await chainEvents(trx, events);
        await signHeadIfDue(trx, key, { everyEvents: 7, everyMs: Number.POSITIVE_INFINITY }, new Date());
      },
    });
    const late = new Client({ connectionString: database.url });
    await late.connect();
    chainer.start();
    try {
      // A transaction takes position 1 and stays open while others commit positions after it.
      await late.query('begin');
      await late.query(
        `insert into events (stream, stream_version, type, data, metadata, org_id) values ('agent-late', 1, 'AgentCreated', '{"agent_id":"late"}', $1, 'org_1')`,
        [JSON.stringify(meta)],
      );
      await store.append('agent-early', 0, [{ type: 'AgentCreated', data: { agent_id: 'early' } }], meta, { orgId: 'org_1' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const whileOpen = await sql<{ n: number }>`select count(*)::bigint as n from events where hash is not null`.execute(db);
      expect(whileOpen.rows[0].n).toBe(0);
      await late.query('commit');

      // Meanwhile, concurrent writers keep appending.
      await Promise.all(
        Array.from({ length: 6 }, (_, w) =>
          (async () => {
            for (let i = 0; i < 10; i++) await store.append(`agent-w${w}`, i, [{ type: 'AgentUpdated', data: { agent_id: `w${w}`, n: i } }], meta, { orgId: `org_${w % 2}` });
          })(),
        ),
      );
      await waitFor(
        'everything chained',
        async () => (await sql<{ n: number }>`select count(*)::bigint as n from events where hash is null`.execute(db)).rows[0].n === 0,
        30_000,
        50,
      );
    } finally {
      await late.query('rollback').catch(() => undefined);
      await late.end();
      await chainer.stop();
    }

    const result = await verifyStoredChain(db, { publicKey: rawPublicKey(key) });
    expect(result).toMatchObject({ ok: true, events_verified: 62, events_pending: 0 });
    const first = await sql<{ stream: string; prev: string }>`select stream, encode(prev_hash, 'hex') as prev from events order by transaction_id, position limit 1`.execute(db);
    expect(first.rows[0]).toEqual({ stream: 'agent-late', prev: '0'.repeat(64) });
    const checkpoints = await listCheckpoints(db);
    expect(checkpoints.length).toBeGreaterThanOrEqual(1);
    expect(checkpoints.every((c) => c.public_key.equals(rawPublicKey(key)))).toBe(true);
  });

  it('the events triggers let the chain be written once and never rewritten, and nothing else be changed or deleted', async () => {
    await expect(sql`update events set hash = ${Buffer.alloc(32)} where position = 1`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`update events set prev_hash = ${Buffer.alloc(32)} where position = 1`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`update events set data = '{}' where position = 1`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`update events set recorded_at = now(), hash = hash where position = 1`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from events where position = 1`.execute(db)).rejects.toThrow(/append-only/);
    // An unchained row: its hash may not be filled together with any other change, nor left null.
    await sql`insert into events (stream, stream_version, type, data, metadata, org_id) values ('agent-fresh', 1, 'AgentCreated', '{}', '{}', 'org_1')`.execute(db);
    await expect(sql`update events set hash = ${Buffer.alloc(32)}, prev_hash = ${Buffer.alloc(32)}, type = 'Forged' where stream = 'agent-fresh'`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`update events set prev_hash = ${Buffer.alloc(32)} where stream = 'agent-fresh'`.execute(db)).rejects.toThrow(/append-only/);
    // Every column but the chain's own is guarded: a column added to events must join the trigger's list.
    const guarded = await sql<{ name: string }>`
      select a.attname as name from pg_trigger t join pg_attribute a on a.attrelid = t.tgrelid and a.attnum = any(t.tgattr)
      where t.tgrelid = 'events'::regclass and t.tgname = 'events_no_update_delete' order by a.attname`.execute(db);
    const columns = await sql<{ name: string }>`
      select attname as name from pg_attribute where attrelid = 'events'::regclass and attnum > 0 and not attisdropped
        and attname not in ('hash', 'prev_hash') order by attname`.execute(db);
    expect(guarded.rows).toEqual(columns.rows);
  });
});
