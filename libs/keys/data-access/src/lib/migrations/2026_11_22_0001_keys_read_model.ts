import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table orgs (
      id          text primary key,
      name        text not null,
      plan        text,
      created_at  timestamptz not null
    )`.execute(db);
  await sql`
    create table api_keys (
      id          text primary key,
      org_id      text not null references orgs (id),
      name        text,
      key_hash    text not null unique,
      key_prefix  text not null,
      last4       text not null,
      environment text not null check (environment in ('live', 'test')),
      scopes      text[] not null,
      agent_id    text,
      status      text not null check (status in ('active', 'revoked')),
      claimed     boolean not null,
      signing     boolean not null,
      created_at  timestamptz not null,
      expires_at  timestamptz,
      revoked_at  timestamptz,
      version     bigint not null
    )`.execute(db);
  await sql`create index api_keys_org on api_keys (org_id, environment, created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table api_keys`.execute(db);
  await sql`drop table orgs`.execute(db);
}
