import type { Kysely, Transaction } from 'kysely';
import { ProjectedEvent, projectRows, ProjectRowsOptions, RowChange, rowChanges, RowProjection } from '@keyledger/event-store';
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

/** An ISO instant as the read model stores it (parsed as a `Date` would, so the same instant as before). */
const instant = (iso: string) => new Date(iso).toISOString();
const maybeInstant = (iso: string | null | undefined) => (iso == null ? null : instant(iso));

export const KEYS_TABLES: RowProjection<ReadModels>['tables'] = { orgs: ['id'], agents: ['id'], api_keys: ['id'], device_authorizations: ['id'] };
const change = rowChanges<ReadModels>(KEYS_TABLES);

/**
 * Key-registry events as changes to its read-model rows. One fold for both uses: inline, in the
 * append's transaction, and on replay from the log, so the two agree row for row. Event types it
 * does not know change nothing (they belong to other services, or to newer versions).
 */
export const keysProjection: RowProjection<ReadModels> = {
  tables: KEYS_TABLES,
  changesOf(stored): RowChange[] {
    if (!HANDLED.has(stored.type)) return [];
    const event = { type: stored.type, data: stored.data } as KeysEvent;
    const version = stored.position;
    switch (event.type) {
      case 'OrgCreated': {
        const o = event.data;
        return [change.insert('orgs', { id: o.org_id, name: o.name, plan: o.plan, sandbox: o.sandbox ?? false, created_at: instant(o.created_at), overrides: null })];
      }
      case 'OrgPlanChanged': {
        const { org_id, plan, overrides } = event.data;
        return [change.update('orgs', { id: org_id }, (row) => ({ ...row, plan, ...(overrides !== undefined ? { overrides } : {}) }))];
      }
      case 'KeyCreated': {
        const k = event.data;
        return [
          change.insert('api_keys', {
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
            created_at: instant(k.created_at),
            expires_at: maybeInstant(k.expires_at),
            revoked_at: null,
            version,
          }),
        ];
      }
      case 'KeyUpdated': {
        const { key_id, name, scopes, expires_at } = event.data;
        return [
          change.update('api_keys', { id: key_id }, (row) => ({
            ...row,
            ...(name !== undefined ? { name } : {}),
            ...(scopes !== undefined ? { scopes } : {}),
            ...(expires_at !== undefined ? { expires_at: maybeInstant(expires_at) } : {}),
            version,
          })),
        ];
      }
      case 'KeyRevoked':
        return [change.update('api_keys', { id: event.data.key_id }, (row) => ({ ...row, status: 'revoked' as const, revoked_at: instant(event.data.revoked_at), version }))];
      case 'KeyRolled':
        return [change.update('api_keys', { id: event.data.key_id }, (row) => ({ ...row, expires_at: instant(event.data.expires_at), version }))];
      case 'KeyLinked':
        return [change.update('api_keys', { id: event.data.key_id }, (row) => ({ ...row, org_id: event.data.to_org_id, claimed: true, version }))];
      case 'AgentCreated': {
        const a = event.data;
        return [
          change.insert('agents', {
            id: a.agent_id,
            org_id: a.org_id,
            environment: a.environment,
            name: a.name,
            metadata: a.metadata,
            status: 'active',
            paused_until: null,
            created_at: instant(a.created_at),
            version,
          }),
        ];
      }
      case 'AgentUpdated': {
        const { agent_id, name, metadata } = event.data;
        return [change.update('agents', { id: agent_id }, (row) => ({ ...row, ...(name !== undefined ? { name } : {}), ...(metadata !== undefined ? { metadata } : {}), version }))];
      }
      case 'AgentPaused':
        return [change.update('agents', { id: event.data.agent_id }, (row) => ({ ...row, status: 'paused' as const, paused_until: maybeInstant(event.data.paused_until), version }))];
      case 'AgentResumed':
        return [change.update('agents', { id: event.data.agent_id }, (row) => ({ ...row, status: 'active' as const, paused_until: null, version }))];
      case 'AgentRevoked':
        return [change.update('agents', { id: event.data.agent_id }, (row) => ({ ...row, status: 'revoked' as const, paused_until: null, version }))];
      case 'AgentTransferred':
        return [change.update('agents', { id: event.data.agent_id }, (row) => ({ ...row, org_id: event.data.to_org_id, version }))];
      case 'DeviceAuthorizationRequested': {
        const d = event.data;
        return [
          change.insert('device_authorizations', {
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
            expires_at: instant(d.expires_at),
            requested_at: instant(d.requested_at),
            version,
          }),
        ];
      }
      case 'DeviceAuthorizationApproved': {
        const { device_id, org_id, environment, agent_id } = event.data;
        return [change.update('device_authorizations', { id: device_id }, (row) => ({ ...row, status: 'approved' as const, org_id, environment, agent_id, version }))];
      }
      case 'DeviceAuthorizationDenied':
        return [change.update('device_authorizations', { id: event.data.device_id }, (row) => ({ ...row, status: 'denied' as const, org_id: event.data.org_id, version }))];
      case 'DevicePollingSlowed':
        return [change.update('device_authorizations', { id: event.data.device_id }, (row) => ({ ...row, interval_seconds: event.data.interval, version }))];
      case 'DeviceAuthorizationCompleted':
        return [change.update('device_authorizations', { id: event.data.device_id }, (row) => ({ ...row, status: 'completed' as const, key_id: event.data.key_id, version }))];
    }
  },
};

/** Applies key-registry events to its read-model tables: `keysProjection`, loaded and written in one batch. */
export function projectKeyEvents(trx: Transaction<any> | Kysely<any>, events: readonly ProjectedEvent[], options?: ProjectRowsOptions): Promise<void> {
  return projectRows(trx, keysProjection, events, options);
}
