import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
/**
 * The audit listing reads an org's events in log order, (transaction_id, position), after a place
 * in it, so its index follows that order; `events_org (org_id, position)` served only that listing
 * and goes, so an append still maintains the same number of indexes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index events_org_log_order on events (org_id, transaction_id, position)`.execute(db);
  await sql`drop index events_org`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create index events_org on events (org_id, position)`.execute(db);
  await sql`drop index events_org_log_order`.execute(db);
}
