import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Where a spend differed from the attestation it was made under (null: made without one).
  await sql`alter table spends add column attestation_mismatches jsonb`.execute(db);
  // GET /v1/attestations finds the spend made under each attestation.
  await sql`create index spends_attestation on spends (attestation_id) where attestation_id is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index spends_attestation`.execute(db);
  await sql`alter table spends drop column attestation_mismatches`.execute(db);
}
