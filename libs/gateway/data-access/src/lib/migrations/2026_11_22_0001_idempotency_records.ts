import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table idempotency_records (
      scope         text not null,
      key           text not null,
      fingerprint   text not null,
      state         text not null check (state in ('in_progress', 'done')),
      status        integer,
      body          text,
      locked_until  timestamptz not null,
      created_at    timestamptz not null default now(),
      expires_at    timestamptz not null,
      primary key (scope, key)
    )`.execute(db);
  await sql`create index idempotency_records_expiry on idempotency_records (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table idempotency_records`.execute(db);
}
