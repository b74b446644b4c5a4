import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table events (
      position        bigint generated always as identity primary key,
      id              uuid not null default gen_random_uuid() unique,
      stream          text not null,
      stream_version  integer not null check (stream_version >= 1),
      type            text not null,
      schema_version  smallint not null default 1,
      data            jsonb not null,
      metadata        jsonb not null,
      org_id          text,
      recorded_at     timestamptz not null default now(),
      transaction_id  xid8 not null default pg_current_xact_id(),
      hash            bytea,
      prev_hash       bytea,
      constraint events_stream_version_unique unique (stream, stream_version)
    )`.execute(db);
  await sql`create index events_log_order on events (transaction_id, position)`.execute(db);
  await sql`create index events_org on events (org_id, position)`.execute(db);

  // Append-only: rows are never deleted or changed. The one permitted write after insert is the
  // audit chainer filling hash/prev_hash once, leaving every other column as it was.
  await sql`
    create function events_append_only() returns trigger language plpgsql as $$
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
  await sql`
    create trigger events_no_update_delete before update or delete on events
    for each row execute function events_append_only()`.execute(db);
  await sql`
    create trigger events_no_truncate before truncate on events
    for each statement execute function events_append_only()`.execute(db);

  await sql`
    create table processor_checkpoints (
      name           text primary key,
      transaction_id xid8 not null,
      position       bigint not null,
      updated_at     timestamptz not null default now()
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table processor_checkpoints`.execute(db);
  await sql`drop table events`.execute(db);
  await sql`drop function events_append_only`.execute(db);
}
