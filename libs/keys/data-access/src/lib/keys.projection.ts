import type { Kysely, Transaction } from 'kysely';
import { ProjectedEvent, projectRows, ProjectRowsOptions, RowProjection } from '@keyledger/event-store';
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

// Instants stay the ISO strings the events carry: Postgres parses them into timestamptz on write.
const orNull = (iso: string | null | undefined) => iso ?? null;

export const KEYS_TABLES: RowProjection<ReadModels>['tables'] = {
  orgs: ['id'],
  agents: ['id'],
  api_keys: ['id'],
  device_authorizations: ['id'],
};

/**
 * Key-registry events as changes to its read-model rows. One fold for both uses: inline, in the
 * append's transaction, and on replay from the log, so the two agree row for row. Event types it
 * does not know change nothing (they belong to other services, or to newer versions).
 */
export const keysProjection: RowProjection<ReadModels> = {
  tables: KEYS_TABLES,
  apply(stored, rows) {
    if (!HANDLED.has(stored.type)) return;
    const event = { type: stored.type, data: stored.data } as KeysEvent;
    const version = stored.position;
    switch (event.type) {
      case 'OrgCreated': {
        const o = event.data;
        return rows.insert('orgs', {
          id: o.org_id,
          name: o.name,
          plan: o.plan,
          sandbox: o.sandbox ?? false,
          created_at: o.created_at,
          overrides: null,
        });
      }
      case 'OrgPlanChanged': {
        const { org_id, plan, overrides } = event.data;
        return rows.update('orgs', { id: org_id }, (row) => ({
          ...row,
          plan,
          ...(overrides !== undefined ? { overrides } : {}),
        }));
      }
      case 'KeyCreated': {
        const k = event.data;
        return rows.insert('api_keys', {
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
          // Only KeyCreated events from before keys migration 0003 (or from a key-registry not yet
          // upgraded) carry the sealed secret; it is kept beside the log now (key_signing_secrets).
          signing_secret_sealed: (k as { signing_secret_sealed?: string | null }).signing_secret_sealed ?? null,
          rolled_from: k.rolled_from ?? null,
          created_at: k.created_at,
          expires_at: orNull(k.expires_at),
          revoked_at: null,
          version,
        });
      }
      case 'KeyUpdated': {
        const { key_id, name, scopes, expires_at } = event.data;
        return rows.update('api_keys', { id: key_id }, (row) => ({
          ...row,
          ...(name !== undefined ? { name } : {}),
          ...(scopes !== undefined ? { scopes } : {}),
          ...(expires_at !== undefined ? { expires_at: orNull(expires_at) } : {}),
          version,
        }));
      }
      case 'KeyRevoked':
        return rows.update('api_keys', { id: event.data.key_id }, (row) => ({
          ...row,
          status: 'revoked' as const,
          revoked_at: event.data.revoked_at,
          version,
        }));
      case 'KeyRolled':
        return rows.update('api_keys', { id: event.data.key_id }, (row) => ({
          ...row,
          expires_at: event.data.expires_at,
          version,
        }));
      case 'KeyLinked':
        return rows.update('api_keys', { id: event.data.key_id }, (row) => ({
          ...row,
          org_id: event.data.to_org_id,
          claimed: true,
          version,
        }));
      case 'AgentCreated': {
        const a = event.data;
        return rows.insert('agents', {
          id: a.agent_id,
          org_id: a.org_id,
          environment: a.environment,
          name: a.name,
          metadata: a.metadata,
          status: 'active',
          paused_until: null,
          created_at: a.created_at,
          version,
        });
      }
      case 'AgentUpdated': {
        const { agent_id, name, metadata } = event.data;
        return rows.update('agents', { id: agent_id }, (row) => ({
          ...row,
          ...(name !== undefined ? { name } : {}),
          ...(metadata !== undefined ? { metadata } : {}),
          version,
        }));
      }
      case 'AgentPaused':
        return rows.update('agents', { id: event.data.agent_id }, (row) => ({
          ...row,
          status: 'paused' as const,
          paused_until: orNull(event.data.paused_until),
          version,
        }));
      case 'AgentResumed':
        return rows.update('agents', { id: event.data.agent_id }, (row) => ({
          ...row,
          status: 'active' as const,
          paused_until: null,
          version,
        }));
      case 'AgentRevoked':
        return rows.update('agents', { id: event.data.agent_id }, (row) => ({
          ...row,
          status: 'revoked' as const,
          paused_until: null,
          version,
        }));
      case 'AgentTransferred':
        return rows.update('agents', { id: event.data.agent_id }, (row) => ({
          ...row,
          org_id: event.data.to_org_id,
          version,
        }));
      case 'DeviceAuthorizationRequested': {
        const d = event.data;
        return rows.insert('device_authorizations', {
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
          expires_at: d.expires_at,
          requested_at: d.requested_at,
          version,
        });
      }
      case 'DeviceAuthorizationApproved': {
        const { device_id, org_id, environment, agent_id } = event.data;
        return rows.update('device_authorizations', { id: device_id }, (row) => ({
          ...row,
          status: 'approved' as const,
          org_id,
          environment,
          agent_id,
          version,
        }));
      }
      case 'DeviceAuthorizationDenied':
        return rows.update('device_authorizations', { id: event.data.device_id }, (row) => ({
          ...row,
          status: 'denied' as const,
          org_id: event.data.org_id,
          version,
        }));
      case 'DevicePollingSlowed':
        return rows.update('device_authorizations', { id: event.data.device_id }, (row) => ({ ...row, interval_seconds: event.data.interval, version }));
      case 'DeviceAuthorizationCompleted':
        return rows.update('device_authorizations', { id: event.data.device_id }, (row) => ({
          ...row,
          status: 'completed' as const,
          key_id: event.data.key_id,
          version,
        }));
    }
  },
};

/** Applies key-registry events to its read-model tables: `keysProjection`, loaded and written in one batch. */
export function projectKeyEvents(trx: Transaction<any> | Kysely<any>, events: readonly ProjectedEvent[], options?: ProjectRowsOptions): Promise<void> {
  return projectRows(trx, keysProjection, events, options);
}
