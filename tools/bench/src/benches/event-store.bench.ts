import { Generated, Kysely, sql } from 'kysely';
import {
  EventMetadata,
  EventStore,
  EventStoreDatabase,
  createDb,
  eventStoreMigrations,
  migrateToLatest,
} from '@keyledger/event-store';
import { Bench, BenchContext, PhaseResult, measure, positiveInt, round } from '../bench';
import { createBenchDatabase } from '../bench-database';

const STREAMS_PER_WRITER = 64;

/** The events row's columns and defaults, without unique key, log indexes or trigger. */
interface BaselineEventsTable {
  position: Generated<number>;
  id: Generated<string>;
  stream: string;
  stream_version: number;
  type: string;
  schema_version: Generated<number>;
  data: string;
  metadata: string;
  org_id: string | null;
  recorded_at: Generated<Date>;
  transaction_id: Generated<string>;
}

interface BenchDatabase extends EventStoreDatabase {
  baseline_events: BaselineEventsTable;
}

const meta: EventMetadata = {
  request_id: 'req_bench',
  actor_key_id: 'key_bench',
  agent_id: 'agent_bench',
  ip: '127.0.0.1',
};

/** A payload of the size a spend event has. */
function spendData(writer: number, n: number): Record<string, unknown> {
  return { spend_id: `sp_${writer}_${n}`, wallet_id: `w_${writer}`, amount_cents: 125, currency: 'USD', model: 'gpt-x', tokens: 2048 };
}

async function createBaselineTable(db: Kysely<BenchDatabase>): Promise<void> {
  await sql`
    create table baseline_events (
      position        bigint generated always as identity primary key,
      id              uuid not null default gen_random_uuid(),
      stream          text not null,
      stream_version  integer not null,
      type            text not null,
      schema_version  smallint not null default 1,
      data            jsonb not null,
      metadata        jsonb not null,
      org_id          text,
      recorded_at     timestamptz not null default now(),
      transaction_id  xid8 not null default pg_current_xact_id()
    )`.execute(db);
}

/**
 * Appends to streams of the writer's own, each at the version the writer knows it is at. `tag` keeps
 * the streams of separate phases on one log apart.
 */
export function streamWriter(store: EventStore, batchSize: number, tag = '') {
  const versions = new Map<string, number>();
  const counters = new Map<number, number>();
  return async (writer: number): Promise<number> => {
    const n = (counters.get(writer) ?? 0) + 1;
    counters.set(writer, n);
    const stream = `spend-${tag}b${batchSize}_w${writer}_s${n % STREAMS_PER_WRITER}`;
    const version = versions.get(stream) ?? 0;
    const events = Array.from({ length: batchSize }, (_, i) => ({ type: 'SpendRecorded', data: spendData(writer, n * batchSize + i) }));
    const { nextExpectedVersion } = await store.append(stream, version, events, meta, { orgId: `org_${writer}` });
    versions.set(stream, nextExpectedVersion);
    return batchSize;
  };
}

/** One comparable row per transaction into the plain table: autocommit, or wrapped in BEGIN/COMMIT. */
function rawInserter(db: Kysely<BenchDatabase>, mode: 'autocommit' | 'transaction') {
  const counters = new Map<number, number>();
  return async (writer: number): Promise<void> => {
    const n = (counters.get(writer) ?? 0) + 1;
    counters.set(writer, n);
    const insert = (into: Kysely<BenchDatabase>) =>
      into
        .insertInto('baseline_events')
        .values({
          stream: `spend-raw_w${writer}_s${n % STREAMS_PER_WRITER}`,
          stream_version: n,
          type: 'SpendRecorded',
          data: JSON.stringify(spendData(writer, n)),
          metadata: JSON.stringify(meta),
          org_id: `org_${writer}`,
        })
        .execute();
    if (mode === 'autocommit') await insert(db);
    else await db.transaction().execute((trx) => insert(trx));
  };
}

function phase(result: PhaseResult) {
  return {
    transactions_per_s: result.operationsPerSecond,
    events_per_s: result.unitsPerSecond,
    transactions: result.operations,
    events: result.units,
    seconds: result.seconds,
    latency_ms: result.latencyMs,
  };
}

export const eventStoreBench: Bench = {
  name: 'event-store',
  description:
    'EventStore.append throughput: single-event and batched appends from concurrent writers, against raw INSERTs into a plain table',
  options: {
    writers: { type: 'string' },
    batch: { type: 'string' },
  },
  async run(context: BenchContext) {
    const writers = positiveInt(context.flags, 'writers', 16);
    const batchSize = positiveInt(context.flags, 'batch', 100);
    const database = await createBenchDatabase(context.pgServerUrl, 'event_store');
    context.log(`database ${database.name}`);
    const db = createDb<BenchDatabase>(database.url, { poolSize: writers, applicationName: 'bench-event-store' });
    try {
      await migrateToLatest(db, [eventStoreMigrations]);
      await createBaselineTable(db);
      const store = new EventStore(db);
      const load = { workers: writers, seconds: context.durationSeconds, warmupSeconds: context.warmupSeconds };

      context.log(`(a) single-event appends, ${writers} writers, ${context.durationSeconds}s`);
      const single = await measure(load, streamWriter(store, 1));

      context.log(`(b) ${batchSize}-event appends, ${writers} writers, ${context.durationSeconds}s`);
      const batched = await measure(load, streamWriter(store, batchSize));

      context.log(`(c) raw single-row INSERTs (autocommit), ${writers} connections, ${context.durationSeconds}s`);
      const baseline = await measure(load, rawInserter(db, 'autocommit'));

      // Not asked for, but it splits (a)/(c): BEGIN and COMMIT round trips versus the append's own work.
      context.log(`(c') raw INSERTs inside BEGIN/COMMIT, ${writers} connections, ${context.durationSeconds}s`);
      const baselineInTransaction = await measure(load, rawInserter(db, 'transaction'));

      const server = await sql<{ version: string }>`select current_setting('server_version') as version`.execute(db);
      return {
        config: {
          writers,
          batch_size: batchSize,
          duration_s: context.durationSeconds,
          warmup_s: context.warmupSeconds,
          postgres: server.rows[0]?.version,
          cpus: (await import('node:os')).cpus().length,
        },
        single_event_appends: phase(single),
        batch_appends: phase(batched),
        raw_insert_baseline: phase(baseline),
        raw_insert_in_transaction_baseline: phase(baselineInTransaction),
        ratios: {
          // (a)/(c): what the version check, unique key, log indexes and explicit transaction cost per commit.
          single_appends_vs_raw_inserts: round(single.operationsPerSecond / baseline.operationsPerSecond, 3),
          single_appends_vs_raw_inserts_in_transaction: round(
            single.operationsPerSecond / baselineInTransaction.operationsPerSecond,
            3,
          ),
          batch_events_vs_raw_inserts: round(batched.unitsPerSecond / baseline.operationsPerSecond, 3),
        },
      };
    } finally {
      await db.destroy();
      if (context.keepDatabase) context.log(`kept database ${database.name}`);
      else await database.drop();
    }
  },
};
