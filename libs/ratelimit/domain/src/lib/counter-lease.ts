import { CounterLease, OPERATION_CLASSES, RateLimitCheckReply, RateLimits } from '@keyledger/contracts';
import { checkRateLimit, Counters, RateLimitCheck } from './rate-limit';
import { currentQuota } from './hourly-quota';
import { fullBucket, refill, TOKEN } from './token-bucket';

/**
 * Counter leases: the partition owner hands one counter's whole state (every bucket and the hourly
 * quota) to the one gateway using it, which then decides that counter's checks itself with
 * `checkRateLimit`, the owner's own function. At every moment exactly one process holds a counter's
 * state and decides its checks in order, so the totals are those of a single limiter.
 *
 * Two clocks: decisions use epoch milliseconds (`now`), as the counters do; lease lifetimes use each
 * process's own monotonic clock (`at`) and are never compared between processes.
 */

/** How long a lease lasts without being extended. */
export const LEASE_TTL_MS = 1000;
/** How long a gateway must have been a counter's only user before it may hold its lease. */
export const SOLE_USER_MS = 1000;

/** The last gateway to use a counter, and since when it alone has (-Infinity: it was the first). */
export interface CounterUsage {
  gateway: string;
  since: number;
}

/** Notes a check from `gateway`: a different gateway than the last one restarts the clock. */
export function noteUser(usage: CounterUsage | undefined, gateway: string, at: number): CounterUsage {
  if (usage?.gateway === gateway) return usage;
  return { gateway, since: usage === undefined ? Number.NEGATIVE_INFINITY : at };
}

/** A lease goes only to a gateway that has been the counter's sole user for `soleUserMs`. */
export function mayLease(usage: CounterUsage | undefined, gateway: string, at: number, soleUserMs = SOLE_USER_MS): boolean {
  return usage?.gateway === gateway && at - usage.since >= soleUserMs;
}

/**
 * The counters of a lease whose holder never gave it back (it died or was cut off): they count as
 * spent to the full, so a lost lease can only ever admit less, never more. Every bucket is empty when
 * the lease ran out, and the hour's quota is charged with every request the buckets could have
 * admitted during the lease (read and write: every request counts in one of the two).
 */
export function forfeitedCounters(counters: Counters, limits: RateLimits, grantedAt: number, expiredAt: number): Counters {
  const leaseMs = Math.max(0, expiredAt - grantedAt);
  const buckets = Object.fromEntries(OPERATION_CLASSES.map((c) => [c, { units: 0, at: expiredAt }]));
  if (limits.per_hour === null) return counters.quota ? { buckets, quota: counters.quota } : { buckets };
  let admissible = 0;
  for (const c of ['read', 'write'] as const) {
    const atGrant = refill(counters.buckets[c] ?? fullBucket(limits[c], grantedAt), limits[c], grantedAt);
    admissible += Math.floor((atGrant.units + leaseMs * limits[c].per_minute) / TOKEN);
  }
  const quota = currentQuota(counters.quota, expiredAt);
  return { buckets, quota: { hour: quota.hour, used: Math.min(limits.per_hour, quota.used + admissible) } };
}

/** A lease as its holder keeps it. */
export interface HeldLease {
  id: string;
  counters: Counters;
  /** The limits of the last check decided under the lease (given back with the counters). */
  limits: RateLimits | null;
  /** On the holder's monotonic clock: from then on it decides nothing more under this lease. */
  expiresAt: number;
}

/**
 * Takes a granted lease. Its time runs from when the holder *asked* (`askedAt`), which is before the
 * owner granted it, so the holder always stops deciding before the owner's own expiry.
 */
export function holdLease(lease: CounterLease, askedAt: number): HeldLease {
  return { id: lease.id, counters: lease.counters, limits: null, expiresAt: askedAt + lease.ttl_ms };
}

/** Decides a check under the lease, or null once the lease has run out (the owner decides then). */
export function decideUnderLease(held: HeldLease, check: RateLimitCheck, now: number, at: number): { held: HeldLease; reply: RateLimitCheckReply } | null {
  if (at >= held.expiresAt) return null;
  const decision = checkRateLimit(held.counters, check, now);
  return { held: { ...held, counters: decision.counters, limits: check.limits }, reply: decision.reply };
}

/** The owner extended the lease by `ttlMs` from when the holder asked. */
export function extendLease(held: HeldLease, ttlMs: number, askedAt: number): HeldLease {
  return { ...held, expiresAt: Math.max(held.expiresAt, askedAt + ttlMs) };
}

/** A lease in use is extended once half its time is gone, so a busy holder never waits for one. */
export const extensionDue = (held: HeldLease, at: number, ttlMs = LEASE_TTL_MS) => held.expiresAt - at < ttlMs / 2;
