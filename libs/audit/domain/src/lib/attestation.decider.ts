import { randomInt } from 'node:crypto';
import { assertNever, AttestationMismatch, attestationMismatches, Decider, DomainError } from '@keyledger/domain';

/** Where a spend differed from what the agent claimed. */
export type Mismatch = AttestationMismatch;

/** The spend an attestation is about, as the spends read model has it when the attestation is made. */
export interface AttestedSpend {
  id: string;
  amount: number;
  merchant: string | null;
}

export type RecordAttestation = Readonly<{
  type: 'RecordAttestation';
  data: { attestation_id: string; org_id: string; environment: 'live' | 'test'; agent_id: string; spend: AttestedSpend | null; statement: Record<string, unknown>; now: string };
}>;
export type AttestationCommand = RecordAttestation;

export type AttestationEvent = Readonly<{
  type: 'AttestationRecorded';
  data: {
    attestation_id: string;
    org_id: string;
    environment: 'live' | 'test';
    agent_id: string;
    spend_id: string | null;
    statement: Record<string, unknown>;
    mismatches: Mismatch[];
    recorded_at: string;
  };
}>;

export type AttestationState = { status: 'absent' } | { status: 'recorded'; attestation_id: string };

export const attestationStream = (attestationId: string) => `attestation-${attestationId}`;

const MAX_STATEMENT_BYTES = 16_384;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `att_` and 22 base62 characters from the CSPRNG. */
export function newAttestationId(): string {
  let id = 'att_';
  for (let i = 0; i < 22; i++) id += BASE62[randomInt(62)];
  return id;
}

/** An attestation records what an agent claimed, once; it is never changed afterwards. */
export const attestationDecider: Decider<AttestationCommand, AttestationEvent, AttestationState> = {
  initialState: () => ({ status: 'absent' }),

  decide(command, state) {
    switch (command.type) {
      case 'RecordAttestation': {
        if (state.status !== 'absent') throw new DomainError('CONFLICT', `attestation ${command.data.attestation_id} exists`);
        const { statement } = command.data;
        if (statement === null || typeof statement !== 'object' || Array.isArray(statement)) {
          throw new DomainError('VALIDATION_ERROR', 'statement must be an object', { fields: [{ field: 'statement', message: 'must be an object' }] });
        }
        if (Buffer.byteLength(JSON.stringify(statement)) > MAX_STATEMENT_BYTES) {
          throw new DomainError('VALIDATION_ERROR', 'statement is too large', { fields: [{ field: 'statement', message: 'must be at most 16 KiB of JSON' }] });
        }
        const { now, spend, ...rest } = command.data;
        // Attesting an existing spend: the claim is compared with what was actually spent, once, here.
        const mismatches = spend === null ? [] : attestationMismatches(statement, spend);
        return [{ type: 'AttestationRecorded', data: { ...rest, spend_id: spend?.id ?? null, mismatches, recorded_at: now } }];
      }
      default:
        return assertNever(command.type);
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'AttestationRecorded':
        return { status: 'recorded', attestation_id: event.data.attestation_id };
      default:
        return assertNever(event.type);
    }
  },
};
