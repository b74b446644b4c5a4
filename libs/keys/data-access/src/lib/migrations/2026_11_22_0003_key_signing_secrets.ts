import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
/**
 * Sealed signing secrets move out of the log. KeyCreated carried `signing_secret_sealed`, so every
 * reader of the audit log and every export handed to an auditor carried the ciphertext of every
 * signing secret, and could never be made to forget it: the log is append-only and hash-chained.
 * Should KEYLEDGER_SECRETS_KEY ever leak, all of them could be unsealed. From now on the sealed
 * secret is written once, beside the KeyCreated event in its transaction, to key_signing_secrets:
 * the only copy, which no replay rebuilds. The secrets of keys made before move over from the read
 * model; their old events keep what they carried.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Dropping the column needs api_keys to itself: give up after a few seconds of waiting behind
  // readers rather than queue every key lookup behind the drop (the start fails and is retried).
  await sql`set local lock_timeout = '5s'`.execute(db);
  await sql`
    create table key_signing_secrets (
      key_id     text primary key,
      sealed     text not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    insert into key_signing_secrets (key_id, sealed, created_at)
    select id, signing_secret_sealed, created_at from api_keys where signing_secret_sealed is not null`.execute(db);
  await sql`alter table api_keys drop column signing_secret_sealed`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`set local lock_timeout = '5s'`.execute(db);
  await sql`alter table api_keys add column signing_secret_sealed text`.execute(db);
  await sql`update api_keys k set signing_secret_sealed = s.sealed from key_signing_secrets s where s.key_id = k.id`.execute(db);
  await sql`drop table key_signing_secrets`.execute(db);
}
