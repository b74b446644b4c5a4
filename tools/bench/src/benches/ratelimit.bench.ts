import { connect, JSONCodec } from 'nats';
import { Agent, request } from 'node:http';
import { RATE_LIMIT_PARTITIONS, RateLimitCheckRequest, RateLimits, rateLimitPartition, RateLimitSubjects } from '@keyledger/contracts';
import { checkRateLimit, Counters } from '@keyledger/ratelimit-domain';
import { Stack } from '@keyledger/testing';
import { Bench, BenchContext, measure, PhaseResult, positiveInt, round } from '../bench';

/** Limits no load here reaches: every check is a full decision that admits. */
const UNREACHABLE: RateLimits = {
  read: { per_minute: 100_000_000, burst: 10_000_000 },
  write: { per_minute: 100_000_000, burst: 10_000_000 },
  key_create: { per_minute: 100_000_000, burst: 10_000_000 },
  per_hour: 1_000_000_000,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Open-loop load: `rate` requests a second for `seconds`, each timed on its own (no coordinated omission). */
async function paced(rate: number, seconds: number, operation: () => Promise<unknown>): Promise<PhaseResult> {
  const latencies: number[] = [];
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
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? 0, 3);
  if (errors > 0) throw new Error(`${errors} requests failed during a paced phase`);
  return {
    operations: latencies.length,
    units: latencies.length,
    seconds: round(elapsed, 3),
    operationsPerSecond: round(latencies.length / elapsed, 1),
    unitsPerSecond: round(latencies.length / elapsed, 1),
    latencyMs: { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), max: round(latencies[latencies.length - 1] ?? 0, 3) },
  };
}

/**
 * (a) rate-limiter decisions/s: checks sent straight to the partition subjects over NATS, many
 * orgs, from concurrent workers; plus the pure decision function in-process for reference.
 * (b) GET /v1/whoami on one gateway: saturation with the limiter, then a paced load at
 * --load-percent (50) of it with the limiter, then the same paced load with the rate limiter
 * stopped and reads failing open (the gateway skips the check), in the same run.
 */
export const rateLimitBench: Bench = {
  name: 'ratelimit',
  description: 'rate-limiter decisions/s, and the p99 the check adds to GET /v1/whoami at 50% of saturation (needs `dist/`: build the apps first)',
  options: { workers: { type: 'string' }, orgs: { type: 'string' }, 'load-percent': { type: 'string' } },
  async run(context: BenchContext) {
    const workers = positiveInt(context.flags, 'workers', 32);
    const orgs = positiveInt(context.flags, 'orgs', 1000);
    const loadPercent = positiveInt(context.flags, 'load-percent', 50);
    const phase = { workers, seconds: context.durationSeconds, warmupSeconds: context.warmupSeconds };

    // Pure decisions, no I/O: what one core can decide.
    let counters: Counters | undefined;
    const pureStart = process.hrtime.bigint();
    let pure = 0;
    for (let t = Date.now(); pure < 2_000_000; pure++) counters = checkRateLimit(counters, { classes: ['read'], limits: UNREACHABLE }, t + pure).counters;
    const pureSeconds = Number(process.hrtime.bigint() - pureStart) / 1e9;

    context.log('starting a stack (one gateway, one rate-limiter)');
    const stack = await Stack.start({ label: 'bench-ratelimit', env: { LOG_LEVEL: 'warn', KEYLEDGER_RATE_LIMIT_FAIL_MODE: 'read=open' } });
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
      await fetch(`${base}/v1/orgs/${orgId}/plan`, { method: 'PUT', headers: operator, body: JSON.stringify({ plan: 'enterprise', overrides }) });

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

      context.log(`(b) whoami paced at ${rate}/s with the limiter`);
      await paced(rate, context.warmupSeconds, whoami);
      const withLimiter = await paced(rate, context.durationSeconds, whoami);

      context.log('(b) stopping the rate limiter: reads fail open, the check is skipped');
      await stack.kill('rate-limiter', 0, 'SIGTERM');
      for (let i = 0; i < 50 && (await whoami()); i++) await sleep(50);
      if (await whoami()) throw new Error('the gateway still reports rate-limit headers without the limiter');
      context.log(`(b) whoami paced at ${rate}/s without the limiter`);
      await paced(rate, context.warmupSeconds, whoami);
      const withoutLimiter = await paced(rate, context.durationSeconds, whoami);
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
          saturation_rps_with_limiter: saturation.operationsPerSecond,
          paced_rps: rate,
          load_percent_of_saturation: loadPercent,
          with_limiter_ms: withLimiter.latencyMs,
          without_limiter_ms: withoutLimiter.latencyMs,
        },
        ratios: {
          added_p99_ms: round(withLimiter.latencyMs.p99 - withoutLimiter.latencyMs.p99, 3),
          added_p50_ms: round(withLimiter.latencyMs.p50 - withoutLimiter.latencyMs.p50, 3),
        },
        note: 'client, gateway, rate-limiter, NATS and Postgres share this machine',
      };
    } finally {
      await stack.stop();
    }
  },
};
