import { Kysely, sql } from 'kysely';
import { generateSigningSeed, parseSigningKey, rawPublicKey } from '@keyledger/audit-domain';
import { checkpointOf, createDb, EventMetadata, EventStore, eventStoreMigrations, LOG_START, LogCheckpoint, migrateToLatest } from '@keyledger/event-store';
import { createTestDatabase, TestDatabase } from '@keyledger/testing';
import { auditMigrations } from './migrations';
import { chainEvents, readChainSource, signHeadIfDue } from './chain.store';
import { verifyStoredChain, verifyStoredChainSinceVerified } from './stored-chain';

// Chaining waits out transactions open anywhere on the shared server: seconds on a busy machine.
jest.setTimeout(60_000);

const meta: EventMetadata = { request_id: 'req_1', actor_key_id: 'key_1', agent_id: null, ip: '127.0.0.1' };

describe('GET /v1/audit/verify’s verification: from the newest verified checkpoint on', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  let store: EventStore;
  let chained: LogCheckpoint = LOG_START;
  const key = parseSigningKey(generateSigningSeed());
  const publicKey = rawPublicKey(key);
  const unchained = async () => (await sql<{ n: number }>`select count(*)::int as n from events e where not exists (select 1 from audit_chain c where c.position = e.position)`.execute(db)).rows[0].n;

  /** Appends `n` events to one stream, then chains them all in batches of 10, signing every 10 chained events. */
  async function appendAndChain(n: number) {
    const { rows } = await sql<{ v: number }>`select count(*)::int as v from events`.execute(db);
    for (let i = 0; i < n; i++) await store.append('agent-a', rows[0].v + i, [{ type: 'AgentUpdated', data: { agent_id: 'a', n: rows[0].v + i } }], meta, { orgId: 'org_1' });
    // The gap-safe read waits out transactions open anywhere on the server (other suites share it).
    while ((await unchained()) > 0) {
      const batch = await db.transaction().execute(async (trx) => {
        const events = await readChainSource(trx, chained, 10);
        await chainEvents(trx, events);
        await signHeadIfDue(trx, key, { everyEvents: 10, everyMs: Number.POSITIVE_INFINITY }, new Date());
        return events;
      });
      if (batch.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      else chained = checkpointOf(batch[batch.length - 1]);
    }
  }

  /** As an attacker with the table owner's rights would: the append-only trigger off. */
  async function tamper(statement: string) {
    await sql`alter table events disable trigger events_no_update_delete`.execute(db);
    try {
      await sql.raw(statement).execute(db);
    } finally {
      await sql`alter table events enable trigger events_no_update_delete`.execute(db);
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase('audit_verify_since');
    db = createDb(database.url, { poolSize: 4 });
    await migrateToLatest(db, [eventStoreMigrations, auditMigrations]);
    store = new EventStore(db);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('verifies the whole chain once, then only what came after the newest checkpoint it verified', async () => {
    await appendAndChain(30);
    const first = await verifyStoredChainSinceVerified(db, { publicKey });
    expect(first).toMatchObject({ ok: true, events_verified: 30, events_pending: 0, head: { position: 30 }, checkpoint: { position: 30 }, events_after_checkpoint: 0 });
    const progress = await sql<{ position: number; events_verified: number }>`select position, events_verified from audit_verification`.execute(db);
    expect(progress.rows).toEqual([{ position: 30, events_verified: 30 }]);

    await appendAndChain(5);
    await store.append('agent-a', 35, [{ type: 'AgentUpdated', data: { agent_id: 'a', n: 35 } }], meta, { orgId: 'org_1' });
    const second = await verifyStoredChainSinceVerified(db, { publicKey });
    // Counted from the checkpoint it started from: 31 to 35 are chained, no signature covers them yet.
    expect(second).toMatchObject({ ok: true, events_verified: 35, events_pending: 1, head: { position: 35 }, checkpoint: { position: 30 }, events_after_checkpoint: 5 });
  });

  it('reports tampering after the last verified checkpoint; tampering before it is the full recomputation’s to find', async () => {
    await tamper(`update events set data = jsonb_set(data, '{n}', '999') where position = 33`);
    expect(await verifyStoredChainSinceVerified(db, { publicKey })).toMatchObject({ ok: false, first_bad_position: 33, reason: 'altered' });
    // Checked from the verified checkpoint on, the API's answer does not move back to an earlier break…
    await tamper(`update events set data = jsonb_set(data, '{n}', '999') where position = 5`);
    expect(await verifyStoredChainSinceVerified(db, { publicKey })).toMatchObject({ ok: false, first_bad_position: 33, reason: 'altered' });
    // …which the auditor's full recomputation (the CLI) finds first.
    expect(await verifyStoredChain(db, { publicKey })).toMatchObject({ ok: false, first_bad_position: 5, reason: 'altered' });
  });

  it('when the verified checkpoint no longer matches the log, it starts over from the genesis and names the first break', async () => {
    await tamper(`delete from events where position = 30`);
    expect(await verifyStoredChainSinceVerified(db, { publicKey })).toMatchObject({ ok: false, first_bad_position: 5, reason: 'altered' });
  });
});

describe('a chained log with no checkpoint yet', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  const publicKey = rawPublicKey(parseSigningKey(generateSigningSeed()));

  beforeAll(async () => {
    database = await createTestDatabase('audit_verify_unsigned');
    db = createDb(database.url, { poolSize: 2 });
    await migrateToLatest(db, [eventStoreMigrations, auditMigrations]);
    const store = new EventStore(db);
    for (let i = 0; i < 3; i++) await store.append('agent-a', i, [{ type: 'AgentUpdated', data: { agent_id: 'a', n: i } }], meta, { orgId: 'org_1' });
    // Chained as the chainer does in a fresh deployment's first seconds, before its first signature.
    // The gap-safe read may come back empty while other suites' transactions are open on the server.
    for (let from = LOG_START, chained = 0; chained < 3; ) {
      const batch = await db.transaction().execute(async (trx) => {
        const events = await readChainSource(trx, from, 10);
        await chainEvents(trx, events);
        return events;
      });
      if (batch.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      else {
        from = checkpointOf(batch[batch.length - 1]);
        chained += batch.length;
      }
    }
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('is intact for GET /v1/audit/verify, but not for a verification that requires a signature by the pinned key', async () => {
    expect(await verifyStoredChainSinceVerified(db, { publicKey })).toMatchObject({ ok: true, events_verified: 3, checkpoint: null, events_after_checkpoint: 3 });
    expect(await verifyStoredChain(db, { publicKey, requireSignature: true })).toMatchObject({ ok: false, first_bad_position: 1, reason: 'unsigned', events_verified: 3 });
  });
});
