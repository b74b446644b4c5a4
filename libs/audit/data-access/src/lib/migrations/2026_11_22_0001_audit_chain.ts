import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One row: where the chainer stands, so each batch continues from the last hash without a scan.
  await sql`
    create table audit_chain_head (
      id              boolean primary key default true check (id),
      position        bigint not null,
      transaction_id  xid8 not null,
      hash            bytea not null,
      events_chained  bigint not null
    )`.execute(db);
  await sql`
    create table audit_checkpoints (
      id              bigint generated always as identity primary key,
      position        bigint not null,
      root_hash       bytea not null,
      signature       bytea not null,
      public_key      bytea not null,
      signed_at       timestamptz not null,
      events_chained  bigint not null
    )`.execute(db);
  await sql`create index audit_checkpoints_position on audit_checkpoints (position)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table audit_checkpoints`.execute(db);
  await sql`drop table audit_chain_head`.execute(db);
}
