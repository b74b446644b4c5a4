import { Kysely, sql, Transaction } from 'kysely';
import type { Environment } from '@keyledger/contracts';
import type { AgentRow, ApiKeyRow, DeviceAuthorizationRow, ReadModels } from '@keyledger/read-models';

type Db = Kysely<ReadModels> | Transaction<ReadModels>;

/** Read-model queries the key-registry decides with (inside its command transactions). */
export const keysRepository = {
  /** A key of this org and environment, or null: another tenant's key does not exist for the caller. */
  async keyInScope(db: Db, keyId: string, orgId: string, environment: Environment): Promise<ApiKeyRow | null> {
    const row = await db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', keyId)
      .where('org_id', '=', orgId)
      .where('environment', '=', environment)
      .executeTakeFirst();
    return row ?? null;
  },

  async keyByHash(db: Db, keyHash: string): Promise<ApiKeyRow | null> {
    return (await db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst()) ?? null;
  },

  /** A new signing key's secret, sealed: its only copy (KeyCreated does not carry it). */
  async storeSigningSecret(db: Db, keyId: string, sealed: string): Promise<void> {
    await db.insertInto('key_signing_secrets').values({ key_id: keyId, sealed }).execute();
  },

  async keyById(db: Db, keyId: string): Promise<ApiKeyRow | null> {
    return (await db.selectFrom('api_keys').selectAll().where('id', '=', keyId).executeTakeFirst()) ?? null;
  },

  async agentInScope(db: Db, agentId: string, orgId: string, environment: Environment): Promise<AgentRow | null> {
    const row = await db
      .selectFrom('agents')
      .selectAll()
      .where('id', '=', agentId)
      .where('org_id', '=', orgId)
      .where('environment', '=', environment)
      .executeTakeFirst();
    return row ?? null;
  },

  async agentById(db: Db, agentId: string): Promise<AgentRow | null> {
    return (await db.selectFrom('agents').selectAll().where('id', '=', agentId).executeTakeFirst()) ?? null;
  },

  /** Keys that count toward the plan limit: claimed, not revoked, not expired. */
  async countLiveKeys(db: Db, orgId: string, now: Date): Promise<number> {
    const row = await db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org_id', '=', orgId)
      .where('status', '=', 'active')
      .where('claimed', '=', true)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  async activeKeysOfAgent(db: Db, agentId: string): Promise<ApiKeyRow[]> {
    return db.selectFrom('api_keys').selectAll().where('agent_id', '=', agentId).where('status', '=', 'active').execute();
  },

  async keysOfOrg(db: Db, orgId: string): Promise<ApiKeyRow[]> {
    return db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).execute();
  },

  async agentsOfOrg(db: Db, orgId: string): Promise<AgentRow[]> {
    return db.selectFrom('agents').selectAll().where('org_id', '=', orgId).execute();
  },

  async orgPlan(db: Db, orgId: string) {
    return db.selectFrom('orgs').select(['id', 'plan', 'sandbox']).where('id', '=', orgId).executeTakeFirst();
  },

  async pendingDeviceByUserCode(db: Db, userCode: string, now: Date): Promise<DeviceAuthorizationRow | null> {
    const row = await db
      .selectFrom('device_authorizations')
      .selectAll()
      .where('user_code', '=', userCode)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row ?? null;
  },

  async deviceByCodeHash(db: Db, deviceCodeHash: string): Promise<DeviceAuthorizationRow | null> {
    return (await db.selectFrom('device_authorizations').selectAll().where('device_code_hash', '=', deviceCodeHash).executeTakeFirst()) ?? null;
  },

  async lastPolledAt(db: Db, deviceId: string): Promise<Date | null> {
    const row = await db.selectFrom('device_polls').select('last_polled_at').where('device_id', '=', deviceId).executeTakeFirst();
    return row?.last_polled_at ?? null;
  },

  async recordPoll(db: Db, deviceId: string, at: Date): Promise<void> {
    await db
      .insertInto('device_polls')
      .values({ device_id: deviceId, last_polled_at: at })
      .onConflict((oc) => oc.column('device_id').doUpdateSet({ last_polled_at: at }))
      .execute();
  },

  /** Paused agents whose pause is over: the auto-resume sweep's work list. */
  async agentsDueForResume(db: Db, now: Date, limit = 100): Promise<AgentRow[]> {
    return db
      .selectFrom('agents')
      .selectAll()
      .where('status', '=', 'paused')
      .where('paused_until', 'is not', null)
      .where('paused_until', '<=', now)
      .limit(limit)
      .execute();
  },

  async recordKeyUsage(db: Db, used: Record<string, string>): Promise<void> {
    const rows = Object.entries(used).map(([key_id, at]) => ({ key_id, last_used_at: new Date(at) }));
    if (rows.length === 0) return;
    await db
      .insertInto('api_key_usage')
      .values(rows)
      .onConflict((oc) => oc.column('key_id').doUpdateSet({ last_used_at: sql`greatest(api_key_usage.last_used_at, excluded.last_used_at)` }))
      .execute();
  },

  async lastUsedAt(db: Db, keyId: string): Promise<Date | null> {
    const row = await db.selectFrom('api_key_usage').select('last_used_at').where('key_id', '=', keyId).executeTakeFirst();
    return row?.last_used_at ?? null;
  },
};

/** Serializes decisions about one org (plan limits, approval lockout) inside a transaction. */
export async function lockOrg(trx: Transaction<any>, orgId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${'org:' + orgId}, 0))`.execute(trx);
}
