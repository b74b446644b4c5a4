import type { LimitName, LimitState, OperationClass, RateLimitCheckReply, RateLimits } from '@keyledger/contracts';
import { BucketState, fullBucket, msUntilFull, msUntilTokens, refill, refillWindowSeconds, TOKEN, wholeTokens } from './token-bucket';
import { currentQuota, HOUR_MS, msUntilNextHour, QuotaState } from './hourly-quota';

/** Everything counted for one counter key (an org or a client IP). */
export interface Counters {
  buckets: Partial<Record<OperationClass, BucketState>>;
  quota?: QuotaState;
}

export interface RateLimitCheck {
  classes: readonly OperationClass[];
  limits: RateLimits;
}

export interface RateLimitDecision {
  reply: RateLimitCheckReply;
  /** The counters after the check (unchanged in substance when denied: a denied request consumes nothing). */
  counters: Counters;
}

/**
 * Decides one request: it passes only if every limit that applies admits it, and only then does it
 * consume from all of them. Pure: the clock comes in as `now` (epoch ms).
 */
export function checkRateLimit(previous: Counters | undefined, check: RateLimitCheck, now: number): RateLimitDecision {
  const classes = [...new Set(check.classes)];
  const buckets = new Map(classes.map((c) => [c, refill(previous?.buckets[c] ?? fullBucket(check.limits[c], now), check.limits[c], now)]));
  const perHour = check.limits.per_hour;
  const quota = perHour === null ? undefined : currentQuota(previous?.quota, now);

  // How long each limit makes this request wait; 0 means it admits it now.
  const waits: { name: LimitName; ms: number }[] = classes.map((c) => ({ name: c, ms: msUntilTokens(buckets.get(c)!, check.limits[c], 1) }));
  if (quota && perHour !== null) waits.push({ name: 'hourly', ms: quota.used < perHour ? 0 : msUntilNextHour(quota, now) });
  const blocking = waits.filter((w) => w.ms > 0).sort((a, b) => b.ms - a.ms)[0];
  const allowed = blocking === undefined;

  if (allowed) {
    for (const [c, b] of buckets) buckets.set(c, { units: b.units - TOKEN, at: b.at });
  }
  const nextQuota = quota && allowed ? { hour: quota.hour, used: quota.used + 1 } : quota;

  const states: LimitState[] = classes.map((c) => {
    const bucket = buckets.get(c)!;
    return {
      name: c,
      limit: check.limits[c].burst,
      remaining: wholeTokens(bucket),
      full_in_ms: msUntilFull(bucket, check.limits[c]),
      window_seconds: refillWindowSeconds(check.limits[c]),
    };
  });
  if (nextQuota && perHour !== null) {
    states.push({
      name: 'hourly',
      limit: perHour,
      remaining: Math.max(0, perHour - nextQuota.used),
      full_in_ms: nextQuota.used === 0 ? 0 : msUntilNextHour(nextQuota, now),
      window_seconds: HOUR_MS / 1000,
    });
  }

  const counters: Counters = { buckets: { ...previous?.buckets, ...Object.fromEntries(buckets) } };
  if (nextQuota) counters.quota = nextQuota;
  else if (previous?.quota) counters.quota = previous.quota;
  return {
    counters,
    reply: {
      allowed,
      retry_after: blocking ? Math.max(1, Math.ceil(blocking.ms / 1000)) : 0,
      denied_by: blocking?.name ?? null,
      states,
    },
  };
}

/** Counters that equal a fresh start (every bucket full, no quota used this hour) can be forgotten. */
export function isIdle(counters: Counters, limits: RateLimits, now: number): boolean {
  for (const [c, bucket] of Object.entries(counters.buckets) as [OperationClass, BucketState][]) {
    if (msUntilFull(refill(bucket, limits[c], now), limits[c]) > 0) return false;
  }
  return !counters.quota || currentQuota(counters.quota, now).used === 0;
}

/**
 * The one limit the X-RateLimit-* headers describe: the most constrained, i.e. the fewest remaining
 * units, and of those the one that takes longest to be full again.
 */
export function mostConstrained(states: readonly LimitState[]): LimitState | undefined {
  return [...states].sort((a, b) => a.remaining - b.remaining || b.full_in_ms - a.full_in_ms)[0];
}
