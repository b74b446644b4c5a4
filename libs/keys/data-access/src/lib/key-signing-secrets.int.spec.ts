import { Kysely, sql } from 'kysely';
import { createDb, eventStoreMigrations, migrateToLatest, migrationsBefore } from '@keyledger/event-store';
import { findCredentialByHash } from '@keyledger/read-models';
import { createTestDatabase, TestDatabase } from '@keyledger/testing';
import { keysMigrations } from './migrations';
import { keysRepository } from './keys.repository';

describe('keys migration 2026_11_22_0003: sealed signing secrets kept beside the log', () => {
  let database: TestDatabase;
  let db: Kysely<any>;

  beforeAll(async () => {
    database = await createTestDatabase('keys_signing_secrets');
    db = createDb(database.url, { poolSize: 2 });
    await migrateToLatest(db, [eventStoreMigrations, migrationsBefore(keysMigrations, '2026_11_22_0003_key_signing_secrets')]);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const key = (id: string, signing: boolean) => ({
    id,
    org_id: 'org_1',
    name: null,
    key_hash: `hash_${id}`,
    key_prefix: 'kl_test',
    last4: '1234',
    environment: 'test',
    scopes: ['*'],
    agent_id: null,
    status: 'active',
    claimed: true,
    signing,
    rolled_from: null,
    created_at: '2026-11-22T10:00:00.000Z',
    expires_at: null,
    revoked_at: null,
    version: 1,
  });

  it('copies the secrets of keys made before it; the lookup finds those, new ones, and those a key-registry not yet upgraded keeps making in the read model', async () => {
    await db.insertInto('orgs').values({ id: 'org_1', name: 'Acme', plan: 'free', sandbox: false, created_at: '2026-11-22T10:00:00.000Z' }).execute();
    await db.insertInto('api_keys').values({ ...key('key_old', true), signing_secret_sealed: 'sealed-old' }).execute();
    await db.insertInto('api_keys').values({ ...key('key_plain', false), signing_secret_sealed: null }).execute();

    await migrateToLatest(db, [keysMigrations]);

    const copied = await db.selectFrom('key_signing_secrets').select(['key_id', 'sealed']).orderBy('key_id').execute();
    expect(copied).toEqual([{ key_id: 'key_old', sealed: 'sealed-old' }]);

    // An upgraded key-registry writes the secret beside the event; one not yet upgraded, into the read model.
    await db.insertInto('api_keys').values({ ...key('key_new', true), signing_secret_sealed: null }).execute();
    await keysRepository.storeSigningSecret(db, 'key_new', 'sealed-new');
    await db.insertInto('api_keys').values({ ...key('key_during_rollout', true), signing_secret_sealed: 'sealed-during' }).execute();

    expect((await findCredentialByHash(db, 'hash_key_old'))?.signingSecretSealed).toBe('sealed-old');
    expect((await findCredentialByHash(db, 'hash_key_new'))?.signingSecretSealed).toBe('sealed-new');
    expect((await findCredentialByHash(db, 'hash_key_during_rollout'))?.signingSecretSealed).toBe('sealed-during');
    expect((await findCredentialByHash(db, 'hash_key_plain'))?.signingSecretSealed).toBeNull();
    // One secret per key, written once.
    await expect(keysRepository.storeSigningSecret(db, 'key_new', 'another')).rejects.toThrow(/duplicate key/);
  });
});
