import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Client } from 'pg';
import { randomUUID } from 'node:crypto';
import { App, BACKEND_APPS, Stack } from '@keyledger/testing';
import { Bench, BenchContext, measure, positiveInt, round, UsageError } from '../bench';
import { createBenchDatabase } from '../bench-database';
import { backendCpuSeconds, clockTicksPerSecond, cpuSeconds, DATABASE_BACKENDS_SQL } from '../cpu';
import { HttpLoad } from '../http-load';

const run = promisify(execFile);

async function call(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/**
 * What each part of the system spent in CPU during a phase: the apps, the Postgres backends serving
 * the bench database, and this process (the load generator). On a machine shared with other work
 * these milliseconds per spend are steadier than the rates, which depend on how much CPU was left.
 */
async function cpuMeter(stack: Stack, apps: readonly (readonly [App, number])[]) {
  const ticks = await clockTicksPerSecond();
  const pg = new Client({ connectionString: stack.databaseUrl });
  await pg.connect();
  const sample = async () => {
    const parts: Record<string, number> = {};
    const add = (name: string, seconds: number | null) => {
      if (seconds !== null) parts[name] = (parts[name] ?? 0) + seconds;
    };
    for (const [app, count] of apps) for (let i = 0; i < count; i++) add(app, cpuSeconds(stack.process(app, i).pid, ticks));
    const { rows } = await pg.query(DATABASE_BACKENDS_SQL);
    for (const seconds of backendCpuSeconds(rows, ticks).values()) add('postgres', seconds);
    add('load_generator', cpuSeconds(process.pid, ticks));
    const { rows: tx } = await pg.query(`select xact_commit::bigint as commits from pg_stat_database where datname = current_database()`);
    return { parts, transactions: Number(tx[0].commits) };
  };
  const before = await sample();
  return {
    /** CPU ms per unit of work for each part since the meter started, and transactions per unit. */
    async per(units: number) {
      // Backends report their transaction counts when idle, at most once a second.
      await new Promise((r) => setTimeout(r, 1500));
      const after = await sample();
      await pg.end();
      const cpu: Record<string, number> = {};
      for (const [name, seconds] of Object.entries(after.parts)) cpu[name] = round(((seconds - (before.parts[name] ?? 0)) * 1000) / units, 3);
      cpu['total'] = round(Object.values(cpu).reduce((a, b) => a + b, 0), 3);
      return { cpu_ms_per_spend: cpu, db_transactions_per_spend: round((after.transactions - before.transactions) / units, 2) };
    },
  };
}

function pgbenchBinary(): string {
  for (const p of ['/usr/lib/postgresql/15/bin/pgbench', '/usr/bin/pgbench']) if (existsSync(p)) return p;
  return 'pgbench';
}

/** pgbench's built-in TPC-B-like script on a scratch database of the same server: the baseline. */
async function pgbenchTps(context: BenchContext, clients: number): Promise<{ tps: number; scale: number }> {
  const scratch = await createBenchDatabase(context.pgServerUrl, 'pgbench');
  const scale = 10;
  try {
    await run(pgbenchBinary(), ['-i', '-q', '-s', String(scale), scratch.url], { maxBuffer: 1 << 24 });
    const { stdout } = await run(
      pgbenchBinary(),
      ['-c', String(clients), '-j', '2', '-T', String(Math.max(1, Math.round(context.durationSeconds))), '-n', scratch.url],
      { maxBuffer: 1 << 24 },
    );
    const tps = Number(/tps = ([0-9.]+)/.exec(stdout)?.[1] ?? NaN);
    return { tps: round(tps, 1), scale };
  } finally {
    await scratch.drop();
  }
}

/**
 * Spends per second through the gateway: `--clients` concurrent HTTP clients `POST /v1/spends` of 1
 * unit, spread over `--agents` agents sharing one wallet (the contended case: every decision for a
 * wallet is serialized), then a check from the database that nothing was overspent; pgbench's
 * TPC-B TPS on the same server is the baseline.
 */
export const spendBench: Bench = {
  name: 'spend',
  description: 'POST /v1/spends through the gateway with N concurrent clients; pgbench TPC-B as baseline; overspend check',
  options: {
    clients: { type: 'string' },
    agents: { type: 'string' },
    gateways: { type: 'string' },
    ledgers: { type: 'string' },
    'idempotency-keys': { type: 'string' },
  },
  async run(context) {
    const clients = positiveInt(context.flags, 'clients', 32);
    const agentCount = positiveInt(context.flags, 'agents', 4);
    const gateways = positiveInt(context.flags, 'gateways', 1);
    const ledgers = positiveInt(context.flags, 'ledgers', 1);
    // Like the SDK, every spend carries its own Idempotency-Key unless told otherwise.
    const idempotencyFlag = context.flags['idempotency-keys'] ?? 'on';
    if (idempotencyFlag !== 'on' && idempotencyFlag !== 'off') throw new UsageError(`--idempotency-keys must be on or off, got ${String(idempotencyFlag)}`);
    const idempotencyKeys = idempotencyFlag === 'on';
    process.env['KEYLEDGER_TEST_PG_URL'] = context.pgServerUrl;
    const { rows: sc } = await (async () => {
      const c = new Client({ connectionString: context.pgServerUrl });
      await c.connect();
      try {
        return await c.query(`show synchronous_commit`);
      } finally {
        await c.end();
      }
    })();

    context.log(`starting the stack: ${gateways} gateway(s), ${ledgers} budget-ledger(s)`);
    const stack = await Stack.start({
      label: 'bench_spend',
      instances: { gateway: gateways, 'budget-ledger': ledgers },
      env: { LOG_LEVEL: process.env['SPEND_DEBUG'] ? 'debug' : 'warn', KEYLEDGER_RPC_TIMEOUT_MS: '20000' },
    });
    try {
      const bases = Array.from({ length: gateways }, (_, i) => stack.gatewayUrl(i));
      const org = await call(bases[0], 'POST', '/v1/orgs', { authorization: `Bearer ${stack.operatorToken}` }, { name: 'Bench' });
      const headers = { 'x-api-key': org.body.data.api_key.key as string };
      const orgId = org.body.data.org.id as string;
      // Spending is measured here, not rate limiting: the org gets limits it never meets.
      const unlimited = { per_minute: 10_000_000, burst: 1_000_000 };
      const plan = await call(bases[0], 'PUT', `/v1/orgs/${orgId}/plan`, { authorization: `Bearer ${stack.operatorToken}` }, {
        plan: 'enterprise',
        overrides: { read: unlimited, write: unlimited, key_create: unlimited, per_hour: null },
      });
      if (plan.status !== 200) throw new Error(`plan change answered ${plan.status}`);
      const deposit = 1_000_000_000;
      const limit = 10_000_000;
      await call(bases[0], 'POST', '/v1/wallet/deposits', headers, { amount: deposit, currency: 'usd' });
      const agents: string[] = [];
      for (let i = 0; i < agentCount; i++) {
        const agent = await call(bases[0], 'POST', '/v1/agents', headers, { name: `bench ${i}` });
        agents.push(agent.body.data.id);
        await call(bases[0], 'PUT', `/v1/agents/${agent.body.data.id}/budget`, headers, { currency: 'usd', fixed_limit: limit });
      }

      let created = 0;
      const failures: Record<string, number> = {};
      let n = 0;
      // One keep-alive socket per client and no per-request setup: the load generator shares the
      // two cores with the stack and Postgres, so it must stay cheap.
      const load = new HttpLoad(clients);
      const bodies = agents.map((agent) => JSON.stringify({ agent_id: agent, amount: 1, currency: 'usd' }));
      // A content-length spares chunked encoding; only the Idempotency-Key differs between requests.
      const spendHeaders = bodies.map((body) => ({ ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }));
      context.log(`measuring ${clients} clients for ${context.durationSeconds}s (Idempotency-Key ${idempotencyKeys ? 'on' : 'off'})`);
      const meter = await cpuMeter(stack, [['gateway', gateways], ...BACKEND_APPS.map((app) => [app, app === 'budget-ledger' ? ledgers : 1] as const)]);
      const createdBefore = created;
      const loadBefore = loadavg()[0];
      const phase = await measure({ workers: clients, seconds: context.durationSeconds, warmupSeconds: context.warmupSeconds }, async (worker) => {
        const i = n++;
        const status = await load.send(`${bases[i % bases.length]}/v1/spends`, {
          method: 'POST',
          headers: idempotencyKeys ? { ...spendHeaders[worker % agents.length], 'idempotency-key': randomUUID() } : spendHeaders[worker % agents.length],
          body: bodies[worker % agents.length],
        });
        if (status === 201) {
          created++;
          return 1;
        }
        failures[status] = (failures[status] ?? 0) + 1;
        return 0;
      });
      load.close();
      const loadAfter = loadavg()[0];
      // Warm-up included: the meter ran across it too.
      const costs = await meter.per(Math.max(1, created - createdBefore));

      context.log('checking that nothing was overspent');
      const db = new Client({ connectionString: stack.databaseUrl });
      await db.connect();
      let check: Record<string, unknown>;
      try {
        const log = await db.query(
          `select
             coalesce(sum((data->>'amount')::bigint) filter (where type = 'FundsDeposited'), 0)::bigint as deposited,
             coalesce(sum((data->>'amount')::bigint) filter (where type = 'SpendCaptured'), 0)::bigint as captured,
             count(*) filter (where type = 'SpendAuthorized')::bigint as authorized
           from events where org_id = $1`,
          [orgId],
        );
        const wallet = await db.query(`select deposits, captured, refunded, held from wallets where org_id = $1`, [orgId]);
        const perAgent = await db.query(
          `select agent_id, sum(captured_amount - refunded_amount)::bigint as spent from spends where org_id = $1 group by agent_id`,
          [orgId],
        );
        const w = wallet.rows[0];
        const available = Number(w.deposits) - Number(w.captured) + Number(w.refunded) - Number(w.held);
        const l = log.rows[0];
        const overspentAgents = perAgent.rows.filter((r) => Number(r.spent) > limit).length;
        check = {
          ok:
            available >= 0 &&
            overspentAgents === 0 &&
            Number(l.captured) === Number(w.captured) &&
            Number(l.deposited) === Number(w.deposits) &&
            Number(l.authorized) >= created,
          wallet_available: available,
          captured_in_log: Number(l.captured),
          captured_in_read_model: Number(w.captured),
          spends_authorized_in_log: Number(l.authorized),
          spends_acknowledged_201: created,
          agents_over_budget: overspentAgents,
        };
      } finally {
        await db.end();
      }

      context.log('pgbench baseline');
      const baseline = await pgbenchTps(context, clients);
      return {
        synchronous_commit: sc[0].synchronous_commit,
        clients,
        agents_sharing_one_wallet: agentCount,
        gateways,
        budget_ledgers: ledgers,
        idempotency_keys: idempotencyKeys,
        // units = spends answered 201; operations also count any failed request (listed in failures).
        spends: { spends_per_s: phase.unitsPerSecond, ...phase, created, failures },
        ...costs,
        load_average_1m: { before: round(loadBefore, 2), after: round(loadAfter, 2) },
        pgbench_tpcb: baseline,
        ratios: { spends_per_s_vs_pgbench_tps: round(phase.unitsPerSecond / baseline.tps, 3) },
        goals: { spends_per_s_at_least_500: phase.unitsPerSecond >= 500 },
        overspend_check: check,
      };
    } finally {
      context.log(`stack logs: ${stack.logDir}`);
      await stack.stop();
    }
  },
};
