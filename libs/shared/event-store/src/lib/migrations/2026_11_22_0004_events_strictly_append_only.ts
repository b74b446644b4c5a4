import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
/**
 * events becomes strictly append-only: no UPDATE of any column. The one write 0001 allowed after an
 * insert, the audit chainer filling hash/prev_hash once, has had no writer since the chain moved to
 * a table of its own (audit-attestation's migration 2026_11_22_0006, which copied the links already
 * filled); what it still did was let anyone who can write the table set those two columns once. The
 * columns stay, always null: that audit migration reads them on a fresh database, after this set.
 * Replacing the function locks no table.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function events_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'events is append-only: % is not allowed', tg_op
        using errcode = 'restrict_violation';
    end $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function events_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE'
         and old.hash is null and old.prev_hash is null and new.hash is not null
         and (new.position, new.id, new.stream, new.stream_version, new.type, new.schema_version,
              new.data, new.metadata, new.org_id, new.recorded_at, new.transaction_id)
             is not distinct from
             (old.position, old.id, old.stream, old.stream_version, old.type, old.schema_version,
              old.data, old.metadata, old.org_id, old.recorded_at, old.transaction_id)
      then
        return new;
      end if;
      raise exception 'events is append-only: % is not allowed', tg_op
        using errcode = 'restrict_violation';
    end $$`.execute(db);
}
