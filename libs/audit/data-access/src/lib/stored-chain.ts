import { Kysely, Transaction, sql } from 'kysely';
import { ChainLookup, ChainRow, HashedEventFields, RowPlace, VerifyResult, checkpointView, hex, verifyChain } from '@keyledger/audit-domain';
import { listCheckpoints } from './chain.store';

const PAGE = 5_000;

/**
 * Every events row in log order (transaction_id, position), a page at a time (keyset on the
 * log-order index), so a million rows never sit in memory at once. Run it inside one
 * REPEATABLE READ transaction: every page then sees the same snapshot of the chain.
 */
export async function* readChainRows(db: Kysely<any> | Transaction<any>, pageSize = PAGE): AsyncGenerator<ChainRow> {
  let after: RowPlace = { transaction_id: '0', position: 0 };
  for (;;) {
    const page = await sql<ChainRow>`
      select position, id, stream, stream_version, type, schema_version, data, metadata, org_id, recorded_at,
             transaction_id::text as transaction_id, hash, prev_hash
      from events
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

/** Break diagnosis straight from the table (scans; they run once, after a break was found). */
export function postgresChainLookup(db: Kysely<any> | Transaction<any>): ChainLookup {
  const one = async (column: 'hash' | 'prev_hash', value: Buffer) => {
    const result = await sql<RowPlace>`
      select position, transaction_id::text as transaction_id from events where ${sql.ref(column)} = ${value}
      order by events.transaction_id, events.position limit 1`.execute(db);
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
  onProgress?: (rows: number) => void;
}

/** Recomputes the whole chain from the raw rows and checks every checkpoint, in one snapshot. */
export async function verifyStoredChain(db: Kysely<any>, options: VerifyStoredOptions = {}): Promise<VerifyResult> {
  // Read-only, so it takes no transaction id and holds back no gap-safe log reader.
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
    const checkpoints = await listCheckpoints(trx);
    return verifyChain(readChainRows(trx), { checkpoints, publicKey: options.publicKey, lookup: postgresChainLookup(trx), onProgress: options.onProgress });
  });
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
