import { Kysely, sql } from 'kysely';
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
 * `(transaction_id, position)`: nothing can later appear before the checkpoint.
 */
export async function readLogAfter(
  db: Kysely<EventStoreDatabase> | Kysely<any>,
  after: LogCheckpoint,
  limit: number,
): Promise<EventRow[]> {
  const result = await sql<EventRow>`
    select * from events
    where (transaction_id, position) > (${after.transactionId}::xid8, ${after.position}::bigint)
    order by transaction_id, position
    limit ${limit}`.execute(db);
  return result.rows;
}

export function checkpointOf(event: Pick<EventRow, 'transaction_id' | 'position'>): LogCheckpoint {
  return { transactionId: event.transaction_id, position: event.position };
}
