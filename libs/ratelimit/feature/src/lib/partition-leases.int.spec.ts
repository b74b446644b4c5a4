import { createDb } from '@keyledger/event-store';
import { createTestDatabase, TestDatabase } from '@keyledger/testing';
import type { Kysely } from 'kysely';
import { PartitionLeases } from './partition-leases';

const PARTITIONS = 16;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An instance's view: which partitions it owns right now, through its callbacks. */
function instance(db: Kysely<any>) {
  const owned = new Set<number>();
  const leases = new PartitionLeases({
    db,
    partitions: PARTITIONS,
    pollMs: 50,
    settleMs: 200,
    onAcquire: (p) => owned.add(p),
    onRelease: (p) => owned.delete(p),
    onError: () => undefined,
  });
  return { owned, leases };
}

describe('partition leases (Postgres advisory locks)', () => {
  let database: TestDatabase;
  const dbs: Kysely<any>[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('rl_leases');
  });

  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.destroy()));
    await database.drop();
  });

  const connectDb = (applicationName = 'rl-lease') => {
    const db = createDb<any>(database.url, { poolSize: 2, applicationName });
    dbs.push(db);
    return db;
  };

  it('instances starting together split the partitions, each owned by exactly one; a dead one’s are taken over', async () => {
    const a = instance(connectDb());
    const b = instance(connectDb('rl-lease-b'));
    await Promise.all([a.leases.start(), b.leases.start()]);

    expect(a.owned.size).toBe(PARTITIONS / 2);
    expect(b.owned.size).toBe(PARTITIONS / 2);
    expect(new Set([...a.owned, ...b.owned]).size).toBe(PARTITIONS);

    // B's session is cut: Postgres frees its locks, B stops answering, A takes everything.
    const admin = connectDb();
    await admin
      .selectFrom('pg_stat_activity')
      .select((eb) => eb.fn('pg_terminate_backend', [eb.ref('pid')]).as('terminated'))
      .where('application_name', '=', 'rl-lease-b')
      .where('datname', '=', database.name)
      .execute();
    const deadline = Date.now() + 5000;
    while ((a.owned.size < PARTITIONS || b.owned.size > 0) && Date.now() < deadline) await sleep(25);
    expect({ a: a.owned.size, b: b.owned.size }).toEqual({ a: PARTITIONS, b: 0 });
    await sleep(400); // B is back in Postgres by now, and finds nothing free
    expect(b.owned.size).toBe(0);
    await b.leases.stop();

    // A newcomer finds nothing free: live owners keep their partitions (and their counters).
    const c = instance(connectDb());
    await c.leases.start();
    expect(c.owned.size).toBe(0);
    await c.leases.stop();
    await a.leases.stop();
    expect(a.owned.size).toBe(0);
  });
});
