import type { Environment, Scope } from '@keyledger/contracts';
import { assertNever, Decider } from './decider';
import { DomainError } from './domain-error';

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
  signing: boolean;
  claimed: boolean;
}

export type ApiKeyCommand = Readonly<{
  type: 'CreateKey';
  data: KeyDescription & { now: string };
}>;

export type ApiKeyEvent = Readonly<{
  type: 'KeyCreated';
  data: KeyDescription & { created_at: string };
}>;

export type ApiKeyState =
  | { status: 'absent' }
  | ({ status: 'active'; created_at: string } & KeyDescription);

export const apiKeyStream = (keyId: string) => `key-${keyId}`;

export const apiKeyDecider: Decider<ApiKeyCommand, ApiKeyEvent, ApiKeyState> = {
  initialState: () => ({ status: 'absent' }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateKey': {
        if (state.status !== 'absent') throw new DomainError('CONFLICT', `key ${command.data.key_id} exists`);
        const { now, ...key } = command.data;
        if (key.scopes.length === 0) throw new DomainError('VALIDATION_ERROR', 'a key needs at least one scope');
        if (key.expires_at !== null && key.expires_at <= now) {
          throw new DomainError('VALIDATION_ERROR', 'expires_at must be in the future', {
            fields: [{ field: 'expires_at', message: 'must be in the future' }],
          });
        }
        return [{ type: 'KeyCreated', data: { ...key, created_at: now } }];
      }
      default:
        return assertNever(command.type);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'KeyCreated':
        return { status: 'active', ...event.data };
      default:
        return assertNever(event.type);
    }
  },
};
