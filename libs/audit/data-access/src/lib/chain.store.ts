import type { KeyObject } from 'node:crypto';
import { Kysely, Transaction, sql } from 'kysely';
import { Canonicalize, Checkpoint, GENESIS_HASH, canonicalJson, chainHash, signCheckpoint } from '@keyledger/audit-domain';
import type { EventRow } from '@keyledger/event-store';
import type { AuditDatabase, CheckpointRow } from './database';

/**
 * Chains one batch of events, handed over in log order by the chainer's LogProcessor in the
 * transaction that also moves its checkpoint: each event gets prev_hash (the head so far) and
 * hash = SHA-256(prev_hash ‖ canonical JSON), in one UPDATE per batch (the only one the events
 * trigger allows).
 */
export async function chainEvents(trx: Transaction<any>, events: readonly EventRow[], canonicalize: Canonicalize = canonicalJson): Promise<void> {
  if (events.length === 0) return;
  const db = trx as Transaction<AuditDatabase>;
  const head = await db.selectFrom('audit_chain_head').selectAll().forUpdate().executeTakeFirst();
  let prev = head?.hash ?? GENESIS_HASH;
  const positions: number[] = [];
  const hashes: Buffer[] = [];
  const prevHashes: Buffer[] = [];
  for (const event of events) {
    const hash = chainHash(prev, event, canonicalize);
    positions.push(event.position);
    hashes.push(hash);
    prevHashes.push(prev);
    prev = hash;
  }
  // Three array parameters whatever the batch size: one short statement to parse, one round trip.
  await sql`
    update events e set hash = v.hash, prev_hash = v.prev_hash
    from unnest(${positions}::bigint[], ${hashes}::bytea[], ${prevHashes}::bytea[]) as v(position, hash, prev_hash)
    where e.position = v.position`.execute(db);
  const last = events[events.length - 1];
  await sql`
    insert into audit_chain_head (id, position, transaction_id, hash, events_chained)
    values (true, ${last.position}, ${last.transaction_id}::xid8, ${prev}, ${events.length})
    on conflict (id) do update set position = excluded.position, transaction_id = excluded.transaction_id,
      hash = excluded.hash, events_chained = audit_chain_head.events_chained + ${events.length}`.execute(db);
}

export interface CheckpointPolicy {
  /** Sign once this many events were chained since the last checkpoint. */
  everyEvents: number;
  /** Or once this long has passed since the last one, if the head moved. */
  everyMs: number;
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
  const last = await db.selectFrom('audit_checkpoints').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
  if (last && last.position === head.position && last.root_hash.equals(head.hash)) return null;
  const since = head.events_chained - (last?.events_chained ?? 0);
  const due = since >= policy.everyEvents || !last || now.getTime() - last.signed_at.getTime() >= policy.everyMs;
  if (!due) return null;
  const checkpoint = signCheckpoint(key, head.position, head.hash, now);
  await db
    .insertInto('audit_checkpoints')
    .values({
      position: checkpoint.position,
      root_hash: checkpoint.root,
      signature: checkpoint.signature,
      public_key: checkpoint.public_key,
      signed_at: checkpoint.signed_at,
      events_chained: head.events_chained,
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
  const row = await (db as Kysely<AuditDatabase>).selectFrom('audit_checkpoints').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
  return row ? checkpointOfRow(row) : null;
}
