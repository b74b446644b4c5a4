import type { ColumnType, Generated, Selectable } from 'kysely';

/** JSON columns: written as objects, read back as the same shape. */
export type Json<T = Record<string, unknown>> = ColumnType<T, T | string, T | string>;

export interface EventsTable {
  position: Generated<number>;
  id: Generated<string>;
  stream: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: Json;
  metadata: Json<EventMetadata>;
  org_id: string | null;
  recorded_at: Generated<Date>;
  /** xid8 of the appending transaction; a decimal string, since it can exceed 2^53. */
  transaction_id: Generated<string>;
  hash: Buffer | null;
  prev_hash: Buffer | null;
}

export interface ProcessorCheckpointsTable {
  name: string;
  transaction_id: string;
  position: number;
  updated_at: Generated<Date>;
}

export interface EventStoreDatabase {
  events: EventsTable;
  processor_checkpoints: ProcessorCheckpointsTable;
}

/** Who did it: on every event, never a secret. */
export interface EventMetadata {
  request_id: string | null;
  actor_key_id: string | null;
  agent_id: string | null;
  ip: string | null;
  environment?: string | null;
  causation_id?: string | null;
  correlation_id?: string | null;
  idempotency_key?: string | null;
  [extra: string]: unknown;
}

export type EventRow = Selectable<EventsTable>;
