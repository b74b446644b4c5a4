import type { ClassLimit } from '@keyledger/contracts';

/**
 * Token-bucket arithmetic in integers, so "after 1/rate seconds exactly one more" holds exactly.
 * A token is TOKEN units; a bucket refilling `per_minute` tokens a minute gains `per_minute` units
 * per millisecond (TOKEN = 60 000 ms).
 */
export const TOKEN = 60_000;

export interface BucketState {
  /** Units in the bucket (TOKEN per token) at `at`. */
  units: number;
  /** Epoch milliseconds of the last refill. */
  at: number;
}

/** A bucket never seen is full. */
export function fullBucket(limit: ClassLimit, now: number): BucketState {
  return { units: limit.burst * TOKEN, at: now };
}

/** The bucket at `now`: refilled at the limit's rate, capped at its burst (a plan change may lower it). */
export function refill(state: BucketState, limit: ClassLimit, now: number): BucketState {
  const capacity = limit.burst * TOKEN;
  const elapsed = Math.max(0, now - state.at);
  return { units: Math.min(capacity, state.units + elapsed * limit.per_minute), at: Math.max(now, state.at) };
}

export const wholeTokens = (state: BucketState) => Math.floor(state.units / TOKEN);

/** Milliseconds until the bucket holds `tokens` whole tokens (0 if it already does). */
export function msUntilTokens(state: BucketState, limit: ClassLimit, tokens: number): number {
  const missing = tokens * TOKEN - state.units;
  return missing <= 0 ? 0 : Math.ceil(missing / limit.per_minute);
}

/** Milliseconds until the bucket is full again. */
export function msUntilFull(state: BucketState, limit: ClassLimit): number {
  return msUntilTokens(state, limit, limit.burst);
}

/** Seconds an empty bucket takes to fill: the window of its `RateLimit-Policy`. */
export function refillWindowSeconds(limit: ClassLimit): number {
  return Math.max(1, Math.ceil((limit.burst * 60) / limit.per_minute));
}
