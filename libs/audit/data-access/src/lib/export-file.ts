import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ChainLookup, ChainRow, Checkpoint, CheckpointView, RowPlace, VerifyResult, checkpointFromView, verifyChain } from '@keyledger/audit-domain';
import type { ExportedEvent } from './stored-chain';

type Line = { kind: 'event'; row: ChainRow } | { kind: 'checkpoint'; checkpoint: Checkpoint };

function parseLine(text: string, lineNumber: number): Line {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`line ${lineNumber}: not JSON`);
  }
  if (value && typeof value === 'object' && 'checkpoint' in value) {
    return { kind: 'checkpoint', checkpoint: checkpointFromView((value as { checkpoint: CheckpointView }).checkpoint) };
  }
  const e = value as ExportedEvent;
  if (typeof e.position !== 'number' || typeof e.stream !== 'string') throw new Error(`line ${lineNumber}: not an exported event`);
  return {
    kind: 'event',
    row: { ...e, hash: e.hash === null ? null : Buffer.from(e.hash, 'hex'), prev_hash: e.prev_hash === null ? null : Buffer.from(e.prev_hash, 'hex') },
  };
}

async function* lines(path: string): AsyncGenerator<Line> {
  const input = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of input) {
    n++;
    if (text.trim() !== '') yield parseLine(text, n);
  }
}

async function* eventsOf(path: string): AsyncGenerator<ChainRow> {
  for await (const line of lines(path)) if (line.kind === 'event') yield line.row;
}

/** Break diagnosis over the file: a rescan per question (only after a break was found). */
function fileLookup(path: string): ChainLookup {
  const find = async (match: (row: ChainRow) => boolean): Promise<RowPlace | null> => {
    for await (const row of eventsOf(path)) if (match(row)) return { position: row.position, transaction_id: row.transaction_id };
    return null;
  };
  return {
    successorOf: (hash) => find((row) => row.prev_hash?.equals(hash) ?? false),
    rowWithHash: (hash) => find((row) => row.hash?.equals(hash) ?? false),
    missingPositionBetween: async (after, before) => {
      const present = new Set<number>();
      for await (const row of eventsOf(path)) if (row.position > after && row.position < before) present.add(row.position);
      for (let p = after + 1; p < before; p++) if (!present.has(p)) return p;
      return null;
    },
  };
}

/**
 * Verifies an export offline: the chain from its lines, each checkpoint against the pinned key.
 * A file is anyone's to write, so it is intact only if a checkpoint signed by that key covers it.
 */
export async function verifyExportFile(path: string, publicKey: Buffer, onProgress?: (rows: number) => void, maxUnsignedEvents?: number): Promise<VerifyResult> {
  const checkpoints: Checkpoint[] = [];
  for await (const line of lines(path)) if (line.kind === 'checkpoint') checkpoints.push(line.checkpoint);
  return verifyChain(eventsOf(path), { checkpoints, publicKey, requireSignature: true, maxUnsignedEvents, lookup: fileLookup(path), onProgress });
}
