import { randomBytes } from 'node:crypto';
import { Kysely, RawBuilder, sql } from 'kysely';
import { ProjectedEvent, ProjectionFold, RowProjection } from '@keyledger/event-store';

/**
 * One service's read model as replay sees it: the projection its service runs inline (through
 * `projectRows`), and the tables it fills. Each service's data-access lib exports both; the CLI
 * lists them in one registry.
 */
export interface ReadModelProjection {
  service: string;
  tables: readonly string[];
  projection: RowProjection;
}

export interface RowDifference {
  table: string;
  kind: 'missing_in_live' | 'extra_in_live' | 'differs';
  key: Record<string, unknown>;
  /** Columns whose values differ, live vs replayed (for `differs`); the whole row otherwise. */
  live: Record<string, unknown> | null;
  replayed: Record<string, unknown> | null;
}

export interface ReplayReport {
  /** The scratch schema (dropped afterwards unless `keepSchema`). */
  schema: string;
  events: number;
  /** Time to rebuild the read models from the log (what `events_per_second` counts against). */
  seconds: number;
  events_per_second: number;
  /** Time to compare the rebuilt tables with the live ones. */
  compare_seconds: number;
  tables: { table: string; rows: number }[];
  differences: RowDifference[];
  /** True when more differences exist than were listed. */
  truncated: boolean;
}

export interface ReplayOptions {
  /** Events read from the log per fetch. */
  batchSize?: number;
  /**
   * Events folded in memory before their rows are written (one load and one write statement per
   * projection each, in a transaction of its own): bounds memory; larger writes a hot row fewer times.
   */
  flushEvery?: number;
  /** Called after every batch with the events replayed so far and the total to replay. */
  onProgress?: (done: number, total: number) => void;
  /** Most differences to list. */
  maxDifferences?: number;
  keepSchema?: boolean;
}

/**
 * Rebuilds every registered read model from the log into a scratch schema — empty copies of the
 * live tables — by running each service's own projection over every event in log order, then
 * compares the scratch tables with the live ones row by row.
 *
 * The log is read through a cursor in a read-only snapshot on one connection while the events
 * already read are folded and written on others: every `flushEvery` events are folded by each
 * projection in memory (`ProjectionFold`: the rows it needs loaded in one round trip, those of the
 * previous batch kept) and written with one statement per projection, in a transaction of their
 * own (so no long write transaction holds back the live system's log followers, and memory stays
 * bounded), while the next batch is folded. Needs three connections. Compare on a quiet system.
 */
export async function replayReadModels(db: Kysely<any>, projections: readonly ReadModelProjection[], options: ReplayOptions = {}): Promise<ReplayReport> {
  const scratch = `replay_${randomBytes(4).toString('hex')}`;
  const tables = projections.flatMap((p) => p.tables);
  const batchSize = options.batchSize ?? 10_000;
  const flushEvery = options.flushEvery ?? 50_000;
  return db.connection().execute(async (conn) => {
    await sql`create schema ${sql.id(scratch)}`.execute(conn);
    try {
      for (const table of tables) {
        // Unlogged copies with the primary key only (projections find rows by it): no foreign keys or
        // secondary indexes to maintain while replaying; the comparison scans both tables anyway.
        await sql`create unlogged table ${sql.id(scratch, table)} (like ${sql.id('public', table)} including defaults including constraints)`.execute(conn);
        const key = await primaryKeyOf(conn, table);
        if (key.length > 0) await sql`alter table ${sql.id(scratch, table)} add primary key (${sql.join(key.map((c) => sql.id(c)))})`.execute(conn);
      }
      await sql`set search_path to ${sql.id(scratch)}, public`.execute(conn);
      const started = process.hrtime.bigint();
      // Three connections: this one writes; `loader` reads the rows a batch needs (committed ones,
      // which the write in flight does not touch); foldLog's own holds the snapshot the log is read in.
      const done = await db.connection().execute(async (loader) => {
        await sql`set search_path to ${sql.id(scratch)}, public`.execute(loader);
        try {
          return await foldLog(db, conn, loader, projections, { batchSize, flushEvery, onProgress: options.onProgress });
        } finally {
          await sql`set search_path to default`.execute(loader).catch(() => undefined);
        }
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await sql`set search_path to default`.execute(conn);
      const compareStarted = process.hrtime.bigint();
      const max = options.maxDifferences ?? 50;
      const differences: RowDifference[] = [];
      const counted: { table: string; rows: number }[] = [];
      let truncated = false;
      for (const table of tables) {
        const count = await sql<{ n: number }>`select count(*)::bigint as n from ${sql.id(scratch, table)}`.execute(conn);
        counted.push({ table, rows: count.rows[0].n });
        const found = await compareTable(conn, table, scratch, max - differences.length + 1);
        if (differences.length + found.length > max) truncated = true;
        differences.push(...found.slice(0, Math.max(0, max - differences.length)));
      }
      const compareSeconds = Number(process.hrtime.bigint() - compareStarted) / 1e9;
      return {
        schema: scratch,
        events: done,
        seconds,
        events_per_second: seconds > 0 ? Math.round(done / seconds) : done,
        compare_seconds: compareSeconds,
        tables: counted,
        differences,
        truncated,
      };
    } finally {
      await sql`set search_path to default`.execute(conn).catch(() => undefined);
      if (!options.keepSchema) await sql`drop schema ${sql.id(scratch)} cascade`.execute(conn);
    }
  });
}

/**
 * Reads the log up to the gap-safe horizon through a cursor and folds it into the read models:
 * each batch is folded (loading rows on `loader`) while the previous one is written on `writer`.
 * Returns how many events were replayed.
 */
async function foldLog(
  db: Kysely<any>,
  writer: Kysely<any>,
  loader: Kysely<any>,
  projections: readonly ReadModelProjection[],
  options: { batchSize: number; flushEvery: number; onProgress?: (done: number, total: number) => void },
): Promise<number> {
  return db.connection().execute((reader) =>
    reader.transaction().execute(async (snapshot) => {
      // A read-only transaction takes no transaction id, so holding its snapshot delays no log follower.
      await sql`set transaction isolation level repeatable read, read only`.execute(snapshot);
      // Replay what was committed when it started: the log up to the gap-safe horizon of this snapshot.
      const horizon = await sql<{ xmin: string; total: number }>`
        select pg_snapshot_xmin(pg_current_snapshot())::text as xmin,
               (select count(*) from events where transaction_id < pg_snapshot_xmin(pg_current_snapshot()))::bigint as total`.execute(snapshot);
      const { xmin, total } = horizon.rows[0];
      await sql`declare replay_log no scroll cursor for
        select type, data, position from events where transaction_id < ${sql.lit(xmin)}::xid8 order by transaction_id, position`.execute(snapshot);
      const fetchBatch = () => {
        const rows = sql<ProjectedEvent>`fetch forward ${sql.lit(options.batchSize)} from replay_log`.execute(snapshot).then((r) => r.rows);
        rows.catch(() => undefined); // a failed write ends the replay before this read is awaited
        return rows;
      };
      const folds = projections.map((p) => new ProjectionFold(p.projection));
      let replayed = 0;
      let pending: ProjectedEvent[] = [];
      let writing: Promise<void> = Promise.resolve();
      const flush = async () => {
        const events = pending;
        pending = [];
        const writes: RawBuilder<unknown>[] = [];
        for (const fold of folds) {
          const write = await fold.next(loader, events);
          if (write) writes.push(write);
        }
        await writing; // the previous batch's write: one writer, in log order
        writing = writer.transaction().execute(async (trx) => {
          await sql`set local synchronous_commit = off`.execute(trx);
          for (const write of writes) await write.execute(trx);
        });
        writing.catch(() => undefined); // awaited by the next flush, or at the end
        replayed += events.length;
        options.onProgress?.(replayed, total);
      };
      let next = fetchBatch();
      for (;;) {
        const events = await next;
        if (events.length === 0) break;
        next = fetchBatch(); // the next batch is read while this one is folded and the last one written
        for (const event of events) pending.push(event);
        if (pending.length >= options.flushEvery) await flush();
      }
      if (pending.length > 0) await flush();
      await writing;
      return replayed;
    }),
  );
}

async function primaryKeyOf(db: Kysely<any>, table: string): Promise<string[]> {
  const result = await sql<{ column: string }>`
    select a.attname as column from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
    where i.indrelid = ${`public.${table}`}::regclass and i.indisprimary order by a.attnum`.execute(db);
  return result.rows.map((r) => r.column);
}

/** Rows in one side and not the other (EXCEPT compares every column), paired up by primary key. */
async function compareTable(db: Kysely<any>, table: string, scratch: string, limit: number): Promise<RowDifference[]> {
  const key = await primaryKeyOf(db, table);
  const live = sql.id('public', table);
  const replayed = sql.id(scratch, table);
  const onlyLive = await sql<{ row: Record<string, unknown> }>`
    select to_jsonb(d) as row from (select * from ${live} except all select * from ${replayed}) d limit ${limit}`.execute(db);
  const onlyReplayed = await sql<{ row: Record<string, unknown> }>`
    select to_jsonb(d) as row from (select * from ${replayed} except all select * from ${live}) d limit ${limit}`.execute(db);
  const keyOf = (row: Record<string, unknown>) => Object.fromEntries((key.length ? key : Object.keys(row)).map((c) => [c, row[c]]));
  const id = (row: Record<string, unknown>) => JSON.stringify(keyOf(row));
  const replayedByKey = new Map(onlyReplayed.rows.map((r) => [id(r.row), r.row]));
  const differences: RowDifference[] = [];
  for (const { row } of onlyLive.rows) {
    const other = replayedByKey.get(id(row));
    if (other) {
      replayedByKey.delete(id(row));
      const columns = Object.keys(row).filter((c) => JSON.stringify(row[c]) !== JSON.stringify(other[c]));
      differences.push({
        table,
        kind: 'differs',
        key: keyOf(row),
        live: Object.fromEntries(columns.map((c) => [c, row[c]])),
        replayed: Object.fromEntries(columns.map((c) => [c, other[c]])),
      });
    } else {
      differences.push({ table, kind: 'extra_in_live', key: keyOf(row), live: row, replayed: null });
    }
  }
  for (const row of replayedByKey.values()) differences.push({ table, kind: 'missing_in_live', key: keyOf(row), live: null, replayed: row });
  return differences;
}
