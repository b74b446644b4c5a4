import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table wallets (
      org_id       text not null,
      environment  text not null check (environment in ('live', 'test')),
      currency     text not null,
      deposits     bigint not null default 0,
      captured     bigint not null default 0,
      refunded     bigint not null default 0,
      held         bigint not null default 0,
      updated_at   timestamptz not null,
      version      bigint not null,
      primary key (org_id, environment, currency),
      -- The guarantee, stated once more where the money is: never below zero, nothing negative held.
      constraint wallet_never_negative check (deposits - captured + refunded - held >= 0 and held >= 0)
    )`.execute(db);
  await sql`
    create table agent_budgets (
      agent_id             text primary key,
      org_id               text not null,
      environment          text not null,
      currency             text not null,
      fixed_limit          bigint,
      budget_percent       numeric(5, 2),
      max_position_value   bigint,
      limits               jsonb not null,
      require_attestation  boolean not null,
      updated_at           timestamptz not null,
      version              bigint not null
    )`.execute(db);
  await sql`
    create table agent_usage (
      agent_id   text not null,
      currency   text not null,
      committed  bigint not null default 0,
      held       bigint not null default 0,
      spent      bigint not null default 0,
      primary key (agent_id, currency)
    )`.execute(db);
  await sql`
    create table agent_usage_days (
      agent_id   text not null,
      currency   text not null,
      day        text not null,
      committed  bigint not null default 0,
      primary key (agent_id, currency, day)
    )`.execute(db);
  await sql`
    create table spends (
      id               text primary key,
      org_id           text not null,
      environment      text not null check (environment in ('live', 'test')),
      agent_id         text not null,
      currency         text not null,
      amount           bigint not null check (amount > 0),
      captured_amount  bigint not null default 0,
      refunded_amount  bigint not null default 0,
      status           text not null check (status in ('authorized', 'captured', 'released', 'refunded', 'expired')),
      merchant         text,
      description      text,
      attestation      jsonb,
      attestation_id   text,
      idempotency_key  text,
      day              text not null,
      created_at       timestamptz not null,
      expires_at       timestamptz,
      resolved_at      timestamptz,
      version          bigint not null
    )`.execute(db);
  await sql`create index spends_org on spends (org_id, environment, created_at desc, id desc)`.execute(db);
  await sql`create index spends_agent on spends (agent_id, created_at desc, id desc)`.execute(db);
  await sql`create index spends_open_holds on spends (expires_at) where status = 'authorized'`.execute(db);
  await sql`create index spends_open_holds_agent on spends (agent_id) where status = 'authorized'`.execute(db);
  // A retried spend (same org, same Idempotency-Key) finds the first one instead of spending twice.
  await sql`create unique index spends_idempotency on spends (org_id, idempotency_key) where idempotency_key is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['spends', 'agent_usage_days', 'agent_usage', 'agent_budgets', 'wallets']) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
