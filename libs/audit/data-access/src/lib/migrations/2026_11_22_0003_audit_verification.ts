import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One row: the newest signed checkpoint that GET /v1/audit/verify has verified from the raw rows,
  // so the next call recomputes only the chain after it.
  await sql`
    create table audit_verification (
      id               boolean primary key default true check (id),
      checkpoint_id    bigint not null,
      position         bigint not null,
      transaction_id   xid8 not null,
      root_hash        bytea not null,
      events_verified  bigint not null,
      verified_at      timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table audit_verification`.execute(db);
}
