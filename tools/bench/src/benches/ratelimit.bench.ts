import { connect, JSONCodec } from 'nats';
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { RATE_LIMIT_PARTITIONS, RateLimitCheckRequest, RateLimits, rateLimitPartition, RateLimitSubjects } from '@keyledger/contracts';
import { checkRateLimit, Counters } from '@keyledger/ratelimit-domain';
import { Stack } from '@keyledger/testing';
import { Bench, BenchContext, measure, PhaseResult, positiveInt, round } from '../bench';

/** Limits no load here reaches: every check is a full decision that admits. */
const UNREACHABLE: RateLimits = {
  read: { per_minute: 10_000_000, burst: 10_000_000 },
  write: { per_minute: 10_000_000, burst: 10_000_000 },
  key_create: { per_minute: 10_000_000, burst: 10_000_000 },
  per_hour: 1_000_000_000,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU ticks (user + system) a process has used so far, from /proc; null where there is no /proc. */
function cpuTicks(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  } catch {
    return null;
  }
}

/**
 * Waits until a (re)started process has finished booting: under 5 % of a core over half a second.
 * Measuring "with the limiter" while it still burns CPU starting up would charge its start-up to the check.
 */
async function untilIdle(pid: number | undefined, maxMs = 20_000): Promise<number> {
  const started = Date.now();
  if (pid === undefined) return 0;
  let last = cpuTicks(pid);
  while (last !== null && Date.now() - started < maxMs) {
    await sleep(500);
    const now = cpuTicks(pid);
    if (now === null || now - last <= 2) break; // 100 ticks a second: 2 ticks in 0.5 s is 4 % of a core
    last = now;
  }
  return Date.now() - started;
}

/** Open-loop load: `rate` requests a second for `seconds`, each timed on its own (no coordinated omission). */
async function paced(rate: number, seconds: number, operation: () => Promise<unknown>, latencies: number[] = []): Promise<number[]> {
  const inFlight: Promise<void>[] = [];
  const started = process.hrtime.bigint();
  const total = Math.round(rate * seconds);
  let errors = 0;
  for (let i = 0; i < total; i++) {
    const due = started + BigInt(Math.round((i / rate) * 1e9));
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await sleep(wait);
    const t0 = process.hrtime.bigint();
    inFlight.push(
      operation().then(
        () => void latencies.push(Number(process.hrtime.bigint() - t0) / 1e6),
        () => void errors++,
      ),
    );
  }
  await Promise.all(inFlight);
  if (errors > 0) throw new Error(`${errors} requests failed during a paced phase`);
  return latencies;
}

/** The gateway's rate-limit check-time histogram (its /metrics): cumulative count per bucket bound, by who decided. */
async function checkHistogram(base: string): Promise<Record<string, Map<number, number>>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const histogram: Record<string, Map<number, number>> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('keyledger_rate_limit_check_seconds_bucket{')) continue;
    const by = /decided_by="(\w+)"/.exec(line)?.[1];
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (!by || !le) continue;
    (histogram[by] ??= new Map()).set(le === '+Inf' ? Infinity : Number(le), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return histogram;
}

type CheckHistogram = Record<string, Map<number, number>>;

/** Adds what the histogram counted between two scrapes to `into`. */
function addCounted(into: CheckHistogram, before: CheckHistogram, after: CheckHistogram): void {
  for (const [by, buckets] of Object.entries(after)) {
    const sum = (into[by] ??= new Map());
    for (const [le, n] of buckets) sum.set(le, (sum.get(le) ?? 0) + n - (before[by]?.get(le) ?? 0));
  }
}

/** How many checks, and the bucket bounds (ms) within which 50 % and 99 % of them took: upper bounds, not estimates. */
function checkTimes(histogram: CheckHistogram, by: string) {
  const buckets = histogram[by] ?? new Map<number, number>();
  const total = buckets.get(Infinity) ?? 0;
  const within = (q: number) => {
    const le = [...buckets.keys()].sort((x, y) => x - y).find((b) => (buckets.get(b) ?? 0) >= q * total);
    return total === 0 || le === undefined || le === Infinity ? null : round(le * 1000, 3);
  };
  return { checks: total, p50_at_most_ms: within(0.5), p99_at_most_ms: within(0.99) };
}

function summary(latencies: number[]): PhaseResult['latencyMs'] & { requests: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0, 3);
  return { requests: sorted.length, p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), max: round(sorted[sorted.length - 1] ?? 0, 3) };
}

/**
 * (a) rate-limiter decisions/s: checks sent straight to the partition subjects over NATS, many
 * orgs, from concurrent workers; plus the pure decision function in-process for reference.
 * (b) GET /v1/whoami on one gateway: saturation with the limiter, then a paced load at
 * --load-percent (50) of it, in --rounds alternating slices with the limiter and with the rate
 * limiter stopped (reads fail open: the gateway skips the check), so both see the same machine.
 */
export const rateLimitBench: Bench = {
  name: 'ratelimit',
  description: 'rate-limiter decisions/s, and the p99 the check adds to GET /v1/whoami at 50% of saturation (needs `dist/`: build the apps first)',
  options: { workers: { type: 'string' }, orgs: { type: 'string' }, 'load-percent': { type: 'string' }, rounds: { type: 'string' } },
  async run(context: BenchContext) {
    const workers = positiveInt(context.flags, 'workers', 16);
    const orgs = positiveInt(context.flags, 'orgs', 1000);
    const loadPercent = positiveInt(context.flags, 'load-percent', 50);
    const rounds = positiveInt(context.flags, 'rounds', 3);
    const phase = { workers, seconds: context.durationSeconds, warmupSeconds: context.warmupSeconds };
    const startLoad = round(loadavg()[0], 2);

    // Pure decisions, no I/O: what one core can decide.
    let counters: Counters | undefined;
    const pureStart = process.hrtime.bigint();
    let pure = 0;
    for (let t = Date.now(); pure < 2_000_000; pure++) counters = checkRateLimit(counters, { classes: ['read'], limits: UNREACHABLE }, t + pure).counters;
    const pureSeconds = Number(process.hrtime.bigint() - pureStart) / 1e9;

    context.log('starting a stack (one gateway, one rate-limiter)');
    const stack = await Stack.start({ label: 'bench-ratelimit', env: { LOG_LEVEL: 'warn', KEYLEDGER_RATE_LIMIT_FAIL_MODE: 'read=open', KEYLEDGER_BREAKER_RESET_MS: '500' } });
    try {
      const nats = await connect({ servers: stack.natsUrl });
      const codec = JSONCodec<RateLimitCheckRequest>();
      const keys = Array.from({ length: orgs }, (_, i) => `org:org_bench${i}`);
      let n = 0;
      context.log(`(a) decisions over NATS: ${workers} workers, ${orgs} orgs over ${RATE_LIMIT_PARTITIONS} partitions`);
      const decisions = await measure(phase, async () => {
        const counter = keys[n++ % keys.length];
        await nats.request(RateLimitSubjects.check(rateLimitPartition(counter)), codec.encode({ schema_version: 1, counter, classes: ['read'], limits: UNREACHABLE }), { timeout: 5000 });
      });
      await nats.close();

      // One org whose limits nothing reaches, as an operator would set them.
      const operator = { authorization: `Bearer ${stack.operatorToken}`, 'content-type': 'application/json' };
      const base = stack.gatewayUrl(0);
      const created = (await (await fetch(`${base}/v1/orgs`, { method: 'POST', headers: operator, body: JSON.stringify({ name: 'Bench' }) })).json()) as any;
      const orgId: string = created.data.org.id;
      const key: string = created.data.api_key.key;
      const overrides = { read: UNREACHABLE.read, write: UNREACHABLE.write, key_create: UNREACHABLE.key_create, per_hour: null };
      const plan = await fetch(`${base}/v1/orgs/${orgId}/plan`, { method: 'PUT', headers: operator, body: JSON.stringify({ plan: 'enterprise', overrides }) });
      if (plan.status !== 200) throw new Error(`plan change answered ${plan.status}: ${await plan.text()}`);

      const agent = new Agent({ keepAlive: true, maxSockets: workers * 2 });
      const whoami = () =>
        new Promise<boolean>((resolve, reject) => {
          const req = request(`${base}/v1/whoami`, { headers: { 'x-api-key': key }, agent }, (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 200 ? resolve(res.headers['x-ratelimit-limit'] !== undefined) : reject(new Error(`whoami answered ${res.statusCode}`)),
            );
          });
          req.on('error', reject);
          req.end();
        });
      context.log('(b) whoami saturation with the limiter');
      const saturation = await measure(phase, async () => void (await whoami()));
      const rate = Math.max(1, Math.round((saturation.operationsPerSecond * loadPercent) / 100));
      if (!(await whoami())) throw new Error('the gateway did not check the limiter');

      const slice = context.durationSeconds / rounds;
      const withLimiter: number[] = [];
      const withoutLimiter: number[] = [];
      const perRound: { with_p99: number; without_p99: number; load1: number }[] = [];
      let saturationWithout: PhaseResult | null = null;
      let saturationWith: PhaseResult | null = null;
      const checks: CheckHistogram = {};
      const checksAtSaturation: CheckHistogram = {};
      for (let r = 0; r < rounds; r++) {
        context.log(`(b) round ${r + 1}/${rounds}: whoami paced at ${rate}/s with the limiter`);
        await paced(rate, context.warmupSeconds, whoami);
        const checksBefore = await checkHistogram(base);
        const sliceWith = await paced(rate, slice, whoami);
        const checksAfter = await checkHistogram(base);
        addCounted(checks, checksBefore, checksAfter);
        withLimiter.push(...sliceWith);
        // Saturation with and without, back to back and alike, so the machine's mood weighs on both the same.
        if (r === 0) {
          const before = await checkHistogram(base);
          saturationWith = await measure({ ...phase, seconds: slice }, async () => void (await whoami()));
          addCounted(checksAtSaturation, before, await checkHistogram(base));
        }
        await stack.kill('rate-limiter', 0, 'SIGKILL');
        for (let i = 0; i < 100 && (await whoami()); i++) await sleep(20);
        context.log(`(b) round ${r + 1}/${rounds}: without the limiter (stopped; reads fail open)`);
        if (r === 0) saturationWithout = await measure({ ...phase, seconds: slice }, async () => void (await whoami()));
        await paced(rate, context.warmupSeconds, whoami);
        const sliceWithout = await paced(rate, slice, whoami);
        withoutLimiter.push(...sliceWithout);
        perRound.push({ with_p99: summary(sliceWith).p99, without_p99: summary(sliceWithout).p99, load1: round(loadavg()[0], 2) });
        await stack.restart('rate-limiter', 0);
        for (let i = 0; i < 500 && !(await whoami()); i++) await sleep(20);
        if (!(await whoami())) throw new Error('the rate limiter did not come back');
        const booting = await untilIdle(stack.process('rate-limiter', 0).pid);
        context.log(`(b) the restarted rate-limiter was idle after ${booting} ms`);
      }
      agent.destroy();

      return {
        rate_limiter: {
          decisions_per_s_over_nats: decisions.operationsPerSecond,
          latency_ms: decisions.latencyMs,
          workers,
          orgs,
          in_process_decisions_per_s: round(pure / pureSeconds, 0),
        },
        whoami: {
          saturation_rps_with_limiter: saturationWith?.operationsPerSecond ?? null,
          saturation_rps_without_limiter: saturationWithout?.operationsPerSecond ?? null,
          // The first measure, which sets the paced rate (before any round; the gateway may still be warming up).
          saturation_rps_first: saturation.operationsPerSecond,
          paced_rps: rate,
          load_percent_of_saturation: loadPercent,
          rounds,
          with_limiter_ms: summary(withLimiter),
          without_limiter_ms: summary(withoutLimiter),
          // The check itself, timed inside the gateway during the paced slices with the limiter, by who decided it.
          check_time_in_gateway: { under_lease: checkTimes(checks, 'lease'), by_limiter: checkTimes(checks, 'limiter') },
          check_time_in_gateway_at_saturation: { under_lease: checkTimes(checksAtSaturation, 'lease'), by_limiter: checkTimes(checksAtSaturation, 'limiter') },
          per_round_p99_ms: perRound,
        },
        ratios: {
          added_p99_ms: round(summary(withLimiter).p99 - summary(withoutLimiter).p99, 3),
          added_p50_ms: round(summary(withLimiter).p50 - summary(withoutLimiter).p50, 3),
        },
        load_average_1m: { start: startLoad, end: round(loadavg()[0], 2) },
        note: 'client, gateway, rate-limiter, NATS and Postgres share this machine',
      };
    } finally {
      await stack.stop();
    }
  },
};
