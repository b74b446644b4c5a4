import { Kysely, sql } from 'kysely';
import { Client } from 'pg';
import { chainHash, GENESIS_HASH, generateSigningSeed, parseSigningKey, rawPublicKey } from '@keyledger/audit-domain';
import { createDb, EventMetadata, EventStore, eventStoreMigrations, LogCheckpoint, LogProcessor, migrateToLatest, migrationsBefore } from '@keyledger/event-store';
import { createTestDatabase, TestDatabase, waitFor, waitForLogHorizon } from '@keyledger/testing';
import { auditMigrations } from './migrations';
import { CHAIN_SOURCE_COLUMNS, ChainSourceRow, chainEvents, chainHeadPlace, listCheckpoints, readChainSource, signBatchCheckpoints, signHeadIfDue } from './chain.store';
import { verifyStoredChain } from './stored-chain';

// Chaining waits out transactions open anywhere on the shared server: seconds on a busy machine.
jest.setTimeout(60_000);

const meta: EventMetadata = { request_id: 'req_1', actor_key_id: 'key_1', agent_id: null, ip: '127.0.0.1' };

/**
 * The `count` events appended after `from`, read as the chainer reads them, once a transaction still
 * running anywhere on the server (another suite's, in parallel) no longer holds them back.
 */
async function readAllAppended(db: Kysely<any>, from: LogCheckpoint, count: number): Promise<ChainSourceRow[]> {
  await waitForLogHorizon(db);
  const rows = await readChainSource(db, from, count + 1);
  expect(rows).toHaveLength(count);
  return rows;
}

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
    const chainer = new LogProcessor<ChainSourceRow>({
      name: 'audit-chain',
      db,
      columns: CHAIN_SOURCE_COLUMNS,
      pollIntervalMs: 10,
      // As the chainer thread does: checkpoints at every 7th event of what chainEvents just wrote.
      handle: async (events, trx) => {
        const chained = await chainEvents(trx, events);
        if (chained) await signBatchCheckpoints(trx, key, 7, new Date(), chained);
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
      const whileOpen = await sql<{ n: number }>`select count(*)::bigint as n from audit_chain`.execute(db);
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
        async () => (await sql<{ n: number }>`select count(*)::bigint as n from events e where not exists (select 1 from audit_chain c where c.position = e.position)`.execute(db)).rows[0].n === 0,
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
    const first = await sql<{ stream: string; prev: string }>`select stream, encode(c.prev_hash, 'hex') as prev from events join audit_chain c using (position) order by transaction_id, position limit 1`.execute(db);
    expect(first.rows[0]).toEqual({ stream: 'agent-late', prev: '0'.repeat(64) });
    const checkpoints = await listCheckpoints(db);
    expect(checkpoints.every((c) => c.public_key.equals(rawPublicKey(key)))).toBe(true);
    // Exactly every 7 events after the first batch's, whatever the batches were: each signs the chain at that event.
    const counts = await sql<{ events_chained: number; position: number; signed: boolean }>`
      select k.events_chained, k.position, k.root_hash = c.hash as signed
      from audit_checkpoints k join audit_chain c using (position) order by k.id`.execute(db);
    expect(counts.rows.length).toBe(checkpoints.length);
    expect(counts.rows.every((r) => r.signed)).toBe(true);
    const spacing = counts.rows.slice(1).map((r, i) => r.events_chained - counts.rows[i].events_chained);
    expect(spacing.length).toBeGreaterThanOrEqual(7);
    expect(new Set(spacing)).toEqual(new Set([7]));
    expect(counts.rows[counts.rows.length - 1].events_chained).toBeGreaterThan(62 - 7);
  });

  it('chaining leaves the events rows as they were; links are written once and never changed or deleted', async () => {
    // The chain lives in audit_chain only: the events rows keep their hash/prev_hash columns empty.
    const inEvents = await sql<{ n: number }>`select count(*)::int as n from events where hash is not null or prev_hash is not null`.execute(db);
    expect(inEvents.rows[0].n).toBe(0);
    const links = await sql<{ n: number }>`select count(*)::int as n from audit_chain`.execute(db);
    expect(links.rows[0].n).toBeGreaterThan(0);
    await expect(sql`update audit_chain set hash = ${Buffer.alloc(32)} where position = 1`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_chain where position = 1`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_chain`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`insert into audit_chain (position, hash, prev_hash) values (1, ${Buffer.alloc(32)}, ${Buffer.alloc(32)})`.execute(db)).rejects.toThrow(/duplicate key/);
    await expect(sql`update events set data = '{}' where position = 1`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from events where position = 1`.execute(db)).rejects.toThrow(/append-only/);
    // Nor can anyone fill the events rows' own hash/prev_hash, which the chain no longer uses.
    await expect(sql`update events set hash = ${Buffer.alloc(32)}, prev_hash = ${Buffer.alloc(32)} where position = 1`.execute(db)).rejects.toThrow(/append-only: UPDATE/);
    await expect(sql`update events set prev_hash = ${Buffer.alloc(32)} where position = 1`.execute(db)).rejects.toThrow(/append-only: UPDATE/);
    // One trigger guards every column, those added to events later too: it names none.
    const guards = await sql<{ name: string; columns: number }>`
      select tgname as name, cardinality(tgattr::int2[]) as columns from pg_trigger
      where tgrelid = 'events'::regclass and not tgisinternal order by tgname`.execute(db);
    expect(guards.rows).toEqual([
      { name: 'events_no_truncate', columns: 0 },
      { name: 'events_no_update_delete', columns: 0 },
    ]);
  });
  it('hashes the text it reads as the verifier hashes the parsed row: JSON of any shape, recorded_at to the microsecond, any session time zone', async () => {
    const data = [
      { name: 'é €\u0001"\\ \u2028', n: 1.5e-7, big: 1e21, neg: -0, exp: 123456789.125, '10': 'x', '9': 'y', '': null, nested: { b: [1, null, true, 'z'], a: {} } },
      { amount: 1.5, scale: 2.5, list: [[], [{}], 'ü'], emoji: '😀', key_ü: 1, KEY: 2 },
      [1, '2', [3]],
      'just a string',
      42,
    ];
    // Microsecond fractions around the millisecond boundaries, and offsets that are not UTC.
    const times = ['2026-11-22 10:00:00.999999+00', '2026-11-22 10:00:00.000001+00', '2026-03-08 02:30:00.1235-05', '1999-12-31 23:59:59.9995+05:30', '2026-06-01 00:00:00+00', '2026-11-22 23:59:59.000999-09:30'];
    let version = 0;
    for (const at of times) {
      for (const value of data) {
        version += 1;
        await sql`
          insert into events (stream, stream_version, type, data, metadata, org_id, recorded_at)
          values ('agent-shapes', ${version}, 'AgentUpdated', ${JSON.stringify(value)}::jsonb, ${JSON.stringify({ ...meta, request_id: `req_${version % 3}` })}::jsonb, null, ${at}::timestamptz)`.execute(db);
      }
    }
    await db.transaction().execute(async (trx) => {
      // The chainer's own session may run in any time zone; what it hashes must not change.
      await sql`set local timezone = 'America/St_Johns'`.execute(trx);
      const head = await trx.selectFrom('audit_chain_head').select(['position', 'transaction_id']).executeTakeFirstOrThrow();
      const rows = await readAllAppended(trx, { transactionId: String(head.transaction_id), position: head.position }, times.length * data.length);
      await chainEvents(trx, rows);
    });
    // The verifier reads the rows through pg's parsers (JSON values, a Date) and recomputes every hash.
    expect(await verifyStoredChain(db)).toMatchObject({ ok: true, events_verified: 62 + times.length * data.length, events_pending: 0 });
  });
});

describe('moving the chain out of the events rows (migration 0006)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  const key = parseSigningKey(generateSigningSeed());

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('keeps every link the chainer had written into events: the log chained before the upgrade still verifies, and chaining continues after it', async () => {
    database = await createTestDatabase('audit_chain_upgrade');
    db = createDb(database.url, { poolSize: 4 });
    // The schema as it was then: events still took the one-time fill of hash/prev_hash.
    await migrateToLatest(db, [migrationsBefore(eventStoreMigrations, '2026_11_22_0004_events_strictly_append_only'), migrationsBefore(auditMigrations, '2026_11_22_0006_audit_chain_links')]);
    const store = new EventStore(db);
    for (let i = 0; i < 12; i++) await store.append(`agent-a${i % 3}`, 'any', [{ type: 'AgentUpdated', data: { agent_id: `a${i % 3}`, n: i } }], meta, { orgId: 'org_1' });

    // The chain as the chainer before 0006 wrote it: hash/prev_hash filled in place, head and a signed checkpoint.
    const rows = await sql<any>`select * from events order by transaction_id, position`.execute(db);
    let prev = GENESIS_HASH;
    for (const row of rows.rows) {
      const hash = chainHash(prev, row);
      await sql`update events set hash = ${hash}, prev_hash = ${prev} where position = ${row.position}`.execute(db);
      prev = hash;
    }
    const last = rows.rows[rows.rows.length - 1];
    await sql`insert into audit_chain_head (id, position, transaction_id, hash, events_chained) values (true, ${last.position}, ${last.transaction_id}::xid8, ${prev}, ${rows.rows.length})`.execute(db);
    await db.transaction().execute((trx) => signHeadIfDue(trx, key, { everyEvents: 1, everyMs: 0 }, new Date()));

    await migrateToLatest(db, [eventStoreMigrations, auditMigrations]);
    expect(await verifyStoredChain(db, { publicKey: rawPublicKey(key) })).toMatchObject({ ok: true, events_verified: 12, events_pending: 0 });

    // The chainer picks up where the head stands, writing links only.
    await store.append('agent-a0', 'any', [{ type: 'AgentUpdated', data: { agent_id: 'a0', n: 12 } }], meta, { orgId: 'org_1' });
    await waitFor(
      'the new event chained',
      async () => {
        await db.transaction().execute(async (trx) => {
          const head = await trx.selectFrom('audit_chain_head').select(['position', 'transaction_id']).executeTakeFirstOrThrow();
          await chainEvents(trx, await readChainSource(trx, { transactionId: String(head.transaction_id), position: head.position }, 100));
        });
        return (await sql<{ n: number }>`select count(*)::int as n from audit_chain`.execute(db)).rows[0].n === 13;
      },
      30_000,
      50,
    );
    expect(await verifyStoredChain(db, { publicKey: rawPublicKey(key) })).toMatchObject({ ok: true, events_verified: 13, events_pending: 0 });
  });
});

describe('checkpoints every N events (signBatchCheckpoints)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  const key = parseSigningKey(generateSigningSeed());

  beforeAll(async () => {
    database = await createTestDatabase('audit_checkpoint_every');
    db = createDb(database.url, { poolSize: 4 });
    await migrateToLatest(db, [eventStoreMigrations, auditMigrations]);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  /** Appends `count` events and chains them as one batch, signing every `everyEvents`; returns the events_chained of the checkpoints signed. */
  async function appendAndChain(count: number, everyEvents: number): Promise<number[]> {
    const store = new EventStore(db);
    await store.append(`agent-${count}-${everyEvents}`, 'any', Array.from({ length: count }, (_, n) => ({ type: 'AgentUpdated', data: { n } })), meta, { orgId: 'org_1' });
    return db.transaction().execute(async (trx) => {
      const chained = await chainEvents(trx, await readAllAppended(trx, await chainHeadPlace(trx), count));
      if (!chained) throw new Error('nothing chained');
      await signBatchCheckpoints(trx, key, everyEvents, new Date(), chained);
      const rows = await sql<{ events_chained: number }>`select events_chained from audit_checkpoints where events_chained > ${chained.head.events_chained - count} order by id`.execute(trx);
      return rows.rows.map((r) => Number(r.events_chained));
    });
  }

  it('signs the first batch at its head, then at every N-th event inside a batch, and an overdue checkpoint at the batch’s first event', async () => {
    expect(await appendAndChain(10, 100)).toEqual([10]);
    expect(await appendAndChain(30, 7)).toEqual([17, 24, 31, 38]);
    expect(await appendAndChain(7, 7)).toEqual([45]);
    expect(await appendAndChain(1, 7)).toEqual([]);
    expect(await appendAndChain(9, 7)).toEqual([52]);
    // 57 chained, the last checkpoint at 52. With N = 100 none is due up to 76; with N = 20 the one due
    // at 72 was missed (the policy changed), so it is signed at the batch's first event, 77, and counted on from there.
    expect(await appendAndChain(19, 100)).toEqual([]);
    expect(await appendAndChain(4, 20)).toEqual([77]);
    expect(await appendAndChain(6, 2)).toEqual([81, 83, 85]);
    // Each checkpoint signs the chain as it stood at its event, and the whole chain verifies against the key.
    expect(await verifyStoredChain(db, { publicKey: rawPublicKey(key) })).toMatchObject({ ok: true, events_verified: 86, checkpoints_verified: 11 });
  });
});
