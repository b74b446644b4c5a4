import fc from 'fast-check';
import { Kysely, sql } from 'kysely';
import { createDb, EventStore, eventStoreMigrations, migrateToLatest, projectRows, RowProjection } from '@keyledger/event-store';
import { createTestDatabase, TestDatabase, waitForLogHorizon } from '@keyledger/testing';
import { replayReadModels } from './replay';

/** A small read model with what the real ones do: rows created, changed, and counters summed per owner. */
interface Tables {
  items: { id: string; owner: string; status: string; touched: number; version: number };
  owners: { id: string; items: number; bumps: number; version: number };
}
const projection: RowProjection<Tables> = {
  tables: { owners: ['id'], items: ['id'] },
  apply(event, rows) {
    const d = event.data as { item?: string; owner?: string };
    const owner = (id: string, change: { items?: number; bumps?: number }) =>
      rows.upsert('owners', { id }, (row) => {
        const o = row ?? { id, items: 0, bumps: 0, version: 0 };
        o.items += change.items ?? 0;
        o.bumps += change.bumps ?? 0;
        o.version = event.position;
        return o;
      });
    if (event.type === 'ItemCreated') {
      rows.insert('items', { id: d.item as string, owner: d.owner as string, status: 'new', touched: 0, version: event.position });
      owner(d.owner as string, { items: 1 });
    } else if (event.type === 'ItemTouched') {
      rows.update('items', { id: d.item }, (row) => ({ ...row, status: 'touched', touched: row.touched + 1, version: event.position }));
    } else if (event.type === 'OwnerBumped') {
      owner(d.owner as string, { bumps: 1 });
    }
  },
};
const registry = [{ service: 'test', tables: ['owners', 'items'], projection }];

const step = fc.oneof(
  fc.record({ type: fc.constant('ItemCreated'), owner: fc.nat(4) }),
  fc.record({ type: fc.constant('ItemTouched'), pick: fc.nat() }),
  fc.record({ type: fc.constant('OwnerBumped'), owner: fc.nat(4) }),
  fc.record({ type: fc.constant('SomethingElse') }),
);

describe('replay folds the log batch after batch, writing one batch while folding the next (real Postgres)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  let runs = 0;

  beforeAll(async () => {
    database = await createTestDatabase('audit_replay_int');
    db = createDb(database.url, { poolSize: 4 });
    await migrateToLatest(db, [eventStoreMigrations]);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  /** Appends the events of `steps` to the log and projects them live, one append at a time (ids unique to the run). */
  async function liveRun(steps: readonly { type: string; owner?: number; pick?: number }[]): Promise<number> {
    const run = ++runs;
    const store = new EventStore(db);
    const items: string[] = [];
    for (const [i, s] of steps.entries()) {
      let data: Record<string, string>;
      if (s.type === 'ItemCreated') {
        items.push(`r${run}_i${i}`);
        data = { item: `r${run}_i${i}`, owner: `r${run}_o${s.owner}` };
      } else if (s.type === 'ItemTouched') data = { item: items[(s.pick ?? 0) % Math.max(1, items.length)] ?? 'none' };
      else data = { owner: `r${run}_o${s.owner ?? 0}` };
      await db.transaction().execute(async (trx) => {
        const metadata = { request_id: 'req', actor_key_id: null, agent_id: null, ip: null };
        const { events } = await store.append(`test-r${run}_${i}`, 0, [{ type: s.type, data }], metadata, { trx, orgId: null });
        await projectRows(trx, projection, events);
      });
    }
    // Replay reads up to the gap-safe horizon, which any transaction on the server holds back: wait for it.
    await waitForLogHorizon(db);
    return run;
  }

  beforeEach(async () => {
    await sql`create table if not exists owners (id text primary key, items bigint not null, bumps bigint not null, version bigint not null)`.execute(db);
    await sql`create table if not exists items (id text primary key, owner text not null, status text not null, touched bigint not null, version bigint not null)`.execute(db);
  });

  it('finds no difference from the live tables whatever the read and flush sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 9 }), async (steps, batchSize, flushEvery) => {
        await liveRun(steps);
        const report = await replayReadModels(db, registry, { batchSize, flushEvery });
        expect(report.differences).toEqual([]);
        const events = (await sql<{ n: number }>`select count(*)::bigint as n from events`.execute(db)).rows[0].n;
        expect(report.events).toBe(events);
      }),
      { numRuns: 10 },
    );
  }, 300_000);

  it('names exactly the corrupted row', async () => {
    const run = await liveRun([{ type: 'ItemCreated', owner: 1 }, { type: 'ItemTouched', pick: 0 }, { type: 'OwnerBumped', owner: 1 }]);
    const id = `r${run}_o1`;
    await sql`update owners set bumps = bumps + 5 where id = ${id}`.execute(db);
    const report = await replayReadModels(db, registry, { batchSize: 2, flushEvery: 2 });
    expect(report.differences).toEqual([{ table: 'owners', kind: 'differs', key: { id }, live: { bumps: 6 }, replayed: { bumps: 1 } }]);
  });
});
