import { assertNever, Decider, DomainError } from '@keyledger/domain';
import type { Environment, Scope } from '@keyledger/contracts';

/** Everything stored about a key: never the plaintext, only its hash and display parts. */
export interface KeyDescription {
  key_id: string;
  org_id: string;
  name: string | null;
  key_hash: string;
  key_prefix: string;
  last4: string;
  environment: Environment;
  scopes: Scope[];
  agent_id: string | null;
  expires_at: string | null;
  /** Whether requests must be signed. The secret, sealed, is kept beside the log, never in an event. */
  signing: boolean;
  claimed: boolean;
  /** Set on the new key of a roll. */
  rolled_from: string | null;
}

export type ApiKeyCommand =
  | Readonly<{ type: 'CreateKey'; data: KeyDescription & { now: string } }>
  | Readonly<{ type: 'UpdateKey'; data: { name?: string | null; scopes?: Scope[]; expires_at?: string | null; now: string } }>
  | Readonly<{ type: 'RevokeKey'; data: { reason: 'requested' | 'agent_revoked'; now: string } }>
  | Readonly<{ type: 'RollKey'; data: { new_key_id: string; grace_period_seconds: number; now: string } }>
  | Readonly<{ type: 'LinkKey'; data: { to_org_id: string; now: string } }>;

export type ApiKeyEvent =
  | Readonly<{ type: 'KeyCreated'; data: KeyDescription & { created_at: string } }>
  | Readonly<{
      type: 'KeyUpdated';
      data: { key_id: string; name?: string | null; scopes?: Scope[]; expires_at?: string | null; updated_at: string };
    }>
  | Readonly<{ type: 'KeyRevoked'; data: { key_id: string; reason: 'requested' | 'agent_revoked'; revoked_at: string } }>
  | Readonly<{ type: 'KeyRolled'; data: { key_id: string; new_key_id: string; expires_at: string; rolled_at: string } }>
  | Readonly<{ type: 'KeyLinked'; data: { key_id: string; from_org_id: string; to_org_id: string; linked_at: string } }>;

export type ApiKeyState =
  | { status: 'absent' }
  | ({ status: 'active' | 'revoked'; created_at: string; revoked_at: string | null } & KeyDescription);

export const apiKeyStream = (keyId: string) => `key-${keyId}`;

export const MAX_GRACE_PERIOD_SECONDS = 604_800;

function requirePresent(state: ApiKeyState): Exclude<ApiKeyState, { status: 'absent' }> {
  if (state.status === 'absent') throw new DomainError('NOT_FOUND', 'no such API key');
  return state;
}

function expired(state: { expires_at: string | null }, now: string): boolean {
  return state.expires_at !== null && state.expires_at <= now;
}

export const apiKeyDecider: Decider<ApiKeyCommand, ApiKeyEvent, ApiKeyState> = {
  initialState: () => ({ status: 'absent' }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateKey': {
        if (state.status !== 'absent') throw new DomainError('CONFLICT', `key ${command.data.key_id} exists`);
        const { now, ...key } = command.data;
        if (key.scopes.length === 0) {
          throw new DomainError('VALIDATION_ERROR', 'a key needs at least one scope', {
            fields: [{ field: 'scopes', message: 'must not be empty' }],
          });
        }
        if (key.expires_at !== null && key.expires_at <= now) {
          throw new DomainError('VALIDATION_ERROR', 'expires_at must be in the future', {
            fields: [{ field: 'expires_at', message: 'must be in the future' }],
          });
        }
        return [{ type: 'KeyCreated', data: { ...key, created_at: now } }];
      }
      case 'UpdateKey': {
        const key = requirePresent(state);
        if (key.status === 'revoked') throw new DomainError('CONFLICT', 'a revoked key cannot be changed');
        const { now, ...changes } = command.data;
        if (changes.scopes !== undefined && changes.scopes.length === 0) {
          throw new DomainError('VALIDATION_ERROR', 'a key needs at least one scope', {
            fields: [{ field: 'scopes', message: 'must not be empty' }],
          });
        }
        if (changes.expires_at != null && changes.expires_at <= now) {
          throw new DomainError('VALIDATION_ERROR', 'expires_at must be in the future', {
            fields: [{ field: 'expires_at', message: 'must be in the future' }],
          });
        }
        return [{ type: 'KeyUpdated', data: { key_id: key.key_id, ...changes, updated_at: now } }];
      }
      case 'RevokeKey': {
        const key = requirePresent(state);
        // Revoking again returns the same result and records nothing new.
        if (key.status === 'revoked') return [];
        return [{ type: 'KeyRevoked', data: { key_id: key.key_id, reason: command.data.reason, revoked_at: command.data.now } }];
      }
      case 'RollKey': {
        const key = requirePresent(state);
        const { now, grace_period_seconds, new_key_id } = command.data;
        if (key.status === 'revoked') throw new DomainError('CONFLICT', 'a revoked key cannot be rolled');
        if (expired(key, now)) throw new DomainError('CONFLICT', 'an expired key cannot be rolled');
        const graceEnds = new Date(Date.parse(now) + grace_period_seconds * 1000).toISOString();
        // The old key never outlives its own original expiry.
        const expiresAt = key.expires_at !== null && key.expires_at < graceEnds ? key.expires_at : graceEnds;
        return [{ type: 'KeyRolled', data: { key_id: key.key_id, new_key_id, expires_at: expiresAt, rolled_at: now } }];
      }
      case 'LinkKey': {
        const key = requirePresent(state);
        if (key.status === 'revoked') throw new DomainError('NOT_FOUND', 'no such unclaimed API key');
        if (key.claimed) throw new DomainError('CONFLICT', 'this key is already claimed by an organization');
        return [
          {
            type: 'KeyLinked',
            data: { key_id: key.key_id, from_org_id: key.org_id, to_org_id: command.data.to_org_id, linked_at: command.data.now },
          },
        ];
      }
      default:
        return assertNever(command);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'KeyCreated':
        return { status: 'active', revoked_at: null, ...event.data };
      case 'KeyUpdated': {
        if (state.status === 'absent') return state;
        const { key_id: _id, updated_at: _at, ...changes } = event.data;
        return { ...state, ...changes };
      }
      case 'KeyRevoked':
        return state.status === 'absent' ? state : { ...state, status: 'revoked', revoked_at: event.data.revoked_at };
      case 'KeyRolled':
        return state.status === 'absent' ? state : { ...state, expires_at: event.data.expires_at };
      case 'KeyLinked':
        return state.status === 'absent' ? state : { ...state, org_id: event.data.to_org_id, claimed: true };
      default:
        return assertNever(event);
    }
  },
};
