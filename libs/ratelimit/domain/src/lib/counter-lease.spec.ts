import fc from 'fast-check';
import { DEFAULT_RATE_LIMITS, RateLimitCheckReply, RateLimits } from '@keyledger/contracts';
import { checkRateLimit, Counters, RateLimitCheck } from './rate-limit';
import {
  decideUnderLease,
  extendLease,
  extensionDue,
  forfeitedCounters,
  holdLease,
  HeldLease,
  LEASE_TTL_MS,
  mayLease,
  noteUser,
  SOLE_USER_MS,
} from './counter-lease';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const limits = (over: Partial<RateLimits> = {}): RateLimits => ({ ...DEFAULT_RATE_LIMITS, ...over });
const read = (l: RateLimits): RateLimitCheck => ({ classes: ['read'], limits: l });
const write = (l: RateLimits): RateLimitCheck => ({ classes: ['write'], limits: l });

describe('who may hold a counter lease', () => {
  it('the first gateway to use a counter may hold it at once', () => {
    const usage = noteUser(undefined, 'gw-a', 0);
    expect(mayLease(usage, 'gw-a', 0)).toBe(true);
  });

  it('after a second gateway used it, neither may until one has been alone for SOLE_USER_MS', () => {
    let usage = noteUser(undefined, 'gw-a', 0);
    usage = noteUser(usage, 'gw-b', 100);
    expect(mayLease(usage, 'gw-a', 100)).toBe(false);
    expect(mayLease(usage, 'gw-b', 100 + SOLE_USER_MS - 1)).toBe(false);
    usage = noteUser(usage, 'gw-b', 100 + SOLE_USER_MS - 1); // the same gateway again keeps the clock
    expect(mayLease(usage, 'gw-b', 100 + SOLE_USER_MS)).toBe(true);
    expect(mayLease(usage, 'gw-a', 100 + SOLE_USER_MS)).toBe(false);
  });
});

describe('a held lease (holder clock injected)', () => {
  const granted = { id: 'lease-1', ttl_ms: LEASE_TTL_MS, counters: { buckets: {} } };

  it('decides with the counters it was given until its time, counted from the ask, runs out', () => {
    const l = limits({ read: { per_minute: 60, burst: 3 } });
    let held: HeldLease = holdLease(granted, 5_000);
    const replies: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const decided = decideUnderLease(held, read(l), T0, 5_000 + i)!;
      held = decided.held;
      replies.push(decided.reply.allowed);
    }
    expect(replies).toEqual([true, true, true, false]);
    expect(held.limits).toEqual(l);
    expect(decideUnderLease(held, read(l), T0, 5_000 + LEASE_TTL_MS - 1)).not.toBeNull();
    expect(decideUnderLease(held, read(l), T0, 5_000 + LEASE_TTL_MS)).toBeNull();
  });

  it('is extended once half its time is gone, from when the extension was asked', () => {
    const held = holdLease(granted, 0);
    expect(extensionDue(held, LEASE_TTL_MS / 2)).toBe(false);
    expect(extensionDue(held, LEASE_TTL_MS / 2 + 1)).toBe(true);
    expect(extendLease(held, LEASE_TTL_MS, 600).expiresAt).toBe(1600);
    // A late answer to an old ask never shortens it.
    expect(extendLease({ ...held, expiresAt: 1600 }, LEASE_TTL_MS, 400).expiresAt).toBe(1600);
  });
});

describe('handing the counters back and forth decides exactly as one limiter would', () => {
  /** Replays checks at given times; `holderFrom..holderTo` are decided by a lease holder, the rest by the owner. */
  function withHandoffs(checks: { check: RateLimitCheck; now: number; leased: boolean }[]): RateLimitCheckReply[] {
    let owner: Counters | undefined;
    let held: HeldLease | null = null;
    return checks.map(({ check, now, leased }, i) => {
      if (leased && held === null) held = holdLease({ id: `lease-${i}`, ttl_ms: LEASE_TTL_MS, counters: owner ?? { buckets: {} } }, i);
      if (!leased && held !== null) {
        owner = held.counters; // recalled or returned: the owner continues from the holder's counters
        held = null;
      }
      if (held !== null) {
        const decided = decideUnderLease(held, check, now, i)!;
        held = decided.held;
        return decided.reply;
      }
      const decision = checkRateLimit(owner, check, now);
      owner = decision.counters;
      return decision.reply;
    });
  }

  function alone(checks: { check: RateLimitCheck; now: number }[]): RateLimitCheckReply[] {
    let counters: Counters | undefined;
    return checks.map(({ check, now }) => {
      const decision = checkRateLimit(counters, check, now);
      counters = decision.counters;
      return decision.reply;
    });
  }

  it('a recalled lease gives back what it did not use: alternating holders admit exactly the burst', () => {
    const l = limits({ write: { per_minute: 1, burst: 30 } });
    // Six rounds of ten writes, leased by the first gateway in even rounds, decided by the owner in odd ones.
    const checks = Array.from({ length: 60 }, (_, i) => ({ check: write(l), now: T0 + i, leased: Math.floor(i / 10) % 2 === 0 }));
    const replies = withHandoffs(checks);
    expect(replies.filter((r) => r.allowed)).toHaveLength(30);
    expect(replies).toEqual(alone(checks));
  });

  it('any interleaving of owner and holder, over every limit, gives the same answers and headers', () => {
    const l = limits({ read: { per_minute: 7, burst: 3 }, write: { per_minute: 13, burst: 4 }, key_create: { per_minute: 5, burst: 2 }, per_hour: 9 });
    const kinds: RateLimitCheck[] = [read(l), write(l), { classes: ['write', 'key_create'], limits: l }];
    fc.assert(
      fc.property(
        fc.array(fc.record({ kind: fc.integer({ min: 0, max: 2 }), gap: fc.integer({ min: 0, max: 20_000 }), leased: fc.boolean() }), { maxLength: 60 }),
        (steps) => {
          let now = T0 + 59 * 60_000; // close to the hour, so the quota resets inside some runs
          const checks = steps.map((s) => ({ check: kinds[s.kind], now: (now += s.gap), leased: s.leased }));
          expect(withHandoffs(checks)).toEqual(alone(checks));
        },
      ),
    );
  });
});

describe('a lease never given back counts as spent', () => {
  const l = limits({ read: { per_minute: 60, burst: 5 }, write: { per_minute: 30, burst: 3 }, per_hour: 100 });

  it('empties every bucket and charges the quota with all the holder could have admitted', () => {
    const counters = { buckets: { read: { units: 2 * 60_000, at: T0 } }, quota: { hour: T0, used: 10 } };
    const lost = forfeitedCounters(counters, l, T0, T0 + 1000);
    for (const c of ['read', 'write', 'key_create'] as const) expect(lost.buckets[c]).toEqual({ units: 0, at: T0 + 1000 });
    // read: 2 tokens + 1 refilled in the second; write: full 3 + 0.5 refilled.
    expect(lost.quota).toEqual({ hour: T0, used: 10 + 3 + 3 });
  });

  it('admits no more afterwards than any counters the holder could have left', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ kind: fc.boolean(), gap: fc.integer({ min: 0, max: 300 }) }), { maxLength: 40 }), (steps) => {
        const grantedAt = T0;
        const expiredAt = T0 + LEASE_TTL_MS;
        // What the holder actually did during the lease.
        let held: HeldLease = holdLease({ id: 'l', ttl_ms: LEASE_TTL_MS, counters: { buckets: {} } }, 0);
        let at = 0;
        for (const s of steps) {
          if ((at += s.gap) >= LEASE_TTL_MS) break;
          held = decideUnderLease(held, s.kind ? read(l) : write(l), grantedAt + at, at)!.held;
        }
        // From the moment the lease expired, count what each version admits over a minute of requests.
        const admitted = (start: Counters) => {
          let counters: Counters | undefined = start;
          let n = 0;
          for (let i = 0; i < 200; i++) {
            const decision = checkRateLimit(counters, i % 2 ? read(l) : write(l), expiredAt + i * 300);
            counters = decision.counters;
            if (decision.reply.allowed) n++;
          }
          return n;
        };
        expect(admitted(forfeitedCounters({ buckets: {} }, l, grantedAt, expiredAt))).toBeLessThanOrEqual(admitted(held.counters));
      }),
    );
  });
});
