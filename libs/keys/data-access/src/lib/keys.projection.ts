import type { Kysely, Transaction } from 'kysely';
import type { EventRow } from '@keyledger/event-store';
import type { AgentEvent, ApiKeyEvent, DeviceEvent, OrgEvent } from '@keyledger/keys-domain';
import type { ReadModels } from '@keyledger/read-models';

export const KEYS_READ_MODEL_TABLES = ['orgs', 'agents', 'api_keys', 'device_authorizations'] as const;

type KeysEvent = OrgEvent | ApiKeyEvent | AgentEvent | DeviceEvent;
const HANDLED: ReadonlySet<string> = new Set<KeysEvent['type']>([
  'OrgCreated',
  'OrgPlanChanged',
  'KeyCreated',
  'KeyUpdated',
  'KeyRevoked',
  'KeyRolled',
  'KeyLinked',
  'AgentCreated',
  'AgentUpdated',
  'AgentPaused',
  'AgentResumed',
  'AgentRevoked',
  'AgentTransferred',
  'DeviceAuthorizationRequested',
  'DeviceAuthorizationApproved',
  'DeviceAuthorizationDenied',
  'DevicePollingSlowed',
  'DeviceAuthorizationCompleted',
]);

const date = (iso: string | null | undefined) => (iso == null ? null : new Date(iso));

/**
 * Applies key-registry events to its read-model tables. Called inline, in the append's transaction;
 * the same function rebuilds the tables from the log on replay, so the two agree row for row.
 * Event types it does not know are skipped (they belong to other services, or to newer versions).
 */
export async function projectKeyEvents(
  trx: Transaction<any> | Kysely<any>,
  events: readonly Pick<EventRow, 'type' | 'data' | 'position'>[],
): Promise<void> {
  const db = trx as Kysely<ReadModels>;
  for (const stored of events) {
    if (!HANDLED.has(stored.type)) continue;
    const event = { type: stored.type, data: stored.data } as KeysEvent;
    const version = stored.position;
    switch (event.type) {
      case 'OrgCreated': {
        const o = event.data;
        await db.insertInto('orgs').values({ id: o.org_id, name: o.name, plan: o.plan, sandbox: o.sandbox ?? false, created_at: new Date(o.created_at) }).execute();
        break;
      }
      case 'OrgPlanChanged': {
        const { org_id, plan, overrides } = event.data;
        await db
          .updateTable('orgs')
          .set({ plan, overrides: overrides === null ? null : JSON.stringify(overrides) })
          .where('id', '=', org_id)
          .execute();
        break;
      }
      case 'KeyCreated': {
        const k = event.data;
        await db
          .insertInto('api_keys')
          .values({
            id: k.key_id,
            org_id: k.org_id,
            name: k.name,
            key_hash: k.key_hash,
            key_prefix: k.key_prefix,
            last4: k.last4,
            environment: k.environment,
            scopes: k.scopes,
            agent_id: k.agent_id,
            status: 'active',
            claimed: k.claimed,
            signing: k.signing,
            signing_secret_sealed: k.signing_secret_sealed ?? null,
            rolled_from: k.rolled_from ?? null,
            created_at: new Date(k.created_at),
            expires_at: date(k.expires_at),
            revoked_at: null,
            version,
          })
          .execute();
        break;
      }
      case 'KeyUpdated': {
        const { key_id, name, scopes, expires_at } = event.data;
        await db
          .updateTable('api_keys')
          .set({
            ...(name !== undefined ? { name } : {}),
            ...(scopes !== undefined ? { scopes } : {}),
            ...(expires_at !== undefined ? { expires_at: date(expires_at) } : {}),
            version,
          })
          .where('id', '=', key_id)
          .execute();
        break;
      }
      case 'KeyRevoked':
        await db
          .updateTable('api_keys')
          .set({ status: 'revoked', revoked_at: new Date(event.data.revoked_at), version })
          .where('id', '=', event.data.key_id)
          .execute();
        break;
      case 'KeyRolled':
        await db
          .updateTable('api_keys')
          .set({ expires_at: new Date(event.data.expires_at), version })
          .where('id', '=', event.data.key_id)
          .execute();
        break;
      case 'KeyLinked':
        await db
          .updateTable('api_keys')
          .set({ org_id: event.data.to_org_id, claimed: true, version })
          .where('id', '=', event.data.key_id)
          .execute();
        break;
      case 'AgentCreated': {
        const a = event.data;
        await db
          .insertInto('agents')
          .values({
            id: a.agent_id,
            org_id: a.org_id,
            environment: a.environment,
            name: a.name,
            metadata: JSON.stringify(a.metadata),
            status: 'active',
            paused_until: null,
            created_at: new Date(a.created_at),
            version,
          })
          .execute();
        break;
      }
      case 'AgentUpdated': {
        const { agent_id, name, metadata } = event.data;
        await db
          .updateTable('agents')
          .set({ ...(name !== undefined ? { name } : {}), ...(metadata !== undefined ? { metadata: JSON.stringify(metadata) } : {}), version })
          .where('id', '=', agent_id)
          .execute();
        break;
      }
      case 'AgentPaused':
        await db
          .updateTable('agents')
          .set({ status: 'paused', paused_until: date(event.data.paused_until), version })
          .where('id', '=', event.data.agent_id)
          .execute();
        break;
      case 'AgentResumed':
        await db.updateTable('agents').set({ status: 'active', paused_until: null, version }).where('id', '=', event.data.agent_id).execute();
        break;
      case 'AgentRevoked':
        await db.updateTable('agents').set({ status: 'revoked', paused_until: null, version }).where('id', '=', event.data.agent_id).execute();
        break;
      case 'AgentTransferred':
        await db.updateTable('agents').set({ org_id: event.data.to_org_id, version }).where('id', '=', event.data.agent_id).execute();
        break;
      case 'DeviceAuthorizationRequested': {
        const d = event.data;
        await db
          .insertInto('device_authorizations')
          .values({
            id: d.device_id,
            device_code_hash: d.device_code_hash,
            user_code: d.user_code,
            agent_name: d.agent_name,
            scopes: d.scopes,
            status: 'pending',
            interval_seconds: d.interval,
            org_id: null,
            environment: null,
            agent_id: null,
            key_id: null,
            expires_at: new Date(d.expires_at),
            requested_at: new Date(d.requested_at),
            version,
          })
          .execute();
        break;
      }
      case 'DeviceAuthorizationApproved': {
        const { device_id, org_id, environment, agent_id } = event.data;
        await db.updateTable('device_authorizations').set({ status: 'approved', org_id, environment, agent_id, version }).where('id', '=', device_id).execute();
        break;
      }
      case 'DeviceAuthorizationDenied':
        await db
          .updateTable('device_authorizations')
          .set({ status: 'denied', org_id: event.data.org_id, version })
          .where('id', '=', event.data.device_id)
          .execute();
        break;
      case 'DevicePollingSlowed':
        await db.updateTable('device_authorizations').set({ interval_seconds: event.data.interval, version }).where('id', '=', event.data.device_id).execute();
        break;
      case 'DeviceAuthorizationCompleted':
        await db
          .updateTable('device_authorizations')
          .set({ status: 'completed', key_id: event.data.key_id, version })
          .where('id', '=', event.data.device_id)
          .execute();
        break;
    }
  }
}
