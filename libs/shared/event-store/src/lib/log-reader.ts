import { Kysely, RawBuilder, sql } from 'kysely';
import type { EventRow, EventStoreDatabase } from './database';

/** Where a log follower stands: the last (transaction_id, position) it has handled. */
export interface LogCheckpoint {
  transactionId: string;
  position: number;
}

export const LOG_START: LogCheckpoint = { transactionId: '0', position: 0 };

/**
 * Reads the next events after `after`, in log order, gap-safe: positions are handed out when a
 * transaction inserts but become visible when it commits, so a plain `position > last` can pass
 * over an event whose transaction commits late. Only rows of transactions older than every
 * transaction still running are read (`transaction_id < pg_snapshot_xmin(...)`), ordered by
 * `(transaction_id, position)`: nothing can later appear before the checkpoint.
 *
 * `columns` is the select list (default every column, as EventRow); a follower that needs the
 * rows in another form asks for them so, as long as `transaction_id` and `position` are among them.
 */
export async function readLogAfter<Row extends LogRow = EventRow>(
  db: Kysely<EventStoreDatabase> | Kysely<any>,
  after: LogCheckpoint,
  limit: number,
  columns: RawBuilder<unknown> = sql`*`,
): Promise<Row[]> {
  const result = await sql<Row>`
    select ${columns} from events
    where (transaction_id, position) > (${after.transactionId}::xid8, ${after.position}::bigint)
      and transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    order by transaction_id, position
    limit ${limit}`.execute(db);
  return result.rows;
}

/** What every row read from the log carries: its place in log order. */
export type LogRow = Pick<EventRow, 'transaction_id' | 'position'>;

export function checkpointOf(event: LogRow): LogCheckpoint {
  return { transactionId: event.transaction_id, position: event.position };
}
