import { Kysely, Transaction, sql } from 'kysely';
import { ChainLookup, ChainRow, Checkpoint, HashedEventFields, RowPlace, VerifyResult, VerifyStart, checkpointSignatureValid, checkpointView, hex, verifyChain } from '@keyledger/audit-domain';
import { checkpointOfRow, listCheckpoints } from './chain.store';
import type { AuditDatabase } from './database';

const PAGE = 5_000;

/**
 * Every events row in log order (transaction_id, position) with its chain link (hash and prev_hash
 * null where there is none yet), a page at a time (keyset on the log-order index), so a million rows
 * never sit in memory at once. Run it inside one REPEATABLE READ transaction: every page then sees
 * the same snapshot of the chain.
 */
export async function* readChainRows(db: Kysely<any> | Transaction<any>, pageSize = PAGE, from: RowPlace = { transaction_id: '0', position: 0 }): AsyncGenerator<ChainRow> {
  let after: RowPlace = from;
  for (;;) {
    const page = await sql<ChainRow>`
      select position, id, stream, stream_version, type, schema_version, data, metadata, org_id, recorded_at,
             transaction_id::text as transaction_id, c.hash, c.prev_hash
      from events left join audit_chain c using (position)
      where (transaction_id, position) > (${after.transaction_id}::xid8, ${after.position}::bigint)
      -- Qualified: a bare name in ORDER BY means the output column first, i.e. the text alias above,
      -- which sorts '1002' before '746' once transaction ids gain a digit.
      order by events.transaction_id, events.position
      limit ${pageSize}`.execute(db);
    yield* page.rows;
    if (page.rows.length < pageSize) return;
    const last = page.rows[page.rows.length - 1];
    after = { transaction_id: last.transaction_id, position: last.position };
  }
}

/** Break diagnosis straight from the tables (scans; they run once, after a break was found). */
export function postgresChainLookup(db: Kysely<any> | Transaction<any>): ChainLookup {
  const one = async (column: 'hash' | 'prev_hash', value: Buffer) => {
    const result = await sql<RowPlace>`
      select e.position, e.transaction_id::text as transaction_id
      from audit_chain c join events e using (position) where c.${sql.ref(column)} = ${value}
      order by e.transaction_id, e.position limit 1`.execute(db);
    return result.rows[0] ?? null;
  };
  return {
    successorOf: (hash) => one('prev_hash', hash),
    rowWithHash: (hash) => one('hash', hash),
    missingPositionBetween: async (after, before) => {
      if (before - after < 2) return null;
      const result = await sql<{ p: number }>`
        select p::bigint as p from generate_series(${after + 1}::bigint, ${before - 1}::bigint) as p
        where not exists (select 1 from events where position = p) order by p limit 1`.execute(db);
      return result.rows[0]?.p ?? null;
    },
  };
}

export interface VerifyStoredOptions {
  publicKey?: Buffer;
  /** Not intact unless a checkpoint signed by `publicKey` covers the chain (what the CLI asks for when a key is pinned). */
  requireSignature?: boolean;
  /** Not intact if more chained events than this follow the latest signed checkpoint (see VerifyOptions). */
  maxUnsignedEvents?: number;
  onProgress?: (rows: number) => void;
}

/** Recomputes the whole chain from the raw rows and checks every checkpoint, in one snapshot (what the CLI runs). */
export async function verifyStoredChain(db: Kysely<any>, options: VerifyStoredOptions = {}): Promise<VerifyResult> {
  // Read-only, so it takes no transaction id and holds back no gap-safe log reader.
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
    const checkpoints = await listCheckpoints(trx);
    return verifyChain(readChainRows(trx), { checkpoints, publicKey: options.publicKey, requireSignature: options.requireSignature, maxUnsignedEvents: options.maxUnsignedEvents, lookup: postgresChainLookup(trx), onProgress: options.onProgress });
  });
}

/** A verified checkpoint to start the next verification from, with its id among the checkpoints. */
interface VerifiedCheckpoint extends VerifyStart {
  checkpoint_id: number;
}

/**
 * The stored verification progress, if it still holds: its checkpoint is there, unchanged and
 * validly signed by `publicKey`, and the row it signs still has that hash at that place in the log.
 * Anything else (no progress yet, or progress that no longer fits) means starting from the genesis.
 */
async function trustedProgress(trx: Transaction<AuditDatabase>, publicKey: Buffer): Promise<VerifiedCheckpoint | null> {
  const progress = await trx.selectFrom('audit_verification').selectAll().executeTakeFirst();
  if (!progress) return null;
  const row = await trx.selectFrom('audit_checkpoints').selectAll().where('id', '=', progress.checkpoint_id).executeTakeFirst();
  if (!row || row.position !== progress.position || !row.root_hash.equals(progress.root_hash)) return null;
  const checkpoint = checkpointOfRow(row);
  if (!checkpoint.public_key.equals(publicKey) || !checkpointSignatureValid(checkpoint, publicKey)) return null;
  const signed = await sql<{ transaction_id: string; hash: Buffer | null }>`
    select e.transaction_id::text as transaction_id, c.hash
    from events e left join audit_chain c using (position) where e.position = ${progress.position}`.execute(trx);
  const event = signed.rows[0];
  if (!event || event.transaction_id !== progress.transaction_id || !event.hash || !event.hash.equals(checkpoint.root)) return null;
  return { checkpoint_id: progress.checkpoint_id, checkpoint, transaction_id: progress.transaction_id, events_verified: progress.events_verified };
}

/**
 * What `GET /v1/audit/verify` runs: the chain is recomputed from the raw rows only after the newest
 * checkpoint an earlier call verified (and checked again at that checkpoint), so it answers in time
 * proportional to what was appended since, not to the whole log. Every checkpoint passed on the way
 * is checked against `publicKey`; once the walk is intact the newest one becomes the next start.
 * Tampering with events before that checkpoint is the CLI's to find (`keyledger audit verify`
 * recomputes everything); progress that no longer fits the log falls back to a full recomputation.
 */
export async function verifyStoredChainSinceVerified(db: Kysely<any>, options: { publicKey: Buffer }): Promise<VerifyResult> {
  const outcome = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const start = await trustedProgress(trx as Transaction<AuditDatabase>, options.publicKey);
      const rows = await (trx as Transaction<AuditDatabase>)
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('id', '>', start?.checkpoint_id ?? 0)
        .orderBy('id')
        .execute();
      const ids = new Map<Checkpoint, number>();
      const checkpoints = rows.map((row) => {
        const checkpoint = checkpointOfRow(row);
        ids.set(checkpoint, row.id);
        return checkpoint;
      });
      let reached: VerifiedCheckpoint | null = null;
      const result = await verifyChain(readChainRows(trx, PAGE, start ? { position: start.checkpoint.position, transaction_id: start.transaction_id } : undefined), {
        checkpoints,
        start: start ?? undefined,
        publicKey: options.publicKey,
        lookup: postgresChainLookup(trx),
        onCheckpoint: (checkpoint, place, eventsVerified) => {
          const id = ids.get(checkpoint) as number;
          if (!reached || id > reached.checkpoint_id) reached = { checkpoint_id: id, checkpoint, transaction_id: place.transaction_id, events_verified: eventsVerified };
        },
      });
      return { result, reached: reached as VerifiedCheckpoint | null };
    });
  const { result, reached } = outcome;
  if (result.ok && reached) {
    const progress = {
      checkpoint_id: reached.checkpoint_id,
      position: reached.checkpoint.position,
      transaction_id: reached.transaction_id,
      root_hash: reached.checkpoint.root,
      events_verified: reached.events_verified,
      verified_at: new Date(),
    };
    // Only forwards: a slower concurrent call never moves the start back.
    await (db as Kysely<AuditDatabase>)
      .insertInto('audit_verification')
      .values({ id: true, ...progress })
      .onConflict((oc) => oc.column('id').doUpdateSet(progress).where('audit_verification.checkpoint_id', '<', reached.checkpoint_id))
      .execute();
  }
  return result;
}

/** One line of an export: an event with its chain fields. */
export interface ExportedEvent extends Omit<HashedEventFields, 'recorded_at'> {
  recorded_at: string;
  transaction_id: string;
  hash: string | null;
  prev_hash: string | null;
}

export function exportedEvent(row: ChainRow): ExportedEvent {
  return {
    position: row.position,
    id: row.id,
    stream: row.stream,
    stream_version: row.stream_version,
    type: row.type,
    schema_version: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    org_id: row.org_id,
    recorded_at: new Date(row.recorded_at).toISOString(),
    transaction_id: row.transaction_id,
    hash: hex(row.hash),
    prev_hash: hex(row.prev_hash),
  };
}

/**
 * The whole log as NDJSON lines, in log order, then one `{"checkpoint": …}` line per checkpoint:
 * everything an auditor needs to verify offline against the pinned key. `write` may wait (backpressure).
 */
export async function exportLog(db: Kysely<any>, write: (line: string) => Promise<void> | void): Promise<{ events: number; checkpoints: number }> {
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
    let events = 0;
    for await (const row of readChainRows(trx)) {
      await write(JSON.stringify(exportedEvent(row)) + '\n');
      events++;
    }
    const checkpoints = await listCheckpoints(trx);
    for (const checkpoint of checkpoints) await write(JSON.stringify({ checkpoint: checkpointView(checkpoint) }) + '\n');
    return { events, checkpoints: checkpoints.length };
  });
}
