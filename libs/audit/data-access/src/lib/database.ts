import type { Generated, Selectable } from 'kysely';
import type { EventStoreDatabase } from '@keyledger/event-store';

export interface AuditChainHeadTable {
  id: Generated<boolean>;
  position: number;
  transaction_id: string;
  hash: Buffer;
  events_chained: number;
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

export interface AuditDatabase extends EventStoreDatabase {
  audit_chain_head: AuditChainHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
}

export type CheckpointRow = Selectable<AuditCheckpointsTable>;
