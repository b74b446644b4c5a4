import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table orgs (
      id          text primary key,
      name        text not null,
      plan        text,
      sandbox     boolean not null,
      created_at  timestamptz not null
    )`.execute(db);
  await sql`
    create table agents (
      id            text primary key,
      org_id        text not null references orgs (id),
      environment   text not null check (environment in ('live', 'test')),
      name          text not null,
      metadata      jsonb not null,
      status        text not null check (status in ('active', 'paused', 'revoked')),
      paused_until  timestamptz,
      created_at    timestamptz not null,
      version       bigint not null
    )`.execute(db);
  await sql`create index agents_org on agents (org_id, environment, created_at, id)`.execute(db);
  await sql`
    create table api_keys (
      id                    text primary key,
      org_id                text not null references orgs (id),
      name                  text,
      key_hash              text not null unique,
      key_prefix            text not null,
      last4                 text not null,
      environment           text not null check (environment in ('live', 'test')),
      scopes                text[] not null,
      agent_id              text references agents (id),
      status                text not null check (status in ('active', 'revoked')),
      claimed               boolean not null,
      signing               boolean not null,
      signing_secret_sealed text,
      rolled_from           text,
      created_at            timestamptz not null,
      expires_at            timestamptz,
      revoked_at            timestamptz,
      version               bigint not null
    )`.execute(db);
  await sql`create index api_keys_org on api_keys (org_id, environment, created_at, id)`.execute(db);
  await sql`create index api_keys_agent on api_keys (agent_id) where agent_id is not null`.execute(db);
  await sql`
    create table device_authorizations (
      id                text primary key,
      device_code_hash  text not null unique,
      user_code         text not null,
      agent_name        text not null,
      scopes            text[] not null,
      status            text not null check (status in ('pending', 'approved', 'denied', 'completed')),
      interval_seconds  integer not null,
      org_id            text references orgs (id),
      environment       text,
      agent_id          text,
      key_id            text,
      expires_at        timestamptz not null,
      requested_at      timestamptz not null,
      version           bigint not null
    )`.execute(db);
  // One open request per user code at a time: codes of finished requests may come round again.
  await sql`create unique index device_user_code_open on device_authorizations (user_code) where status in ('pending', 'approved')`.execute(db);

  // Operational telemetry, not rebuilt from the log.
  await sql`create table api_key_usage (key_id text primary key, last_used_at timestamptz not null)`.execute(db);
  await sql`create table device_polls (device_id text primary key, last_polled_at timestamptz not null)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['device_polls', 'api_key_usage', 'device_authorizations', 'api_keys', 'agents', 'orgs']) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
