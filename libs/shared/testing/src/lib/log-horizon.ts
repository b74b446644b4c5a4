import { Kysely, sql } from 'kysely';
import { waitFor } from './processes';

/**
 * Waits until every event committed so far lies below the log's gap-safe horizon, where its readers
 * (the chainer, the audit listing, replay, every processor) see it: a writing transaction begun
 * before any of them, anywhere on the server — another suite's, in parallel — holds them back until
 * it ends.
 */
export async function waitForLogHorizon(db: Kysely<any>, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    'every committed event below the gap-safe horizon',
    async () =>
      (await sql<{ past: boolean }>`select coalesce(pg_snapshot_xmin(pg_current_snapshot()) > max(transaction_id), true) as past from events`.execute(db)).rows[0]
        .past,
    timeoutMs,
    20,
  );
}
