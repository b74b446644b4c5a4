import { Kysely, Transaction, sql } from 'kysely';
import { createTestDatabase, TestDatabase } from '@keyledger/testing';
import { createDb } from './connect';
import type { EventMetadata, EventRow, EventStoreDatabase } from './database';
import { EventStore } from './event-store';
import { LogProcessor, LogProcessorOptions, readCheckpoint } from './log-processor';
import { checkpointOf } from './log-reader';
import { eventStoreMigrations, migrateToLatest } from './migrate';
import { register } from 'prom-client';

jest.setTimeout(60_000);

const meta: EventMetadata = { request_id: 'req_log_processor', actor_key_id: null, agent_id: null, ip: null };

async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const unreleasedGates = new Set<Gate>();

/** A door a handler can be made to wait at, so a test can kill the processor mid-batch. */
class Gate {
  private open: (() => void) | null = null;
  private readonly opened = new Promise<void>((resolve) => (this.open = resolve));
  reached = false;
  constructor() {
    unreleasedGates.add(this);
  }
  async pass(): Promise<void> {
    this.reached = true;
    await this.opened;
  }
  release(): void {
    unreleasedGates.delete(this);
    this.open?.();
  }
}

describe('LogProcessor (real Postgres)', () => {
  let database: TestDatabase;
  let db: Kysely<EventStoreDatabase>;
  let store: EventStore;
  const pools: Kysely<EventStoreDatabase>[] = [];
  const processors: LogProcessor[] = [];

  // A fresh database per test: each starts from an empty log, so positions in it are the test's own.
  beforeEach(async () => {
    database = await createTestDatabase('log_processor');
    db = createDb<EventStoreDatabase>(database.url, { poolSize: 10, applicationName: 'log-processor-spec' });
    await migrateToLatest(db, [eventStoreMigrations]);
    // The projection every handler writes: one row per (projection, event), counting applications.
    await sql`
      create table applied (
        projection text not null,
        event_id   uuid not null,
        position   bigint not null,
        times      integer not null,
        applied_by text not null,
        primary key (projection, event_id)
      )`.execute(db);
    store = new EventStore(db);
  });

  afterEach(async () => {
    for (const gate of unreleasedGates) gate.release(); // a failed test must not leave a handler waiting
    await Promise.all(processors.splice(0).map((p) => p.stop()));
    await Promise.all(pools.splice(0).map((p) => p.destroy()));
    await db.destroy();
    await database.drop();
  });

  /** A pool of its own, as a separate process would have; its name shows in pg_stat_activity. */
  function poolFor(applicationName: string): Kysely<EventStoreDatabase> {
    const pool = createDb<EventStoreDatabase>(database.url, { poolSize: 4, applicationName });
    pools.push(pool);
    return pool;
  }

  function processor(options: Partial<LogProcessorOptions> & Pick<LogProcessorOptions, 'name' | 'db'>): LogProcessor {
    const p = new LogProcessor({ batchSize: 10, pollIntervalMs: 10, leaseRetryMs: 50, ...options });
    processors.push(p);
    return p;
  }

  /** Applies one event to the projection; a second application shows as times = 2. */
  async function applyEvent(trx: Transaction<any>, projection: string, event: EventRow, by: string): Promise<void> {
    await sql`
      insert into applied as a (projection, event_id, position, times, applied_by)
      values (${projection}, ${event.id}, ${event.position}, 1, ${by})
      on conflict (projection, event_id) do update set times = a.times + 1`.execute(trx);
  }

  async function appendEvents(stream: string, count: number): Promise<EventRow[]> {
    const version = await store.streamVersion(stream);
    const { events } = await store.append(
      stream,
      version,
      Array.from({ length: count }, (_, i) => ({ type: 'Counted', data: { i } })),
      meta,
    );
    return events;
  }

  async function logInOrder(): Promise<EventRow[]> {
    return db.selectFrom('events').selectAll().orderBy('transaction_id').orderBy('position').execute();
  }

  async function projectionRows(projection: string) {
    return sql<{ event_id: string; times: number; applied_by: string }>`
      select event_id, times, applied_by from applied where projection = ${projection} order by position`
      .execute(db)
      .then((r) => r.rows);
  }

  /** Every event in the log applied exactly once to `projection`, nothing else in it. */
  async function expectExactlyOnce(projection: string): Promise<void> {
    const log = await logInOrder();
    const rows = await projectionRows(projection);
    expect(rows.map((r) => r.event_id).sort()).toEqual(log.map((e) => e.id).sort());
    expect(rows.filter((r) => r.times !== 1)).toEqual([]);
  }

  async function checkpointReaches(name: string, event: EventRow): Promise<boolean> {
    const cp = await readCheckpoint(db, name);
    return cp !== null && BigInt(cp.transactionId) >= BigInt(event.transaction_id) && cp.position >= event.position;
  }

  describe('killed mid-batch, it resumes from its checkpoint: nothing skipped, nothing applied twice', () => {
    it('when its handler throws after writing part of the batch', async () => {
      const name = 'projector-throws';
      await appendEvents('throw', 30);
      const log = await logInOrder();
      const crashAt = log[14].id; // 5th event of the second batch of 10
      const errors: unknown[] = [];
      let crashed = false;

      const first = processor({
        name,
        db: poolFor('throw-first'),
        leaseRetryMs: 60_000, // it would retry on its own; here it stays down until "restarted"
        onError: (e) => errors.push(e),
        handle: async (events, trx) => {
          for (const event of events) {
            if (event.id === crashAt && !crashed) {
              crashed = true;
              throw new Error('handler crashed mid-batch');
            }
            await applyEvent(trx, name, event, 'first');
          }
        },
      });
      first.start();
      await waitFor(() => errors.length > 0, 'the handler to crash');
      expect(errors[0]).toMatchObject({ message: 'handler crashed mid-batch' });

      // The crashed batch's partial projection rolled back with it; the checkpoint stayed at batch 1.
      expect(await readCheckpoint(db, name)).toEqual(checkpointOf(log[9]));
      expect((await projectionRows(name)).map((r) => r.event_id)).toEqual(log.slice(0, 10).map((e) => e.id));
      await first.stop();

      const restarted = processor({ name, db: poolFor('throw-restarted'), handle: async (events, trx) => {
        for (const event of events) await applyEvent(trx, name, event, 'restarted');
      } });
      restarted.start();
      await waitFor(() => checkpointReaches(name, log[log.length - 1]), 'the restarted processor to catch up');
      await expectExactlyOnce(name);
      const rows = await projectionRows(name);
      expect(rows.slice(0, 10).every((r) => r.applied_by === 'first')).toBe(true);
      expect(rows.slice(10).every((r) => r.applied_by === 'restarted')).toBe(true);
    });

    it('when its connection is terminated (pg_terminate_backend) in the middle of the batch', async () => {
      const name = 'projector-terminated';
      await appendEvents('terminate', 30);
      const log = await logInOrder();
      const crashAt = log[14].id; // 5th event of the second batch of 10
      const gate = new Gate();
      let victimPid: number | null = null;
      const errors: unknown[] = [];

      const victim = processor({
        name,
        db: poolFor('terminate-victim'),
        onError: (e) => errors.push(e),
        handle: async (events, trx) => {
          for (const event of events) {
            await applyEvent(trx, name, event, 'victim');
            if (event.id === crashAt && victimPid === null) {
              victimPid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0].pid;
              await gate.pass(); // the backend is killed while we wait here, the batch half written
            }
          }
        },
      });
      victim.start();
      await waitFor(() => gate.reached, 'the victim to reach the middle of its batch');
      const checkpointAtKill = await readCheckpoint(db, name);
      const killed = await sql<{ ok: boolean }>`select pg_terminate_backend(${victimPid}::int) as ok`.execute(db);
      expect(killed.rows[0].ok).toBe(true);
      // The session is gone, and its lease with it, before the victim's handler even resumes.
      await waitFor(async () => {
        const held = await sql`select 1 from pg_locks where locktype = 'advisory' and pid = ${victimPid}::int`.execute(db);
        return held.rows.length === 0;
      }, 'the dead session to drop its lease');
      gate.release();

      // The same process recovers on a fresh connection and carries on from the stored checkpoint.
      await waitFor(() => errors.length > 0, 'the victim to notice its dead connection');
      await waitFor(() => checkpointReaches(name, log[log.length - 1]), 'the victim to recover and catch up');
      expect(checkpointAtKill).toEqual(checkpointOf(log[9]));
      await expectExactlyOnce(name);
    });
  });

  it('two instances with one name: one leads at a time; when the leader dies the other carries on from the checkpoint', async () => {
    const name = 'projector-pair';
    await appendEvents('pair', 50);
    const gates = new Map<string, Gate>();
    const pids = new Map<string, number>();
    let inHandler = 0;
    let maxInHandler = 0;
    const handlerFor = (label: string): LogProcessorOptions['handle'] => async (events, trx) => {
      inHandler++;
      maxInHandler = Math.max(maxInHandler, inHandler);
      try {
        pids.set(label, (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0].pid);
        for (const event of events) {
          await applyEvent(trx, name, event, label);
          await gates.get(label)?.pass();
        }
      } finally {
        inHandler--;
      }
    };
    const instances: Record<string, LogProcessor> = {};
    for (const label of ['a', 'b']) {
      instances[label] = processor({ name, db: poolFor(`pair-${label}`), handle: handlerFor(label) });
    }
    instances['a'].start();
    instances['b'].start();

    // Phase 1: exactly one leader while both run.
    let log = await logInOrder();
    let sawTwoLeaders = false;
    const sampler = setInterval(() => {
      if (instances['a'].state.leader && instances['b'].state.leader) sawTwoLeaders = true;
    }, 2);
    try {
      await waitFor(() => checkpointReaches(name, log[log.length - 1]), 'the pair to catch up');
      await new Promise((r) => setTimeout(r, 300)); // both keep trying for the lease meanwhile
    } finally {
      clearInterval(sampler);
    }
    expect(sawTwoLeaders).toBe(false);
    expect(maxInHandler).toBe(1);
    const leaderLabel = instances['a'].state.leader ? 'a' : 'b';
    const standbyLabel = leaderLabel === 'a' ? 'b' : 'a';
    expect(instances[leaderLabel].state.leader).toBe(true);
    expect(instances[standbyLabel].state.leader).toBe(false);
    const lockHolders = await sql<{ application_name: string }>`
      select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_database where datname = current_database())`
      .execute(db);
    expect(lockHolders.rows.map((r) => r.application_name)).toEqual([`pair-${leaderLabel}`]);
    expect(new Set((await projectionRows(name)).map((r) => r.applied_by))).toEqual(new Set([leaderLabel]));

    // Phase 2: the leader's backend dies mid-batch and its process goes away.
    const gate = new Gate();
    gates.set(leaderLabel, gate);
    await appendEvents('pair', 30);
    await waitFor(() => gate.reached, 'the leader to be mid-batch');
    await sql`select pg_terminate_backend(${pids.get(leaderLabel)}::int)`.execute(db);
    const leaderGone = instances[leaderLabel].stop();
    gate.release();
    await leaderGone;

    log = await logInOrder();
    await waitFor(() => instances[standbyLabel].state.leader, 'the standby to take the lease');
    await waitFor(() => checkpointReaches(name, log[log.length - 1]), 'the standby to catch up');
    await expectExactlyOnce(name);
    const rows = await projectionRows(name);
    const firstByStandby = rows.findIndex((r) => r.applied_by === standbyLabel);
    expect(firstByStandby).toBe(50); // it picked up exactly where the dead leader's last commit ended
    expect(rows.slice(firstByStandby).every((r) => r.applied_by === standbyLabel)).toBe(true);

    // Phase 3: the old leader comes back as a standby; a graceful stop hands over the lease too.
    const returning = processor({ name, db: poolFor(`pair-${leaderLabel}-again`), handle: handlerFor(`${leaderLabel}-again`) });
    returning.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(returning.state.leader).toBe(false);
    await instances[standbyLabel].stop();
    await appendEvents('pair', 20);
    log = await logInOrder();
    await waitFor(() => returning.state.leader, 'the returning instance to take the lease');
    await waitFor(() => checkpointReaches(name, log[log.length - 1]), 'the returning instance to catch up');
    await expectExactlyOnce(name);
    const final = await projectionRows(name);
    expect(final.slice(80).every((r) => r.applied_by === `${leaderLabel}-again`)).toBe(true);
  });

  it('keeps its checkpoint across a restart: a new process handles only what came after', async () => {
    const name = 'projector-restart';
    await appendEvents('restart', 25);
    let log = await logInOrder();
    const firstPool = createDb(database.url, { poolSize: 2, applicationName: 'restart-first' });
    const first = new LogProcessor({ name, db: firstPool, batchSize: 10, pollIntervalMs: 10, handle: async (events, trx) => {
      for (const event of events) await applyEvent(trx, name, event, 'first');
    } });
    first.start();
    await waitFor(() => checkpointReaches(name, log[log.length - 1]), 'the first process to catch up');
    await first.stop();
    expect(first.state.checkpoint).toEqual(checkpointOf(log[log.length - 1]));
    await firstPool.destroy(); // the process is gone, connections and all

    expect(await readCheckpoint(db, name)).toEqual(checkpointOf(log[log.length - 1]));
    const later = await appendEvents('restart', 5);

    const received: EventRow[] = [];
    const second = processor({ name, db: poolFor('restart-second'), handle: async (events, trx) => {
      received.push(...events);
      for (const event of events) await applyEvent(trx, name, event, 'second');
    } });
    second.start();
    log = await logInOrder();
    await waitFor(() => checkpointReaches(name, log[log.length - 1]), 'the second process to catch up');
    expect(received.map((e) => e.id)).toEqual(later.map((e) => e.id));
    expect(second.state.checkpoint).toEqual(checkpointOf(later[later.length - 1]));
    await expectExactlyOnce(name);
  });

  it('passes over the events it does not handle without a transaction, and stores that checkpoint lazily and on stop', async () => {
    const name = 'projector-filtered';
    await appendEvents('ignored', 25);
    const {
      events: [wanted],
    } = await store.append('wanted', 0, [{ type: 'Wanted', data: {} }], meta);
    await appendEvents('ignored-after', 15);
    const log = await logInOrder();
    const handled: EventRow[] = [];
    const filtered = processor({
      name,
      db: poolFor('filtered'),
      idleCheckpointMs: 60_000,
      handles: (event) => event.type === 'Wanted',
      handle: async (events, trx) => {
        handled.push(...events);
        for (const event of events) await applyEvent(trx, name, event, 'filtered');
      },
    });
    filtered.start();
    await waitFor(() => filtered.state.checkpoint?.position === log[log.length - 1].position, 'the processor to pass over the whole log');
    expect(handled.map((e) => e.id)).toEqual([wanted.id]);
    // Stored with the batch that had work (events 21–30 of 41, in batches of 10); the ignored
    // batches after it only in memory, for now.
    expect(log[25].id).toBe(wanted.id);
    expect(await readCheckpoint(db, name)).toEqual(checkpointOf(log[29]));
    await filtered.stop();
    expect(await readCheckpoint(db, name)).toEqual(checkpointOf(log[log.length - 1]));
    expect(await projectionRows(name)).toEqual([{ event_id: wanted.id, times: 1, applied_by: 'filtered' }]);
  });

  it('delivers outside a transaction and moves the checkpoint only once a delivery returned', async () => {
    const name = 'relay-like';
    await appendEvents('delivered', 25);
    const log = await logInOrder();
    const delivered: string[] = [];
    let failOnce = true;
    const errors: unknown[] = [];
    const relay = processor({
      name,
      db: poolFor('deliver'),
      onError: (e) => errors.push(e),
      deliver: async (events) => {
        // Outside a transaction: nothing of the batch is open on the connection.
        if (failOnce && delivered.length > 0) {
          failOnce = false;
          throw new Error('delivery failed');
        }
        delivered.push(...events.map((e) => e.id));
      },
    });
    relay.start();
    await waitFor(() => checkpointReaches(name, log[log.length - 1]), 'the relay to deliver everything');
    expect(errors).toHaveLength(1);
    // The failed batch was delivered again, whole, after the retry; nothing was skipped.
    expect([...new Set(delivered)]).toEqual(log.map((e) => e.id));
    expect(delivered).toHaveLength(log.length);
  });

  /** A value of the default Prometheus registry, as a scrape would show it (undefined: not reported). */
  async function metricValue(metric: string, sample: string, labels: Record<string, string>): Promise<number | undefined> {
    const { values } = await register.getSingleMetric(metric)!.get();
    return values.find((v) => ((v as { metricName?: string }).metricName ?? metric) === sample && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  }

  it('reports its lag in events and seconds while behind, and every append’s latency, in Prometheus metrics', async () => {
    const name = 'projector-lag';
    const appendsBefore = (await metricValue('keyledger_event_store_append_duration_seconds', 'keyledger_event_store_append_duration_seconds_count', { category: 'lagging' })) ?? 0;
    const gate = new Gate();
    const lagging = processor({ name, db: poolFor('lag'), handle: async (events, trx) => {
      if (events.some((e) => e.data['held'] === true)) await gate.pass();
      for (const event of events) await applyEvent(trx, name, event, 'lag');
    } });
    const lag = async () => ({
      events: await metricValue('keyledger_processor_lag_events', 'keyledger_processor_lag_events', { processor: name }),
      seconds: await metricValue('keyledger_processor_lag_seconds', 'keyledger_processor_lag_seconds', { processor: name }),
    });
    lagging.start();
    const [first] = await appendEvents('lagging-first', 1);
    await waitFor(() => checkpointReaches(name, first), 'the processor to handle the first event');
    await waitFor(async () => (await lag()).events === 0, 'lag 0 once caught up');
    expect((await lag()).seconds).toBe(0);

    await store.append('lagging-held', 0, Array.from({ length: 5 }, () => ({ type: 'Held', data: { held: true } })), meta);
    await waitFor(() => gate.reached, 'the batch to reach the gate');
    await waitFor(async () => (await lag()).events === 5, 'a lag of the 5 waiting events');
    expect((await lag()).seconds).toBeGreaterThan(0);

    gate.release();
    const log = await logInOrder();
    await waitFor(() => checkpointReaches(name, log[log.length - 1]), 'the processor to catch up');
    await waitFor(async () => (await lag()).events === 0, 'lag 0 again');
    expect((await lag()).seconds).toBe(0);
    expect(await metricValue('keyledger_event_store_append_duration_seconds', 'keyledger_event_store_append_duration_seconds_count', { category: 'lagging' })).toBe(appendsBefore + 2);

    // A stopped processor no longer reports: another instance holds the lease now, or nobody does.
    await lagging.stop();
    expect(await lag()).toEqual({ events: undefined, seconds: undefined });
  });
});
