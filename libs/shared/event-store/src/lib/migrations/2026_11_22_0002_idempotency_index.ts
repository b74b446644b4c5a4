import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
/** Finds the events a request with a given Idempotency-Key already produced (retry after a lost reply). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index events_idempotency_key on events ((metadata->>'idempotency_key'), org_id)
            where metadata->>'idempotency_key' is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index events_idempotency_key`.execute(db);
}
