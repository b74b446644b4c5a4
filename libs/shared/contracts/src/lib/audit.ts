import type { Caller } from './resources';

/** audit-attestation's request/reply subjects. */
export const AuditSubjects = {
  publicKey: 'audit.public-key',
  verify: 'audit.verify',
  createAttestation: 'audit.attestations.create',
} as const;

/**
 * An attestation: what an agent claimed, the spend it is about, and where that spend differed from
 * the claim. `spend_id`/`mismatches` come from the attestation itself (made for an existing spend)
 * or from the spend made under it (`POST /v1/spends` with an `attestation`).
 */
export interface AttestationView {
  id: string;
  agent_id: string;
  spend_id: string | null;
  statement: Record<string, unknown>;
  mismatches: { field: string; claimed: unknown; actual: unknown }[];
  /** The chain hash of the event that recorded it; null until the chainer reaches it. */
  hash: string | null;
  position: number;
  created_at: string;
}

/** The gateway has checked that the agent is the caller's (and the caller's own, for an agent key). */
export interface CreateAttestationRequest {
  caller: Caller;
  agent_id: string;
  statement: Record<string, unknown>;
  /** The spend attested, as the gateway found it (the caller's, of the same agent); null for a claim made before spending. */
  spend: { id: string; amount: number; merchant: string | null } | null;
}

/** `GET /v1/audit/public-key`: the key every checkpoint is signed with, to pin. */
export interface AuditPublicKeyView {
  algorithm: 'Ed25519';
  /** Raw 32-byte public key, base64: what `keyledger audit verify --public-key` takes. */
  public_key: string;
  public_key_pem: string;
}

export interface AuditCheckpointView {
  position: number;
  root: string;
  signature: string;
  public_key: string;
  signed_at: string;
}

/** `GET /v1/audit/verify`. */
export type AuditVerifyView =
  | {
      ok: true;
      events_verified: number;
      events_pending: number;
      head: { position: number; hash: string } | null;
      checkpoint: AuditCheckpointView | null;
    }
  | {
      ok: false;
      first_bad_position: number;
      /** `unsigned` (no signed checkpoint) comes only from the CLI's verification with a pinned key, never from this API. */
      reason: 'altered' | 'removed' | 'inserted' | 'reordered' | 'bad_signature' | 'unsigned';
      detail: string;
      events_verified: number;
    };

export interface AuditVerifyRequest {
  caller: Caller;
}
