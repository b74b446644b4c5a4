import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table attestations (
      id           text primary key,
      org_id       text not null,
      environment  text not null check (environment in ('live', 'test')),
      agent_id     text not null,
      spend_id     text,
      statement    jsonb not null,
      mismatches   jsonb not null,
      position     bigint not null,
      created_at   timestamptz not null,
      version      bigint not null
    )`.execute(db);
  await sql`create index attestations_org on attestations (org_id, environment, created_at, id)`.execute(db);
  await sql`create index attestations_agent on attestations (agent_id, created_at, id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table attestations`.execute(db);
}
