import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
/**
 * The audit listing reads an org's events in log order, (transaction_id, position), after a place
 * in it, so its index follows that order; `events_org (org_id, position)` served only that listing
 * and goes, so an append still maintains the same number of indexes, and entries of the same width:
 * position is left out (the events of one transaction, found together, are put in order by a small
 * sort), and one transaction's entries are stored once, deduplicated.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await giveUpOnLockWaits(db);
  await sql`create index events_org_log_order on events (org_id, transaction_id)`.execute(db);
  await sql`drop index events_org`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await giveUpOnLockWaits(db);
  await sql`create index events_org on events (org_id, position)`.execute(db);
  await sql`drop index events_org_log_order`.execute(db);
}

/**
 * The migration runs in the migrator's transaction, so the index is not built CONCURRENTLY: appends
 * wait while it is built (longer the bigger the log), and dropping the old index needs the table
 * to itself. Waiting for that behind a long reader (an auditor's verify or export holds the table
 * for minutes) would queue every append and read of events behind the drop; instead the migration
 * gives up after a few seconds, rolls back, and the service's start fails, to be retried.
 */
async function giveUpOnLockWaits(db: Kysely<unknown>): Promise<void> {
  await sql`set local lock_timeout = '5s'`.execute(db);
}
