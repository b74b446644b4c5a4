import type { KeyObject } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { Kysely } from 'kysely';
import { AuditPublicKeyView, AuditSubjects, AuditVerifyView, CommandMessage, CreateAttestationRequest } from '@keyledger/contracts';
import { publicKeyPem, rawPublicKey } from '@keyledger/audit-domain';
import { verifyStoredChainSinceVerified } from '@keyledger/audit-data-access';
import { DB } from '@keyledger/nest';
import { AUDIT_SIGNING_KEY } from './audit-signing-key';
import { AttestationsService } from './attestations.service';

/** Audit queries that need the chain's key or a full recomputation, over NATS. */
@Controller()
export class AuditController {
  constructor(
    @Inject(DB) private readonly db: Kysely<any>,
    @Inject(AUDIT_SIGNING_KEY) private readonly key: KeyObject,
    private readonly attestations: AttestationsService,
  ) {}

  @MessagePattern(AuditSubjects.createAttestation)
  createAttestation(@Payload() m: CommandMessage<CreateAttestationRequest>) {
    return this.attestations.record(m.data, m.meta);
  }

  @MessagePattern(AuditSubjects.publicKey)
  publicKey(): AuditPublicKeyView {
    const raw = rawPublicKey(this.key);
    return { algorithm: 'Ed25519', public_key: raw.toString('base64'), public_key_pem: publicKeyPem(raw) };
  }

  /**
   * Recomputes the global chain from the raw rows after the newest checkpoint already verified, and
   * checks every checkpoint since against our own key (the CLI recomputes the whole chain).
   */
  @MessagePattern(AuditSubjects.verify)
  async verify(): Promise<AuditVerifyView> {
    const result = await verifyStoredChainSinceVerified(this.db, { publicKey: rawPublicKey(this.key) });
    if (!result.ok) return result;
    return { ok: true, events_verified: result.events_verified, events_pending: result.events_pending, head: result.head, checkpoint: result.checkpoint };
  }
}
