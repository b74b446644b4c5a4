import type { KeyObject } from 'node:crypto';
import { Kysely, Transaction, sql } from 'kysely';
import { ChainHasher, Checkpoint, GENESIS_HASH, StoredEventText, signCheckpoint } from '@keyledger/audit-domain';
import { LOG_START, LogCheckpoint, LogRow, readLogAfter } from '@keyledger/event-store';
import type { AuditDatabase, ChainHeadRow, CheckpointRow } from './database';

/** An events row as the chainer reads it (see StoredEventText) with its place in log order. */
export type ChainSourceRow = StoredEventText & LogRow;

/**
 * The chainer's select list: the hashed columns, with `data` and `metadata` as JSON text (the
 * hasher parses metadata only when it differs from the row before) and `recorded_at` formatted by
 * Postgres as the hashed document has it — ISO 8601 in UTC, milliseconds truncated, as a JavaScript
 * Date of the column would give it, whatever the session's time zone.
 */
export const CHAIN_SOURCE_COLUMNS = sql`position, id, stream, stream_version, type, schema_version,
  data::text as data_json, metadata::text as metadata_json, org_id,
  to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as recorded_at_iso, transaction_id`;

/** The next events to chain after `after`, in gap-safe log order (readLogAfter). */
export function readChainSource(db: Kysely<any>, after: LogCheckpoint, limit: number): Promise<ChainSourceRow[]> {
  return readLogAfter<ChainSourceRow>(db, after, limit, CHAIN_SOURCE_COLUMNS);
}

/** The chain's head as a place in log order, where chaining goes on (LOG_START while nothing is chained). */
export async function chainHeadPlace(db: Kysely<any>): Promise<LogCheckpoint> {
  const head = await (db as Kysely<AuditDatabase>).selectFrom('audit_chain_head').select(['position', 'transaction_id']).executeTakeFirst();
  return head ? { transactionId: String(head.transaction_id), position: head.position } : LOG_START;
}

/** What chainEvents wrote: the new head, and each chained event's position and hash in order. */
export interface ChainedBatch {
  /** The head after the batch, locked until the transaction ends. */
  head: ChainHeadRow;
  positions: readonly number[];
  /** The head's hash before the batch, then each event's hash: 32 bytes each. */
  hashes: Buffer;
}

/**
 * Chains one batch of events, handed over in log order by the chainer's LogProcessor in the
 * transaction that also moves its checkpoint: each event gets a link in audit_chain with prev_hash
 * (the head so far) and hash = SHA-256(prev_hash ‖ canonical JSON). The events rows are not touched.
 * Returns what it wrote for signBatchCheckpoints (null if there were no events).
 */
export async function chainEvents(trx: Transaction<any>, events: readonly ChainSourceRow[], hasher = new ChainHasher()): Promise<ChainedBatch | null> {
  if (events.length === 0) return null;
  const db = trx as Transaction<AuditDatabase>;
  const head = await db.selectFrom('audit_chain_head').selectAll().forUpdate().executeTakeFirst();
  let prev = head?.hash ?? GENESIS_HASH;
  // The hashes back to back after the head's: link i's prev_hash is the 32 bytes before its hash.
  const hashes = Buffer.allocUnsafe((events.length + 1) * 32);
  prev.copy(hashes, 0);
  const positions: number[] = [];
  events.forEach((event, i) => {
    prev = hasher.hash(prev, event);
    prev.copy(hashes, (i + 1) * 32);
    positions.push(event.position);
  });
  // Two parameters whatever the batch size (the hashes go as one binary value): one short statement, one round trip.
  await sql`
    insert into audit_chain (position, hash, prev_hash)
    select v.position, substring(c.hashes from v.n::int * 32 + 1 for 32), substring(c.hashes from v.n::int * 32 - 31 for 32)
    from (select ${hashes}::bytea as hashes) c, unnest(${positions}::bigint[]) with ordinality as v(position, n)`.execute(db);
  const last = events[events.length - 1];
  const written = await sql<ChainHeadRow>`
    insert into audit_chain_head (id, position, transaction_id, hash, events_chained)
    values (true, ${last.position}, ${last.transaction_id}::xid8, ${prev}, ${events.length})
    on conflict (id) do update set position = excluded.position, transaction_id = excluded.transaction_id,
      hash = excluded.hash, events_chained = audit_chain_head.events_chained + ${events.length}
    returning *`.execute(db);
  return { head: written.rows[0], positions, hashes };
}

export interface CheckpointPolicy {
  /** Sign once this many events were chained since the last checkpoint. */
  everyEvents: number;
  /** Or once this long has passed since the last one, if the head moved. */
  everyMs: number;
}

/**
 * Signs the chain at every event of the batch that completes `everyEvents` events since the last
 * checkpoint — at that event, not at the batch's end, so checkpoints are exactly `everyEvents`
 * events apart however the chainer batches. A chain without any checkpoint yet gets one at its
 * head (or at its N-th events, if it has that many) with its first batch.
 * Returns the checkpoints signed, oldest first.
 */
export async function signBatchCheckpoints(
  trx: Transaction<any>,
  key: KeyObject,
  everyEvents: number,
  now: Date,
  batch: ChainedBatch,
): Promise<Checkpoint[]> {
  const db = trx as Transaction<AuditDatabase>;
  const last = await latestCheckpointRow(db);
  const chainedBefore = batch.head.events_chained - batch.positions.length;
  // The events_chained counts (the head's after that many events) at which a checkpoint is due.
  const due: number[] = [];
  if (last) {
    // Overdue (fewer events per checkpoint than before, or a chain older than its checkpoints): at the batch's first event.
    for (let at = Math.max(last.events_chained + everyEvents, chainedBefore + 1); at <= batch.head.events_chained; at += everyEvents) due.push(at);
  } else {
    for (let at = everyEvents; at <= batch.head.events_chained; at += everyEvents) if (at > chainedBefore) due.push(at);
    if (due.length === 0) due.push(batch.head.events_chained);
  }
  const signed: Checkpoint[] = [];
  for (const eventsChained of due) {
    const index = eventsChained - chainedBefore; // 1-based within the batch
    const hash = Buffer.from(batch.hashes.subarray(index * 32, index * 32 + 32));
    signed.push(await insertCheckpoint(db, key, batch.positions[index - 1], hash, eventsChained, now));
  }
  return signed;
}

/** Signs the chain's head when the policy says it is due; returns the new checkpoint, if any. */
export async function signHeadIfDue(
  trx: Transaction<any>,
  key: KeyObject,
  policy: CheckpointPolicy,
  now: Date,
): Promise<Checkpoint | null> {
  const db = trx as Transaction<AuditDatabase>;
  const head = await db.selectFrom('audit_chain_head').selectAll().forUpdate().executeTakeFirst();
  if (!head) return null;
  const last = await latestCheckpointRow(db);
  if (last && last.position === head.position && last.root_hash.equals(head.hash)) return null;
  const since = head.events_chained - (last?.events_chained ?? 0);
  const due = since >= policy.everyEvents || !last || now.getTime() - last.signed_at.getTime() >= policy.everyMs;
  if (!due) return null;
  return insertCheckpoint(db, key, head.position, head.hash, head.events_chained, now);
}

function latestCheckpointRow(db: Kysely<AuditDatabase>): Promise<CheckpointRow | undefined> {
  return db.selectFrom('audit_checkpoints').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
}

async function insertCheckpoint(db: Kysely<AuditDatabase>, key: KeyObject, position: number, hash: Buffer, eventsChained: number, now: Date): Promise<Checkpoint> {
  const checkpoint = signCheckpoint(key, position, hash, now);
  await db
    .insertInto('audit_checkpoints')
    .values({
      position: checkpoint.position,
      root_hash: checkpoint.root,
      signature: checkpoint.signature,
      public_key: checkpoint.public_key,
      signed_at: checkpoint.signed_at,
      events_chained: eventsChained,
    })
    .execute();
  return checkpoint;
}

export function checkpointOfRow(row: CheckpointRow): Checkpoint {
  return { position: row.position, root: row.root_hash, signature: row.signature, public_key: row.public_key, signed_at: row.signed_at };
}

/** Every checkpoint, oldest first. */
export async function listCheckpoints(db: Kysely<any>): Promise<Checkpoint[]> {
  const rows = await (db as Kysely<AuditDatabase>).selectFrom('audit_checkpoints').selectAll().orderBy('id').execute();
  return rows.map(checkpointOfRow);
}

export async function latestCheckpoint(db: Kysely<any>): Promise<Checkpoint | null> {
  const row = await latestCheckpointRow(db);
  return row ? checkpointOfRow(row) : null;
}
