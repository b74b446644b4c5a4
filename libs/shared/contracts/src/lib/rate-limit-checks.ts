import type { OperationClass, RateLimitOverrides, RateLimits } from './rate-limits';
import type { Plan } from './resources';

/**
 * Rate-limit checks are sharded: each counter key (an org, or a client IP) hashes to one of
 * RATE_LIMIT_PARTITIONS partitions, and exactly one rate-limiter instance answers each partition's
 * subject. Every gateway and rate-limiter must agree on this number.
 */
export const RATE_LIMIT_PARTITIONS = 64;

export const RateLimitSubjects = {
  /** `ratelimit.check.<partition>`: plain subscriptions (no queue group), one owner per partition. */
  check: (partition: number) => `ratelimit.check.${partition}`,
  /** `ratelimit.holder.<gateway>`: a partition owner recalls the counter lease it gave that gateway. */
  holder: (gateway: string) => `ratelimit.holder.${gateway}`,
  /** Operator command on the org stream, answered by key-registry. */
  changePlan: 'keys.orgs.plan',
} as const;

/** FNV-1a over the counter key: cheap, stable across processes and languages. */
export function rateLimitPartition(counterKey: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < counterKey.length; i++) {
    hash ^= counterKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % RATE_LIMIT_PARTITIONS;
}

/** One limit's state after a check. `name` is a class or `hourly` (the plan's quota over all requests). */
export type LimitName = OperationClass | 'hourly';

export interface LimitState {
  name: LimitName;
  /** Capacity: the burst of a class, the quota of the hour. */
  limit: number;
  /** Whole units left right now. */
  remaining: number;
  /** Milliseconds until this limit is full again. */
  full_in_ms: number;
  /** The policy's window in seconds: the time a bucket takes to refill from empty, or 3600. */
  window_seconds: number;
}

export interface RateLimitCheckRequest {
  schema_version: 1;
  /** `org:<id>` or `ip:<address>`. */
  counter: string;
  /** Every class the request counts in (a key creation is a write and a key_create). */
  classes: OperationClass[];
  /** The effective limits, as the gateway read them from the org's plan and overrides. */
  limits: RateLimits;
  /** The gateway sending the check (its holder id): the owner tracks who uses a counter. */
  gateway?: string;
  /** That gateway asks to hold the counter's lease (decide its next checks itself), if it may. */
  wants_lease?: boolean;
}

/** Everything counted for one counter key, as it travels with a lease (token units, epoch ms). */
export interface CounterState {
  buckets: Partial<Record<OperationClass, { units: number; at: number }>>;
  quota?: { hour: number; used: number };
}

/**
 * A counter lease: the owner hands a counter's state to the one gateway using it, which decides that
 * counter's checks itself until `ttl_ms` after it sent its request (its own clock), then gives the
 * state back; the owner decides nothing for the counter meanwhile and recalls the lease first.
 */
export interface CounterLease {
  id: string;
  ttl_ms: number;
  counters: CounterState;
}

/** On a partition subject, from the lease holder: keep the lease longer, or give the counters back. */
export interface CounterLeaseRequest {
  schema_version: 1;
  lease: 'extend' | 'return';
  counter: string;
  lease_id: string;
  /**
   * The counters as the holder has them (`return`: as it leaves them; `extend`: a snapshot the owner
   * falls back on should the holder vanish), taken at `counters_at` (epoch ms), and the limits it last applied.
   */
  counters: CounterState;
  counters_at: number;
  limits: RateLimits | null;
}

export interface CounterLeaseReply {
  /** `extend`: the lease is still this holder's and now runs `ttl_ms` longer; `return`: taken back. */
  ok: boolean;
  ttl_ms?: number;
}

/** On the holder's subject, from the owner: give lease `lease_id` of `counter` back now. */
export interface CounterRecall {
  schema_version: 1;
  counter: string;
  lease_id: string;
}

/** The counters as the holder leaves them; null when it no longer holds that lease. */
export interface CounterRecallReply {
  counters: CounterState | null;
  limits: RateLimits | null;
}

export interface RateLimitCheckReply {
  allowed: boolean;
  /** When denied: whole seconds after which the same request is admitted (if nobody else spends first). */
  retry_after: number;
  /** The limit that denied it (or, when allowed, null). */
  denied_by: LimitName | null;
  states: LimitState[];
  /** Granted only when asked for (`wants_lease`) and that gateway is the counter's sole recent user. */
  lease?: CounterLease;
}

export interface ChangePlanRequest {
  org_id: string;
  plan: Plan | null;
  overrides: RateLimitOverrides | null;
}

export interface ChangePlanReply {
  id: string;
  name: string;
  plan: Plan | null;
  overrides: RateLimitOverrides | null;
}
