import { Canonicalize, canonicalJson } from './canonical-json';
import { Checkpoint, CheckpointView, checkpointSignatureValid, checkpointView } from './checkpoint';
import { ChainRow, GENESIS_HASH, chainHash } from './event-hash';

export type TamperKind = 'altered' | 'removed' | 'inserted' | 'reordered' | 'bad_signature' | 'unsigned';

export type VerifyResult =
  | {
      ok: true;
      events_verified: number;
      /** Events after the chained head that the chainer has not reached yet. */
      events_pending: number;
      head: { position: number; hash: string } | null;
      checkpoints_verified: number;
      checkpoint: CheckpointView | null;
      /** Chained events after the latest verified checkpoint (all of them without one): no signature vouches for them yet. */
      events_after_checkpoint: number;
    }
  | { ok: false; first_bad_position: number; reason: TamperKind; detail: string; events_verified: number };

/** Where a row stands in log order, for telling "elsewhere, later" from "earlier". */
export interface RowPlace {
  position: number;
  transaction_id: string;
}

/**
 * Look-ups the verifier needs only once it has found a break, to say what kind of break it is.
 * Implemented over Postgres (indexed or scanning queries) and over an export file (a rescan).
 */
export interface ChainLookup {
  /** A row whose stored prev_hash is `hash` (the chain's true successor of the row with that hash). */
  successorOf(hash: Buffer): Promise<RowPlace | null>;
  /** A row whose stored hash is `hash`. */
  rowWithHash(hash: Buffer): Promise<RowPlace | null>;
  /** The smallest position strictly between the two that no row has, if any. */
  missingPositionBetween(after: number, before: number): Promise<number | null>;
}

/**
 * Where an incremental verification starts: a checkpoint already verified from the raw rows (its
 * row's place in log order and the number of events up to and including it). The walk then covers
 * only the rows after it, with `checkpoints` the ones signed after it.
 */
export interface VerifyStart {
  checkpoint: Checkpoint;
  transaction_id: string;
  events_verified: number;
}

export interface VerifyOptions {
  /** The checkpoints to meet on the walk (with `start`: only those signed after it). */
  checkpoints: readonly Checkpoint[];
  start?: VerifyStart;
  /** Called at each checkpoint the walk verified, with the row's place and the events verified so far (it included). */
  onCheckpoint?: (checkpoint: Checkpoint, place: RowPlace, eventsVerified: number) => void;
  /** The pinned key; without it each checkpoint is checked against the key stored with it. */
  publicKey?: Buffer;
  /**
   * Intact only if the walk met at least one validly signed checkpoint (or started from one): a
   * pinned key that signed nothing proves nothing, since anyone can rechain made-up events from the
   * genesis. Off for the service's own check, where a fresh log has no checkpoint for a few seconds.
   */
  requireSignature?: boolean;
  /**
   * Intact only if at most this many chained events follow the latest signed checkpoint. Anyone who
   * can write the log can append rechained events after it (and drop the checkpoints after an older
   * one); with checkpoints every N events and T seconds, an honest tail is shorter than N plus what
   * T lets through.
   */
  maxUnsignedEvents?: number;
  lookup: ChainLookup;
  canonicalize?: Canonicalize;
  /** Called every so often with the number of rows walked (progress display). */
  onProgress?: (rows: number) => void;
}

const same = (a: Buffer | null, b: Buffer | null) => a !== null && b !== null && a.equals(b);
const later = (a: RowPlace, b: RowPlace) => {
  const ta = BigInt(a.transaction_id);
  const tb = BigInt(b.transaction_id);
  return ta > tb || (ta === tb && a.position > b.position);
};

/**
 * Walks the rows in log order (transaction_id, position), recomputing each hash from the raw
 * columns and the previous hash, and checks every checkpoint met on the way. Stops at the first
 * break and says which position and what kind: altered (a row's content or hash changed),
 * removed (a row missing), inserted (a row the chainer never chained), reordered (rows out of
 * their chained order), bad_signature (a checkpoint not signed by the key), unsigned (no signed
 * checkpoint at all, when `requireSignature` asks for one). Holds one row of
 * look-ahead, so it runs over a million rows in constant memory.
 */
export async function verifyChain(rows: AsyncIterable<ChainRow>, options: VerifyOptions): Promise<VerifyResult> {
  const canonicalize = options.canonicalize ?? canonicalJson;
  const checkpointsAt = new Map<number, Checkpoint[]>();
  for (const c of options.checkpoints) checkpointsAt.set(c.position, [...(checkpointsAt.get(c.position) ?? []), c]);
  const unmatched = new Set(options.checkpoints);

  const start = options.start;
  let prev: Buffer = start?.checkpoint.root ?? GENESIS_HASH;
  let prevPrev: Buffer | null = null;
  let prevRow: Pick<ChainRow, 'position' | 'transaction_id' | 'hash'> | null = start
    ? { position: start.checkpoint.position, transaction_id: start.transaction_id, hash: start.checkpoint.root }
    : null;
  let verified = start?.events_verified ?? 0;
  let pending = 0;
  let firstUnchained: ChainRow | null = null;
  let latestCheckpoint: Checkpoint | null = start?.checkpoint ?? null;
  let eventsSigned = start?.events_verified ?? 0;
  let firstUnsignedPosition: number | null = null;
  let firstPosition: number | null = null;
  let walked = 0;
  const fail = (position: number, reason: TamperKind, detail: string): VerifyResult => ({
    ok: false,
    first_bad_position: position,
    reason,
    detail,
    events_verified: verified,
  });

  const diagnose = async (cur: ChainRow, next: ChainRow | null): Promise<VerifyResult> => {
    const consistent = cur.hash !== null && cur.prev_hash !== null && same(chainHash(cur.prev_hash, cur, canonicalize), cur.hash);
    const after = prevRow ? `after position ${prevRow.position}` : 'at the start of the log';
    if (same(cur.prev_hash, prev)) {
      if (next && same(next.prev_hash, prev)) return fail(cur.position, 'inserted', `event at position ${cur.position} was not chained: the chain goes from position ${prevRow?.position ?? 'start'} straight to position ${next.position}`);
      return fail(cur.position, 'altered', `event at position ${cur.position} does not match its hash: its content or its hash was changed`);
    }
    if (prevRow && prevPrev && same(cur.prev_hash, prevPrev) && consistent) {
      return fail(prevRow.position, 'inserted', `event at position ${prevRow.position} is not part of the chain: position ${cur.position} is chained directly to the event before it`);
    }
    if (next && same(next.prev_hash, prev)) {
      return fail(cur.position, 'inserted', `event at position ${cur.position} is not part of the chain: position ${next.position} is chained directly ${after}`);
    }
    const successor = await options.lookup.successorOf(prev);
    if (successor && later(successor, cur)) {
      return fail(Math.min(cur.position, successor.position), 'reordered', `event at position ${cur.position} appears ${after}, where the chain has position ${successor.position}`);
    }
    if (!consistent) return fail(cur.position, 'altered', `event at position ${cur.position} does not match its hash: its content, hash or prev_hash was changed`);
    const owner = cur.prev_hash ? await options.lookup.rowWithHash(cur.prev_hash) : null;
    if (owner && later(owner, cur)) {
      return fail(Math.min(cur.position, owner.position), 'reordered', `event at position ${cur.position} is chained after position ${owner.position}, which comes later in the log`);
    }
    const missing = await options.lookup.missingPositionBetween(prevRow?.position ?? 0, cur.position);
    if (missing !== null) return fail(missing, 'removed', `the event(s) chained between position ${prevRow?.position ?? 'start'} and position ${cur.position} are gone (position ${missing} is missing)`);
    if (prevRow) return fail(prevRow.position, 'altered', `event at position ${prevRow.position} no longer has the hash that position ${cur.position} was chained to`);
    return fail(cur.position, 'removed', `events before position ${cur.position} are gone`);
  };

  const step = async (cur: ChainRow, next: ChainRow | null): Promise<VerifyResult | null> => {
    if (cur.hash === null) {
      firstUnchained ??= cur;
      pending++;
      return null;
    }
    if (firstUnchained) {
      // The chainer chains the log as a prefix, in order: an unchained row before a chained one was put there later.
      return fail(firstUnchained.position, 'inserted', `event at position ${firstUnchained.position} sits among chained events but was never chained`);
    }
    if (!same(cur.prev_hash, prev) || !same(chainHash(prev, cur, canonicalize), cur.hash)) return diagnose(cur, next);
    for (const checkpoint of checkpointsAt.get(cur.position) ?? []) {
      unmatched.delete(checkpoint);
      if (!checkpoint.root.equals(cur.hash)) {
        return fail(cur.position, 'altered', `the checkpoint at position ${cur.position} signed a different head hash than the log has now`);
      }
      if (options.publicKey && !checkpoint.public_key.equals(options.publicKey)) {
        return fail(cur.position, 'bad_signature', `the checkpoint at position ${cur.position} is signed by another key than the pinned one`);
      }
      if (!checkpointSignatureValid(checkpoint, options.publicKey ?? checkpoint.public_key)) {
        return fail(cur.position, 'bad_signature', `the checkpoint at position ${cur.position} has a signature that does not verify`);
      }
      latestCheckpoint = checkpoint;
      eventsSigned = verified + 1;
      firstUnsignedPosition = null;
      options.onCheckpoint?.(checkpoint, { position: cur.position, transaction_id: cur.transaction_id }, verified + 1);
    }
    if (eventsSigned !== verified + 1) firstUnsignedPosition ??= cur.position;
    prevPrev = prev;
    prev = cur.hash;
    prevRow = cur;
    verified++;
    return null;
  };

  let held: ChainRow | null = null;
  for await (const row of rows) {
    firstPosition ??= row.position;
    if (held) {
      const result = await step(held, row);
      if (result) return result;
    }
    held = row;
    if (++walked % 10_000 === 0) options.onProgress?.(walked);
  }
  if (held) {
    const result = await step(held, null);
    if (result) return result;
  }
  options.onProgress?.(walked);
  for (const checkpoint of unmatched) {
    return fail(checkpoint.position, 'removed', `the checkpoint at position ${checkpoint.position} signs a head that is no longer in the chained log`);
  }
  if (options.requireSignature && !latestCheckpoint) {
    const signedBy = options.publicKey ? 'signed by the pinned key' : 'with a valid signature';
    if (firstPosition === null) return fail(0, 'unsigned', `there are no events and no checkpoint: nothing ${signedBy} to verify`);
    return fail(firstPosition, 'unsigned', `no checkpoint ${signedBy} covers any event: anyone can compute the hashes, only a signature vouches for them`);
  }
  const unsigned = verified - eventsSigned;
  if (options.maxUnsignedEvents !== undefined && unsigned > options.maxUnsignedEvents && firstUnsignedPosition !== null) {
    return fail(
      firstUnsignedPosition,
      'unsigned',
      `${unsigned} chained events from position ${firstUnsignedPosition} on follow the latest signed checkpoint, more than the ${options.maxUnsignedEvents} allowed: no signature vouches for them`,
    );
  }
  const finalRow = prevRow as Pick<ChainRow, 'position' | 'hash'> | null;
  const signed = latestCheckpoint as Checkpoint | null;
  return {
    ok: true,
    events_verified: verified,
    events_pending: pending,
    head: finalRow && finalRow.hash ? { position: finalRow.position, hash: finalRow.hash.toString('hex') } : null,
    checkpoints_verified: options.checkpoints.length,
    checkpoint: signed ? checkpointView(signed) : null,
    events_after_checkpoint: unsigned,
  };
}
