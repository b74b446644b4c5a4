import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  // The chain moves out of the events rows into a table of its own: one narrow row per chained event
  // (its position, hash and prev_hash), inserted by the chainer in one statement per batch. Filling
  // hash/prev_hash in place was an UPDATE of every event, i.e. a second full copy of each row (jsonb
  // and all) in the heap and the WAL; a link is ~100 bytes. Links already in events come along, so
  // the chain keeps every event it had; events.hash/prev_hash are no longer written or read.
  await sql`
    create table audit_chain (
      position   bigint primary key,
      hash       bytea not null check (octet_length(hash) = 32),
      prev_hash  bytea not null check (octet_length(prev_hash) = 32)
    )`.execute(db);
  await sql`
    insert into audit_chain (position, hash, prev_hash)
    select position, hash, prev_hash from events where hash is not null
    order by transaction_id, position`.execute(db);
  // Links are written once and never changed; as with events, only the table owner with the trigger
  // disabled can (which is what the tampering tests do, and what verify finds).
  await sql`
    create function audit_chain_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_chain is append-only: % is not allowed', tg_op using errcode = 'restrict_violation';
    end $$`.execute(db);
  await sql`
    create trigger audit_chain_no_update_delete before update or delete or truncate on audit_chain
    for each statement execute function audit_chain_append_only()`.execute(db);
  // Nothing updates events rows any more, so new pages need no room for a second row version.
  await sql`alter table events reset (fillfactor)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table events set (fillfactor = 50)`.execute(db);
  await sql`drop table audit_chain`.execute(db);
  await sql`drop function audit_chain_append_only`.execute(db);
}
