import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  // A plan's `overrides` (PUT /v1/orgs/{id}/plan): single rate-limit figures replacing the plan's.
  await sql`alter table orgs add column overrides jsonb`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table orgs drop column overrides`.execute(db);
}
