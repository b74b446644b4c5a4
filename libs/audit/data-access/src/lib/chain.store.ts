import type { KeyObject } from 'node:crypto';
import { Kysely, Transaction, sql } from 'kysely';
import { Canonicalize, Checkpoint, GENESIS_HASH, canonicalJson, chainHash, signCheckpoint } from '@keyledger/audit-domain';
import type { EventRow } from '@keyledger/event-store';
import type { AuditDatabase, CheckpointRow } from './database';

/**
 * Chains one batch of events, handed over in log order by the chainer's LogProcessor in the
 * transaction that also moves its checkpoint: each event gets a link in audit_chain with prev_hash
 * (the head so far) and hash = SHA-256(prev_hash ‖ canonical JSON). The events rows are not touched.
 */
export async function chainEvents(trx: Transaction<any>, events: readonly EventRow[], canonicalize: Canonicalize = canonicalJson): Promise<void> {
  if (events.length === 0) return;
  const db = trx as Transaction<AuditDatabase>;
  const head = await db.selectFrom('audit_chain_head').selectAll().forUpdate().executeTakeFirst();
  let prev = head?.hash ?? GENESIS_HASH;
  // The hashes back to back after the head's: link i's prev_hash is the 32 bytes before its hash.
  const hashes = Buffer.allocUnsafe((events.length + 1) * 32);
  prev.copy(hashes, 0);
  const positions: number[] = [];
  events.forEach((event, i) => {
    prev = chainHash(prev, event, canonicalize);
    prev.copy(hashes, (i + 1) * 32);
    positions.push(event.position);
  });
  // Two parameters whatever the batch size (the hashes go as one binary value): one short statement, one round trip.
  await sql`
    insert into audit_chain (position, hash, prev_hash)
    select v.position, substring(c.hashes from v.n::int * 32 + 1 for 32), substring(c.hashes from v.n::int * 32 - 31 for 32)
    from (select ${hashes}::bytea as hashes) c, unnest(${positions}::bigint[]) with ordinality as v(position, n)`.execute(db);
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
