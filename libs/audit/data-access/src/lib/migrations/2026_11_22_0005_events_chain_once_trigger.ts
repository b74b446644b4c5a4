import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  // The same rule as events_append_only() (the event store's migration), split so that the one
  // legal update — the chainer filling hash/prev_hash once — runs no plpgsql per row:
  // - an UPDATE naming any other column, or a DELETE, goes through events_append_only() as before;
  // - an UPDATE of hash/prev_hash calls it (and so fails) only when the row was chained already or
  //   the new hash is null; the WHEN condition is evaluated by the executor, not a function call.
  // A column added to events later must be added to the first trigger's list (a test checks it).
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

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger events_chain_once on events`.execute(db);
  await sql`drop trigger events_no_update_delete on events`.execute(db);
  await sql`
    create trigger events_no_update_delete before update or delete on events
    for each row execute function events_append_only()`.execute(db);
}
