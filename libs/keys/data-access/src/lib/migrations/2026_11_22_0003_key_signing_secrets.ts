import { Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
/**
 * Sealed signing secrets move out of the log. KeyCreated carried `signing_secret_sealed`, so every
 * reader of the audit log and every export handed to an auditor carried the ciphertext of every
 * signing secret, and could never be made to forget it: the log is append-only and hash-chained.
 * Should KEYLEDGER_SECRETS_KEY ever leak, all of them could be unsealed. From now on the sealed
 * secret is written once, beside the KeyCreated event in its transaction, to key_signing_secrets:
 * not a read model, and no replay rebuilds it. The secrets of keys made before are copied over.
 *
 * api_keys.signing_secret_sealed stays for now (expand, then contract): the projection still fills
 * it from the events that carry a secret, i.e. those written before, or by a key-registry not yet
 * upgraded while this one rolls out; the gateway's lookup falls back to it, so no key made in that
 * window loses its secret, and a gateway not yet upgraded still verifies the keys made before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table key_signing_secrets (
      key_id     text primary key,
      sealed     text not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    insert into key_signing_secrets (key_id, sealed, created_at)
    select id, signing_secret_sealed, created_at from api_keys where signing_secret_sealed is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table key_signing_secrets`.execute(db);
}
