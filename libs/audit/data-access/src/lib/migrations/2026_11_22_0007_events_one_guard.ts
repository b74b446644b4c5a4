import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
/**
 * One trigger guarding every column of events again, as the event store made it. 0005 split it in
 * two so that the chainer's one-time fill of hash/prev_hash ran no plpgsql per row; nothing fills
 * them since 0006, and events_append_only() now refuses that fill as well (the event store's
 * migration 2026_11_22_0004, which runs before this set). A trigger without a column list also
 * guards any column added to events later.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await giveUpOnLockWaits(db);
  await sql`drop trigger events_chain_once on events`.execute(db);
  await sql`drop trigger events_no_update_delete on events`.execute(db);
  await sql`
    create trigger events_no_update_delete before update or delete on events
    for each row execute function events_append_only()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await giveUpOnLockWaits(db);
  await sql`drop trigger events_no_update_delete on events`.execute(db);
  await sql`
    create trigger events_no_update_delete
    before update of position, id, stream, stream_version, type, schema_version, data, metadata, org_id, recorded_at, transaction_id
      or delete on events
    for each row execute function events_append_only()`.execute(db);
  await sql`
    create trigger events_chain_once before update of hash, prev_hash on events
    for each row when (old.hash is not null or old.prev_hash is not null or new.hash is null)
    execute function events_append_only()`.execute(db);
}

/**
 * Dropping a trigger needs events to itself. Behind a long reader (an auditor's verify or export)
 * the wait would queue every append and read of events behind it; instead the migration gives up
 * after a few seconds, rolls back, and the service's start fails, to be retried.
 */
async function giveUpOnLockWaits(db: Kysely<unknown>): Promise<void> {
  await sql`set local lock_timeout = '5s'`.execute(db);
}
