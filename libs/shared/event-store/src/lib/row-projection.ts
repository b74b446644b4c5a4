import { Kysely, RawBuilder, Selectable, sql, Transaction } from 'kysely';
import type { EventRow } from './database';

/** An event as a projection reads it. */
export type ProjectedEvent = Pick<EventRow, 'type' | 'data' | 'position'>;

/**
 * A read-model row as a projection holds it in memory: the JSON Postgres gives for it (`to_jsonb`)
 * and takes back (`json_populate_recordset`) — timestamps as ISO strings, jsonb as values.
 */
export type JsonRow<T> = {
  [K in keyof Selectable<T>]: Selectable<T>[K] extends Date ? string : Selectable<T>[K] extends Date | null ? string | null : Selectable<T>[K];
};

type AnyRow = Record<string, unknown>;

/** The rows of a projection's tables as an event changes them. Unknown tables are an error. */
export interface Rows<DB> {
  /** The event creates this row; applying it over an existing one is an error, as a duplicate INSERT is. */
  insert<T extends keyof DB & string>(table: T, row: JsonRow<DB[NoInfer<T>]>): void;
  /**
   * Changes an existing row; nothing happens when there is none (as an UPDATE matching no row).
   * `change` may modify the row it is given (a copy this batch owns) and return it.
   */
  update<T extends keyof DB & string>(table: T, key: Partial<JsonRow<DB[NoInfer<T>]>>, change: (row: JsonRow<DB[NoInfer<T>]>) => JsonRow<DB[NoInfer<T>]>): void;
  /** Creates the row or changes the one there (which `change` may modify and return). */
  upsert<T extends keyof DB & string>(
    table: T,
    key: Partial<JsonRow<DB[NoInfer<T>]>>,
    change: (row: JsonRow<DB[NoInfer<T>]> | undefined) => JsonRow<DB[NoInfer<T>]>,
  ): void;
}

/**
 * A service's read model as one fold: the tables it writes (with their primary keys, in the order
 * rows must be written for foreign keys) and what each event does to their rows. It does no I/O:
 * `projectRows` loads, applies and writes, for one event or a million.
 */
export interface RowProjection<DB = any> {
  /** Table → primary-key columns (all text), parents before children. */
  readonly tables: {
    readonly [T in keyof DB & string]?: readonly (keyof DB[T] & string)[];
  };
  /** Applies one event to `rows`. Pure but for `rows`: it is run once to find the rows, once to change them. */
  apply(event: ProjectedEvent, rows: Rows<DB>): void;
}

export interface ProjectRowsOptions {
  /**
   * Lock the loaded rows (`for update`) until the transaction ends, so a concurrent writer of the
   * same row waits and reads what this one wrote. On by default; a single-writer rebuild turns it off.
   */
  lockRows?: boolean;
}

interface Slot {
  key: AnyRow;
  row: AnyRow | undefined;
  /** Created by this batch without being looked for: written with a plain INSERT. */
  fresh: boolean;
  load: boolean;
  dirty: boolean;
}

/** Slots by table, then by key; two passes over the events: find the rows, then change them. */
class BatchRows implements Rows<any> {
  readonly slots = new Map<string, Map<string, Slot>>();
  private readonly keys = new Map<string, readonly string[]>();
  applying = false;

  constructor(tables: RowProjection['tables']) {
    for (const [table, key] of Object.entries(tables)) {
      this.slots.set(table, new Map());
      this.keys.set(table, key as readonly string[]);
    }
  }

  keyColumns(table: string): readonly string[] {
    const columns = this.keys.get(table);
    if (!columns) throw new Error(`table ${table} is not one of this projection's`);
    return columns;
  }

  id(table: string, key: AnyRow): string {
    const columns = this.keyColumns(table);
    return columns.length === 1 ? String(key[columns[0]]) : columns.map((c) => key[c]).join('\u0000');
  }

  private slot(table: string, key: AnyRow, creates: boolean): Slot {
    const byKey = this.slots.get(table) as Map<string, Slot>;
    const id = this.id(table, key);
    let slot = byKey.get(id);
    if (!slot) {
      if (this.applying) throw new Error(`${table} ${id} was not found before applying: the projection is not pure`);
      const columns = this.keyColumns(table);
      slot = {
        key: Object.fromEntries(columns.map((c) => [c, key[c]])),
        row: undefined,
        fresh: creates,
        load: !creates,
        dirty: false,
      };
      byKey.set(id, slot);
    }
    return slot;
  }

  /** Rows `previous` holds (as the previous batch left them) need no loading. */
  takeFrom(previous: BatchRows): void {
    for (const [table, byKey] of this.slots) {
      const before = previous.slots.get(table) as Map<string, Slot>;
      for (const [id, slot] of byKey) {
        const held = before.get(id);
        if (!held) continue;
        slot.row = held.row;
        slot.load = false;
        // Created by the previous batch: written by then, so an upsert now (and a second insert fails here).
        slot.fresh = false;
      }
    }
  }

  private change(slot: Slot, next: AnyRow): void {
    slot.row = next;
    slot.dirty = true;
  }

  insert(table: string, row: AnyRow): void {
    const slot = this.slot(table, row, true);
    if (!this.applying) return;
    if (slot.row !== undefined) throw new Error(`${table} ${this.id(table, row)} already exists`);
    this.change(slot, row);
  }

  update(table: string, key: AnyRow, change: (row: any) => any): void {
    const slot = this.slot(table, key, false);
    if (this.applying && slot.row !== undefined) this.change(slot, change(slot.row));
  }

  upsert(table: string, key: AnyRow, change: (row: any) => any): void {
    const slot = this.slot(table, key, false);
    if (this.applying) this.change(slot, change(slot.row));
  }
}

/**
 * Applies a batch of events to a projection's tables, the same way for one event (inline, in the
 * append's transaction) and for ten thousand (replay): the rows the events touch are loaded in one
 * round trip, every event is applied to them in memory, in order, and the changed rows are written
 * back in one statement (one multi-row INSERT or upsert per table). Events of types the projection
 * does not know change nothing. Unqualified table names: the search path picks the schema.
 */
export async function projectRows(
  db: Transaction<any> | Kysely<any>,
  projection: RowProjection,
  events: readonly ProjectedEvent[],
  options: ProjectRowsOptions = {},
): Promise<void> {
  const rows = new BatchRows(projection.tables);
  for (const event of events) projection.apply(event, rows);
  if ([...rows.slots.values()].every((byKey) => byKey.size === 0)) return;
  await loadRows(db, rows, options.lockRows ?? true);
  rows.applying = true;
  for (const event of events) projection.apply(event, rows);
  await writeRows(db, rows);
}

async function loadRows(db: Transaction<any> | Kysely<any>, rows: BatchRows, lock: boolean): Promise<void> {
  const reads: RawBuilder<unknown>[] = [];
  for (const [table, byKey] of rows.slots) {
    const wanted = [...byKey.values()].filter((s) => s.load);
    if (wanted.length === 0) continue;
    const columns = rows.keyColumns(table);
    const match =
      columns.length === 1
        ? sql`${sql.ref(columns[0])} = any(${wanted.map((s) => s.key[columns[0]])}::text[])`
        : sql`(${sql.join(columns.map((c) => sql.ref(c)))}) in (select * from unnest(${sql.join(columns.map((c) => sql`${wanted.map((s) => s.key[c])}::text[]`))}))`;
    const locking = lock ? sql` order by ${sql.join(columns.map((c) => sql.ref(c)))} for update` : sql``;
    reads.push(sql`select ${table}::text as t, to_jsonb(r) as r from (select * from ${sql.table(table)} where ${match}${locking}) r`);
  }
  if (reads.length === 0) return;
  const found = await sql<{
    t: string;
    r: AnyRow;
  }>`${sql.join(reads, sql` union all `)}`.execute(db);
  for (const { t, r } of found.rows) {
    const slot = rows.slots.get(t)?.get(rows.id(t, r));
    if (slot) slot.row = r;
  }
}

/**
 * A projection folded over the log batch after batch by a single writer (replay). The rows of the
 * previous batch stay in memory, so a batch loads only the rows the previous one did not touch —
 * rows that the previous batch's write, which may still be running, does not change. `next`
 * returns the batch's write with its rows already serialized: the caller runs the writes one after
 * the other, in order, while the next batch is folded.
 */
export class ProjectionFold {
  private previous: BatchRows | null = null;

  constructor(private readonly projection: RowProjection) {}

  async next(loader: Transaction<any> | Kysely<any>, events: readonly ProjectedEvent[]): Promise<RawBuilder<unknown> | null> {
    const rows = new BatchRows(this.projection.tables);
    for (const event of events) this.projection.apply(event, rows);
    if (this.previous) rows.takeFrom(this.previous);
    await loadRows(loader, rows, false);
    rows.applying = true;
    for (const event of events) this.projection.apply(event, rows);
    this.previous = rows;
    return writeStatement(rows);
  }
}

async function writeRows(db: Transaction<any> | Kysely<any>, rows: BatchRows): Promise<void> {
  await writeStatement(rows)?.execute(db);
}

/** The one statement writing a batch's changed rows (null when none changed); the rows are serialized now. */
function writeStatement(rows: BatchRows): RawBuilder<unknown> | null {
  const writes: RawBuilder<unknown>[] = [];
  for (const [table, byKey] of rows.slots) {
    const inserted: AnyRow[] = [];
    const upserted: AnyRow[] = [];
    for (const slot of byKey.values()) {
      if (!slot.dirty || slot.row === undefined) continue;
      (slot.fresh ? inserted : upserted).push(slot.row);
    }
    const key = rows.keyColumns(table);
    if (inserted.length > 0) writes.push(insertStatement(table, inserted, null));
    if (upserted.length > 0) writes.push(insertStatement(table, upserted, key));
  }
  if (writes.length === 0) return null;
  if (writes.length === 1) return writes[0];
  // One round trip: each table's write is a data-modifying CTE of one statement. Foreign keys are
  // checked at the end of the statement, so children may name parents inserted beside them.
  const ctes = writes.map((w, i) => sql`${sql.raw(`w${i}`)} as (${w})`);
  return sql`with ${sql.join(ctes)} select 1`;
}

/** Rows in, as one JSON parameter; with `conflictKey`, rows already there are updated instead. */
function insertStatement(table: string, rows: readonly AnyRow[], conflictKey: readonly string[] | null): RawBuilder<unknown> {
  const seen = new Set<string>();
  for (const row of rows) for (const column in row) seen.add(column);
  const columns = [...seen];
  const list = sql.join(columns.map((c) => sql.ref(c)));
  const insert = sql`insert into ${sql.table(table)} (${list}) select ${list} from json_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(rows)}::json)`;
  if (conflictKey === null) return insert;
  const assignments = columns.filter((c) => !conflictKey.includes(c)).map((c) => sql`${sql.ref(c)} = excluded.${sql.ref(c)}`);
  if (assignments.length === 0) return sql`${insert} on conflict do nothing`;
  return sql`${insert} on conflict (${sql.join(conflictKey.map((c) => sql.ref(c)))}) do update set ${sql.join(assignments)}`;
}
