import type { Generated, Selectable } from 'kysely';
import type { EventStoreDatabase } from '@keyledger/event-store';

export interface AuditChainHeadTable {
  id: Generated<boolean>;
  position: number;
  transaction_id: string;
  hash: Buffer;
  events_chained: number;
}

/** One chained event: its hash and the hash before it in log order (the chainer inserts these, never changes them). */
export interface AuditChainTable {
  position: number;
  hash: Buffer;
  prev_hash: Buffer;
}

export interface AuditCheckpointsTable {
  id: Generated<number>;
  position: number;
  root_hash: Buffer;
  signature: Buffer;
  public_key: Buffer;
  signed_at: Date;
  events_chained: number;
}

/** The newest checkpoint the service verified from the raw rows (incremental GET /v1/audit/verify). */
export interface AuditVerificationTable {
  id: Generated<boolean>;
  checkpoint_id: number;
  position: number;
  transaction_id: string;
  root_hash: Buffer;
  events_verified: number;
  verified_at: Date;
}

export interface AuditDatabase extends EventStoreDatabase {
  audit_chain_head: AuditChainHeadTable;
  audit_chain: AuditChainTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_verification: AuditVerificationTable;
}

export type CheckpointRow = Selectable<AuditCheckpointsTable>;
export type ChainHeadRow = Selectable<AuditChainHeadTable>;
