import { Kysely, sql, Transaction } from 'kysely';

/** How a service's read model is projected, for `projectInChunks`. */
export interface ChunkedProjection<E, O> {
  /** The read-model tables the projection writes. */
  tables: readonly string[];
  project: (trx: Transaction<any>, events: readonly E[], options: O) => Promise<unknown>;
  /** SQL `order by` list that makes each table's rows come back in one order (e.g. `id`). */
  orderBy: string;
}

/**
 * Projects `events` in chunks of the given sizes (the last takes the rest), one transaction per chunk,
 * into fresh copies of the projection's tables in a scratch schema (copies without foreign keys, as
 * replay's scratch tables: LIKE does not copy them), and returns every table's rows. Comparing the
 * rows of different chunkings shows whether a batch of N events projects as N single events do.
 */
export async function projectInChunks<E, O>(db: Kysely<any>, projection: ChunkedProjection<E, O>, events: readonly E[], sizes: readonly number[], options: O): Promise<Record<string, unknown[]>> {
  const schema = `chunks_${Math.random().toString(36).slice(2, 10)}`;
  return db.connection().execute(async (conn) => {
    await sql`create schema ${sql.id(schema)}`.execute(conn);
    for (const table of projection.tables) await sql`create table ${sql.id(schema, table)} (like ${sql.id('public', table)} including all)`.execute(conn);
    await sql`set search_path to ${sql.id(schema)}`.execute(conn);
    try {
      let from = 0;
      for (let i = 0; from < events.length; i++) {
        const size = i < sizes.length ? sizes[i] : events.length - from;
        const chunk = events.slice(from, from + size);
        from += size;
        await conn.transaction().execute((trx) => projection.project(trx, chunk, options));
      }
      const rows: Record<string, unknown[]> = {};
      for (const table of projection.tables) rows[table] = (await sql`select * from ${sql.table(table)} order by ${sql.raw(projection.orderBy)}`.execute(conn)).rows;
      return rows;
    } finally {
      await sql`set search_path to default`.execute(conn);
      await sql`drop schema ${sql.id(schema)} cascade`.execute(conn);
    }
  });
}
