import { DEFAULT_RATE_LIMITS, RateLimits } from '@keyledger/contracts';
import { checkRateLimit, Counters, isIdle, mostConstrained } from './rate-limit';
import { HOUR_MS } from './hourly-quota';

const limits = (over: Partial<RateLimits> = {}): RateLimits => ({ ...DEFAULT_RATE_LIMITS, ...over });
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

/** Runs requests at the given clock times, carrying the counters along like the service does. */
function run(check: Parameters<typeof checkRateLimit>[1], times: number[], start?: Counters) {
  let counters = start;
  return times.map((now) => {
    const decision = checkRateLimit(counters, check, now);
    counters = decision.counters;
    return decision.reply;
  });
}

describe('token bucket (injected clock)', () => {
  const write = { classes: ['write'] as const, limits: limits({ write: { per_minute: 30, burst: 10 } }) };

  it('admits exactly the burst at once, then refuses', () => {
    const replies = run(write, Array(12).fill(T0));
    expect(replies.map((r) => r.allowed)).toEqual([...Array(10).fill(true), false, false]);
    expect(replies[9].states[0].remaining).toBe(0);
  });

  it('after exactly 1/rate seconds admits exactly one more, and not a millisecond earlier', () => {
    const replies = run(write, [...Array(10).fill(T0), T0 + 1999, T0 + 2000, T0 + 2000]);
    expect(replies.slice(10).map((r) => r.allowed)).toEqual([false, true, false]);
  });

  it('Retry-After is honest: waiting that long is admitted', () => {
    const replies = run(write, Array(11).fill(T0));
    const denied = replies[10];
    expect(denied).toMatchObject({ allowed: false, retry_after: 2, denied_by: 'write' });
    const later = run(write, [...Array(10).fill(T0), T0 + denied.retry_after * 1000]);
    expect(later[10].allowed).toBe(true);
  });

  it('rates that do not divide a minute stay exact (7/min: one token every 8571.43 ms)', () => {
    const odd = { classes: ['read'] as const, limits: limits({ read: { per_minute: 7, burst: 1 } }) };
    expect(run(odd, [T0, T0 + 8571, T0 + 8572]).map((r) => r.allowed)).toEqual([true, false, true]);
  });

  it('never fills past the burst however long it rests', () => {
    const replies = run(write, [T0, T0 + 10 * HOUR_MS]);
    expect(replies[1].states[0].remaining).toBe(9);
  });

  it('a lower burst after a plan change caps what is left', () => {
    const first = checkRateLimit(undefined, write, T0);
    const smaller = { classes: ['write'] as const, limits: limits({ write: { per_minute: 30, burst: 2 } }) };
    expect(checkRateLimit(first.counters, smaller, T0).reply.states[0].remaining).toBe(1);
  });
});

describe('all or nothing over every limit that applies', () => {
  const keyCreate = { classes: ['write', 'key_create'] as const, limits: limits({ write: { per_minute: 30, burst: 10 }, key_create: { per_minute: 10, burst: 2 } }) };

  it('a denied request consumes from no limit', () => {
    const replies = run(keyCreate, Array(3).fill(T0));
    expect(replies.map((r) => r.allowed)).toEqual([true, true, false]);
    expect(replies[2].denied_by).toBe('key_create');
    // The write bucket paid for the two admitted requests only.
    expect(replies[2].states.find((s) => s.name === 'write')!.remaining).toBe(8);
  });

  it('waits for the slowest blocking limit', () => {
    const replies = run(keyCreate, Array(3).fill(T0));
    expect(replies[2].retry_after).toBe(6);
  });

  it('the hourly quota counts admitted requests of every class and resets on the hour', () => {
    const quota = limits({ per_hour: 3 });
    const read = { classes: ['read'] as const, limits: quota };
    const write2 = { classes: ['write'] as const, limits: quota };
    let counters: Counters | undefined;
    const at = T0 + 59 * 60_000;
    for (const check of [read, write2, read]) counters = checkRateLimit(counters, check, at).counters;
    const denied = checkRateLimit(counters, write2, at);
    expect(denied.reply).toMatchObject({ allowed: false, denied_by: 'hourly', retry_after: 60 });
    // One write was admitted; the denied one was not charged.
    expect(denied.reply.states.find((s) => s.name === 'write')!.remaining).toBe(DEFAULT_RATE_LIMITS.write.burst - 1);
    expect(checkRateLimit(denied.counters, write2, T0 + HOUR_MS).reply.allowed).toBe(true);
  });
});

describe('headers and idleness', () => {
  it('the most constrained limit is the one with the fewest remaining', () => {
    const reply = checkRateLimit(undefined, { classes: ['write', 'key_create'], limits: limits() }, T0).reply;
    expect(mostConstrained(reply.states)).toMatchObject({ name: 'key_create', remaining: 4, limit: 5, full_in_ms: 6000 });
  });

  it('counters are idle once every bucket is full again', () => {
    const { counters } = checkRateLimit(undefined, { classes: ['write'], limits: limits() }, T0);
    expect(isIdle(counters, limits(), T0 + 1999)).toBe(false);
    expect(isIdle(counters, limits(), T0 + 2000)).toBe(true);
  });
});
