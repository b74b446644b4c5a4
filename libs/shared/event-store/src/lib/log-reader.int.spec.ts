import { ControlledTransaction, Kysely, sql } from 'kysely';
import { createTestDatabase, TestDatabase } from '@keyledger/testing';
import { createDb } from './connect';
import type { EventMetadata, EventRow, EventStoreDatabase } from './database';
import { EventStore } from './event-store';
import { LOG_START, LogCheckpoint, checkpointOf, readLogAfter } from './log-reader';
import { eventStoreMigrations, migrateToLatest } from './migrate';

const meta: EventMetadata = { request_id: 'req_log_reader', actor_key_id: null, agent_id: null, ip: null };

/** Follows the log the way a processor does: read a batch, move the checkpoint to its last event. */
class GapSafeFollower {
  readonly seen: EventRow[] = [];
  private checkpoint: LogCheckpoint = LOG_START;
  constructor(private readonly db: Kysely<EventStoreDatabase>, private readonly batchSize = 100) {}

  async poll(): Promise<EventRow[]> {
    const batch = await readLogAfter(this.db, this.checkpoint, this.batchSize);
    if (batch.length > 0) this.checkpoint = checkpointOf(batch[batch.length - 1]);
    this.seen.push(...batch);
    return batch;
  }
}

/** The reading the architecture forbids: `position > last`, which passes over late commits. */
class NaivePositionFollower {
  readonly seen: EventRow[] = [];
  private last = 0;
  constructor(private readonly db: Kysely<EventStoreDatabase>) {}

  async poll(): Promise<EventRow[]> {
    const { rows } = await sql<EventRow>`
      select * from events where position > ${this.last} order by position limit 100`.execute(this.db);
    if (rows.length > 0) this.last = rows[rows.length - 1].position;
    this.seen.push(...rows);
    return rows;
  }
}

/**
 * Polls until `done` holds. The gap-safe reader waits for the oldest running transaction in the
 * whole cluster, so an unrelated open transaction (another test's) may delay it a little.
 */
async function pollUntil(poll: () => Promise<unknown>, done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await poll();
    if (done()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for the reader');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const streamsOf = (events: readonly EventRow[]) => events.map((e) => e.stream);

describe('readLogAfter: gap-safe log following (real Postgres)', () => {
  let database: TestDatabase;
  let db: Kysely<EventStoreDatabase>;
  // Dedicated single-connection pools, so the writers' transactions stay open on their own sessions.
  let writerA: Kysely<EventStoreDatabase>;
  let writerB: Kysely<EventStoreDatabase>;
  let store: EventStore;

  beforeAll(async () => {
    database = await createTestDatabase('log_reader');
    db = createDb<EventStoreDatabase>(database.url, { poolSize: 20, applicationName: 'log-reader-spec' });
    writerA = createDb<EventStoreDatabase>(database.url, { poolSize: 1, applicationName: 'log-reader-writer-a' });
    writerB = createDb<EventStoreDatabase>(database.url, { poolSize: 1, applicationName: 'log-reader-writer-b' });
    await migrateToLatest(db, [eventStoreMigrations]);
    store = new EventStore(db);
  });

  afterAll(async () => {
    await Promise.all([writerA.destroy(), writerB.destroy(), db.destroy()]);
    await database.drop();
  });

  /**
   * A takes a position and stays open; B takes a later position and commits first. Returns the
   * open transaction A and both events as their writers saw them.
   */
  async function commitOutOfOrder(prefix: string): Promise<{ trxA: ControlledTransaction<EventStoreDatabase>; a: EventRow; b: EventRow }> {
    const trxA = await writerA.startTransaction().execute();
    try {
      const [a] = (await store.append(`${prefix}-a`, 0, [{ type: 'Happened', data: { writer: 'A' } }], meta, { trx: trxA })).events;
      const [b] = (await new EventStore(writerB).append(`${prefix}-b`, 0, [{ type: 'Happened', data: { writer: 'B' } }], meta)).events;
      // The premise of the scenario: A holds the earlier position and the earlier transaction.
      expect(b.position).toBeGreaterThan(a.position);
      expect(BigInt(b.transaction_id)).toBeGreaterThan(BigInt(a.transaction_id));
      return { trxA, a, b };
    } catch (error) {
      await trxA.rollback().execute();
      throw error;
    }
  }

  it('never returns a later-positioned event before an earlier, still-open one, and never skips it', async () => {
    await store.append('gap-before', 0, [{ type: 'Happened', data: {} }], meta);
    const follower = new GapSafeFollower(db);
    await pollUntil(() => follower.poll(), () => follower.seen.length === 1);
    expect(streamsOf(follower.seen)).toEqual(['gap-before']);

    const { trxA, a, b } = await commitOutOfOrder('gap');
    try {
      // B is committed and visible to everyone, yet the follower must hold back while A is open,
      // however often it looks.
      const visible = await db.selectFrom('events').select('stream').where('position', '=', b.position).execute();
      expect(visible).toHaveLength(1);
      for (let i = 0; i < 10; i++) {
        expect(await follower.poll()).toEqual([]);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await trxA.commit().execute();
    }

    await pollUntil(() => follower.poll(), () => follower.seen.length >= 3);
    expect(streamsOf(follower.seen)).toEqual(['gap-before', 'gap-a', 'gap-b']);
    expect(follower.seen.map((e) => e.id)).toEqual([expect.any(String), a.id, b.id]);
    // Nothing more, and nothing twice.
    expect(await follower.poll()).toEqual([]);
  });

  it('the naive `position > last` reading skips the late commit in the same scenario (the test can fail)', async () => {
    const naive = new NaivePositionFollower(db);
    await naive.poll(); // catch up with whatever earlier tests wrote
    naive.seen.length = 0;
    const gapSafe = new GapSafeFollower(db);
    await pollUntil(() => gapSafe.poll(), () => gapSafe.seen.some((e) => e.stream === 'gap-b'));
    gapSafe.seen.length = 0;

    const { trxA } = await commitOutOfOrder('naive');
    try {
      expect(streamsOf(await naive.poll())).toEqual(['naive-b']); // moves its cursor past A's position
    } finally {
      await trxA.commit().execute();
    }

    await pollUntil(() => gapSafe.poll(), () => gapSafe.seen.length >= 2);
    await naive.poll();
    expect(streamsOf(gapSafe.seen)).toEqual(['naive-a', 'naive-b']);
    expect(streamsOf(naive.seen)).toEqual(['naive-b']); // A is lost to the naive reader for good
  });

  it('a rolled-back transaction holds the reader back while open and leaves no gap once it is gone', async () => {
    const follower = new GapSafeFollower(db);
    await pollUntil(() => follower.poll(), () => follower.seen.some((e) => e.stream === 'naive-b'));
    follower.seen.length = 0;

    const { trxA } = await commitOutOfOrder('rollback');
    try {
      expect(await follower.poll()).toEqual([]);
    } finally {
      await trxA.rollback().execute();
    }

    await pollUntil(() => follower.poll(), () => follower.seen.length >= 1);
    expect(streamsOf(follower.seen)).toEqual(['rollback-b']);
  });

  it('under concurrent writers committing in random order, a follower sees every event exactly once', async () => {
    const writers = 8;
    const transactionsPerWriter = 15;
    const pools = Array.from({ length: writers }, (_, w) =>
      createDb<EventStoreDatabase>(database.url, { poolSize: 1, applicationName: `log-reader-stress-${w}` }),
    );
    const follower = new GapSafeFollower(db, 7); // small batches: many checkpoint moves
    await pollUntil(() => follower.poll(), () => follower.seen.some((e) => e.stream === 'rollback-b'));
    follower.seen.length = 0;

    const written: string[] = [];
    let writing = true;
    const followLoop = (async () => {
      while (writing) {
        await follower.poll();
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    try {
      await Promise.all(
        pools.map(async (pool, w) => {
          const writerStore = new EventStore(pool);
          for (let t = 0; t < transactionsPerWriter; t++) {
            await pool.transaction().execute(async (trx) => {
              const { events } = await writerStore.append(`stress-${w}`, 2 * t, [
                { type: 'Happened', data: { w, t, part: 1 } },
                { type: 'Happened', data: { w, t, part: 2 } },
              ], meta, { trx });
              written.push(...events.map((e) => e.id));
              // Hold the positions a random while, so commits land out of position order.
              await new Promise((r) => setTimeout(r, Math.random() * 15));
            });
          }
        }),
      );
    } finally {
      writing = false;
      await followLoop;
      await Promise.all(pools.map((p) => p.destroy()));
    }

    await pollUntil(() => follower.poll(), () => follower.seen.length >= written.length);
    const ids = follower.seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...written].sort());
    // Each stream's events arrive in version order.
    for (let w = 0; w < writers; w++) {
      const versions = follower.seen.filter((e) => e.stream === `stress-${w}`).map((e) => e.stream_version);
      expect(versions).toEqual(Array.from({ length: transactionsPerWriter * 2 }, (_, i) => i + 1));
    }
  });
});
