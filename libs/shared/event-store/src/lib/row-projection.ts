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

/** What one event does to one row: the row as it is (undefined when absent) in, as it becomes out. */
export interface RowChange {
  readonly table: string;
  /** The row's primary-key values by column. */
  readonly key: AnyRow;
  /** The event creates the row, which must not exist yet: nothing to load, and a plain INSERT writes it. */
  readonly creates: boolean;
  apply(row: AnyRow | undefined): AnyRow | undefined;
}

/**
 * A service's read model as one fold: the tables it writes (with their primary keys, in the order
 * rows must be written for foreign keys) and what each event does to their rows. It does no I/O:
 * `projectRows` loads, applies and writes, for one event or a million.
 */
export interface RowProjection<DB = any> {
  /** Table → primary-key columns (all text), parents before children. */
  readonly tables: { readonly [T in keyof DB & string]?: readonly (keyof DB[T] & string)[] };
  changesOf(event: ProjectedEvent): readonly RowChange[];
}

export interface ProjectRowsOptions {
  /**
   * Lock the loaded rows (`for update`) until the transaction ends, so a concurrent writer of the
   * same row waits and reads what this one wrote. On by default; a single-writer rebuild turns it off.
   */
  lockRows?: boolean;
}

/** Typed constructors of row changes for the tables of `DB`. */
export function rowChanges<DB>(tables: RowProjection<DB>['tables']) {
  type Row<T extends keyof DB & string> = JsonRow<DB[T]>;
  const keyOf = (table: string, row: AnyRow): AnyRow => {
    const columns = (tables as Record<string, readonly string[] | undefined>)[table];
    if (!columns) throw new Error(`table ${table} is not one of this projection's`);
    return Object.fromEntries(columns.map((c) => [c, row[c]]));
  };
  return {
    /** The event creates this row; applying it over an existing one is an error, as a duplicate INSERT is. */
    insert<T extends keyof DB & string>(table: T, row: Row<NoInfer<T>>): RowChange {
      const key = keyOf(table, row as AnyRow);
      return {
        table,
        key,
        creates: true,
        apply(current) {
          if (current !== undefined) throw new Error(`${table} ${JSON.stringify(key)} already exists`);
          return row as AnyRow;
        },
      };
    },
    /** Changes an existing row; nothing happens when there is none (as an UPDATE matching no row). */
    update<T extends keyof DB & string>(table: T, key: Partial<Row<T>>, change: (row: Row<NoInfer<T>>) => Row<NoInfer<T>>): RowChange {
      return { table, key: keyOf(table, key as AnyRow), creates: false, apply: (current) => (current === undefined ? undefined : (change(current as Row<T>) as AnyRow)) };
    },
    /** Creates the row or changes the one there. */
    upsert<T extends keyof DB & string>(table: T, key: Partial<Row<T>>, change: (row: Row<NoInfer<T>> | undefined) => Row<NoInfer<T>>): RowChange {
      return { table, key: keyOf(table, key as AnyRow), creates: false, apply: (current) => change(current as Row<T> | undefined) as AnyRow };
    },
  };
}

interface Slot {
  key: AnyRow;
  row: AnyRow | undefined;
  /** Created by this batch without being looked for: written with a plain INSERT. */
  fresh: boolean;
  load: boolean;
  dirty: boolean;
}

const keyString = (key: AnyRow) => JSON.stringify(Object.values(key));

/**
 * Applies a batch of events to a projection's tables, the same way for one event (inline, in the
 * append's transaction) and for ten thousand (replay): the rows the events touch are loaded in one
 * round trip, every event is applied to them in memory, in order, and the changed rows are written
 * back in one statement (one multi-row INSERT or upsert per table). Events of types the projection
 * does not know change nothing. Unqualified table names: the search path picks the schema.
 */
export async function projectRows(db: Transaction<any> | Kysely<any>, projection: RowProjection, events: readonly ProjectedEvent[], options: ProjectRowsOptions = {}): Promise<void> {
  const tables = Object.keys(projection.tables);
  const slots = new Map<string, Map<string, Slot>>(tables.map((t) => [t, new Map()]));
  const changes: RowChange[] = [];
  for (const event of events) {
    for (const change of projection.changesOf(event)) {
      changes.push(change);
      const byKey = slots.get(change.table) as Map<string, Slot>;
      const id = keyString(change.key);
      if (!byKey.has(id)) byKey.set(id, { key: change.key, row: undefined, fresh: change.creates, load: !change.creates, dirty: false });
    }
  }
  if (changes.length === 0) return;
  await loadRows(db, projection, slots, options.lockRows ?? true);
  for (const change of changes) {
    const slot = (slots.get(change.table) as Map<string, Slot>).get(keyString(change.key)) as Slot;
    const next = change.apply(slot.row);
    if (next !== slot.row) {
      slot.row = next;
      slot.dirty = true;
    }
  }
  await writeRows(db, projection, slots);
}

async function loadRows(db: Transaction<any> | Kysely<any>, projection: RowProjection, slots: Map<string, Map<string, Slot>>, lock: boolean): Promise<void> {
  const reads: RawBuilder<unknown>[] = [];
  for (const [table, byKey] of slots) {
    const wanted = [...byKey.values()].filter((s) => s.load);
    if (wanted.length === 0) continue;
    const columns = projection.tables[table] as readonly string[];
    const match =
      columns.length === 1
        ? sql`${sql.ref(columns[0])} = any(${wanted.map((s) => s.key[columns[0]])}::text[])`
        : sql`(${sql.join(columns.map((c) => sql.ref(c)))}) in (select * from unnest(${sql.join(columns.map((c) => sql`${wanted.map((s) => s.key[c])}::text[]`))}))`;
    const locking = lock ? sql` order by ${sql.join(columns.map((c) => sql.ref(c)))} for update` : sql``;
    reads.push(sql`select ${table}::text as t, to_jsonb(r) as r from (select * from ${sql.table(table)} where ${match}${locking}) r`);
  }
  if (reads.length === 0) return;
  const found = await sql<{ t: string; r: AnyRow }>`${sql.join(reads, sql` union all `)}`.execute(db);
  const columnsOf = (t: string) => projection.tables[t] as readonly string[];
  for (const { t, r } of found.rows) {
    const slot = slots.get(t)?.get(keyString(Object.fromEntries(columnsOf(t).map((c) => [c, r[c]]))));
    if (slot) slot.row = r;
  }
}

async function writeRows(db: Transaction<any> | Kysely<any>, projection: RowProjection, slots: Map<string, Map<string, Slot>>): Promise<void> {
  const writes: RawBuilder<unknown>[] = [];
  for (const [table, byKey] of slots) {
    const inserted: AnyRow[] = [];
    const upserted: AnyRow[] = [];
    for (const slot of byKey.values()) {
      if (!slot.dirty || slot.row === undefined) continue;
      (slot.fresh ? inserted : upserted).push(slot.row);
    }
    const key = projection.tables[table] as readonly string[];
    if (inserted.length > 0) writes.push(insertStatement(table, inserted, null));
    if (upserted.length > 0) writes.push(insertStatement(table, upserted, key));
  }
  if (writes.length === 0) return;
  if (writes.length === 1) {
    await writes[0].execute(db);
    return;
  }
  // One round trip: each table's write is a data-modifying CTE of one statement. Foreign keys are
  // checked at the end of the statement, so children may name parents inserted beside them.
  const ctes = writes.map((w, i) => sql`${sql.raw(`w${i}`)} as (${w})`);
  await sql`with ${sql.join(ctes)} select 1`.execute(db);
}

/** Rows in, as one JSON parameter; with `conflictKey`, rows already there are updated instead. */
function insertStatement(table: string, rows: readonly AnyRow[], conflictKey: readonly string[] | null): RawBuilder<unknown> {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const list = sql.join(columns.map((c) => sql.ref(c)));
  const insert = sql`insert into ${sql.table(table)} (${list}) select ${list} from json_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(rows)}::json)`;
  if (conflictKey === null) return insert;
  const assignments = columns.filter((c) => !conflictKey.includes(c)).map((c) => sql`${sql.ref(c)} = excluded.${sql.ref(c)}`);
  if (assignments.length === 0) return sql`${insert} on conflict do nothing`;
  return sql`${insert} on conflict (${sql.join(conflictKey.map((c) => sql.ref(c)))}) do update set ${sql.join(assignments)}`;
}
