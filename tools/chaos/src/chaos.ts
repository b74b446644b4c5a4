import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { App, BACKEND_APPS, PostgresServer, Stack, waitFor } from '@keyledger/testing';
import { Bounds, Check, checkAnswersInLog, checkErrorsAndWaits, checkMoney, checkRateLimits, checkReplayAndChain, checkRevocation, FaultRecord, readLog } from './checks';
import { LIMITED_OVERRIDES, Load } from './load';
import { sleep } from './recorder';
import { TcpProxy } from './tcp-proxy';

export interface ChaosOptions {
  /** `full`: every fault on every instance; `short`: every kind of fault once (the `npm test` run); `soak`: load only, for `soakMs`. */
  mode: 'full' | 'short' | 'soak';
  soakMs?: number;
  workers?: number;
  log?: (message: string) => void;
}

export interface ChaosReport {
  mode: string;
  pass: boolean;
  seconds: number;
  faults: FaultRecord[];
  checks: Check[];
  soak?: Record<string, unknown>;
  logs: string;
}

const RPC_TIMEOUT_MS = 1_500;
const BREAKER_RESET_MS = 5_000;
const CUT_MS = 10_000;
/**
 * A request may wait for at most two RPC timeouts (the idempotency claim and the command) plus a
 * second of slack on a shared 2-core machine; beyond that it hangs.
 */
export const BOUNDS: Bounds = { maxWaitMs: 2 * RPC_TIMEOUT_MS + 1_000 + 2_000, max5xxShare: 0.25 };
/** Soak: a process's RSS at the end may exceed its RSS at the start by at most this much. */
export const RSS_GROWTH_BOUND = { factor: 1.5, plusMb: 64 };

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const logDir = mkdtempSync(join(tmpdir(), 'keyledger-chaos-'));
  log(`logs in ${logDir}`);
  const pg = await PostgresServer.start({ logDir });
  const proxies = new Map<number, TcpProxy>();
  let stack: Stack | undefined;
  let load: Load | undefined;
  try {
    stack = await Stack.start({
      label: 'chaos',
      pgServerUrl: pg.url,
      instances: { gateway: 2, 'key-registry': 2, 'rate-limiter': 2, 'budget-ledger': 2, 'audit-attestation': 2 },
      // Every gateway talks to NATS through a proxy of ours, so one can be cut off.
      natsUrlFor: async (app, index, natsUrl) => {
        if (app !== 'gateway') return natsUrl;
        const proxy = await TcpProxy.start(Number(new URL(natsUrl).port));
        proxies.set(index, proxy);
        return proxy.url;
      },
      env: {
        LOG_LEVEL: 'warn',
        KEYLEDGER_RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
        KEYLEDGER_BREAKER_RESET_MS: String(BREAKER_RESET_MS),
        // Every admission is a rate-limiter decision, so "never exceeded" is checkable (reads fail open by default).
        KEYLEDGER_RATE_LIMIT_FAIL_MODE: 'read=closed,write=closed,key_create=closed',
        KEYLEDGER_PG_POOL_SIZE: '5',
        KEYLEDGER_AUDIT_CHECKPOINT_EVERY_SECONDS: '5',
      },
    });
    log(`stack up after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    load = new Load({
      gatewayUrls: [stack.gatewayUrl(0), stack.gatewayUrl(1)],
      operatorToken: stack.operatorToken,
      orgs: 2,
      agentsPerOrg: 4,
      workers: options.workers ?? 6,
    });
    await load.setup();
    load.start();
    const faults: FaultRecord[] = [];
    let soak: Record<string, unknown> | undefined;
    if (options.mode === 'soak') soak = await soakFor(stack, pg, load, options.soakMs ?? 30 * 60_000, log);
    else await injectFaults(stack, pg, proxies, load, options.mode, faults, log);
    log('stopping the load');
    await load.stop();
    log('checking');
    const events = await readLog(stack.databaseUrl);
    const checks: Check[] = [
      checkAnswersInLog(load, events),
      checkMoney(load, events),
      ...(await checkReplayAndChain(stack.databaseUrl, log)),
      checkRevocation(load),
      checkRateLimits(load, LIMITED_OVERRIDES, faults),
      checkErrorsAndWaits(load, options.mode === 'soak' ? { ...BOUNDS, max5xxShare: 0.01 } : BOUNDS),
    ];
    if (soak) checks.push(soak['check'] as Check);
    const pass = checks.every((c) => c.pass);
    return { mode: options.mode, pass, seconds: Math.round((Date.now() - started) / 1000), faults, checks, ...(soak ? { soak } : {}), logs: logDir };
  } finally {
    // After a failure mid-run the load is still going: stop it, or its loops keep the process alive.
    await load?.stop();
    if (process.env['CHAOS_KEEP']) {
      // For a post-mortem: the apps stop, the database and its server stay up.
      log(`kept: Postgres at ${pg.url} (database ${stack?.databaseUrl}); stop it with kill -INT ${pg.pid}`);
      await Promise.all((stack?.allProcesses ?? []).map((p) => p.stop('SIGTERM')));
    } else {
      await stack?.stop().catch(() => undefined);
      await pg.stop().catch(() => undefined);
    }
    for (const p of proxies.values()) await p.close();
  }
}

/** One fault at a time, with load running throughout and a pause after each for the system to recover. */
async function injectFaults(stack: Stack, pg: PostgresServer, proxies: Map<number, TcpProxy>, load: Load, mode: 'full' | 'short', faults: FaultRecord[], log: (m: string) => void): Promise<void> {
  const recoverMs = mode === 'full' ? 5_000 : 3_000;
  const at = () => load.recorder.now();
  const record = async (fault: string, target: string, act: () => Promise<void>) => {
    const f: FaultRecord = { fault, target, started: at(), ended: 0 };
    log(`${fault} ${target}`);
    await act();
    f.ended = at();
    faults.push(f);
    await sleep(recoverMs);
  };
  await sleep(recoverMs);
  const apps: App[] = [...BACKEND_APPS, 'gateway'];
  const targets = mode === 'full' ? apps.flatMap((app) => [0, 1].map((i) => [app, i] as const)) : apps.map((app, n) => [app, n % 2] as const);
  for (const [app, index] of targets) {
    await record('kill', `${app}#${index}`, async () => {
      // SIGKILL, then start it again at once; a gateway is back when it listens (slow on a busy machine).
      await stack.kill(app, index, 'SIGKILL');
      stack.process(app, index).start();
      if (app === 'gateway') {
        await waitFor(`gateway ${index} to listen again`, async () => (await fetch(`${stack.gatewayUrl(index)}/healthz`)).ok, 180_000, 200);
      } else await sleep(500);
    });
  }
  await record('nats-restart', 'nats', () => stack.restartNats(500));
  await record('postgres-restart', 'postgres', () => pg.restart(0));
  await record('nats-cut', 'gateway#1', async () => {
    const proxy = proxies.get(1)!;
    proxy.cut();
    await sleep(CUT_MS);
    proxy.heal();
  });
}

/** Memory (RSS, MB) of a process, from /proc. */
function rssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Math.round(kb / 102.4) / 10;
  } catch {
    return null;
  }
}

function memory(stack: Stack, pg: PostgresServer): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const p of stack.allProcesses) out[p.name] = rssMb(p.pid);
  out['postgres (postmaster)'] = rssMb(pg.pid);
  return out;
}

/** How far each log processor is behind the log's head: events not processed yet, and the oldest one's age. */
export async function processorLag(databaseUrl: string): Promise<Record<string, { events_behind: number; oldest_unprocessed_s: number }>> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query(`
      select c.name,
             (select count(*) from events e where (e.transaction_id, e.position) > (c.transaction_id, c.position))::int as behind,
             coalesce(extract(epoch from now() - (select min(recorded_at) from events e where (e.transaction_id, e.position) > (c.transaction_id, c.position))), 0)::float as oldest
      from processor_checkpoints c order by c.name`);
    return Object.fromEntries(rows.map((r) => [r.name, { events_behind: r.behind, oldest_unprocessed_s: Math.round(r.oldest * 10) / 10 }]));
  } finally {
    await db.end();
  }
}

/** Load without faults for `durationMs`: memory of every process at start and end, and processor lag throughout. */
async function soakFor(stack: Stack, pg: PostgresServer, load: Load, durationMs: number, log: (m: string) => void): Promise<Record<string, unknown>> {
  const warmupMs = Math.min(60_000, durationMs / 10);
  await sleep(warmupMs);
  const start = memory(stack, pg);
  const lagSamples: { at_s: number; lag: Awaited<ReturnType<typeof processorLag>> }[] = [];
  const end = Date.now() + durationMs - warmupMs;
  while (Date.now() < end) {
    await sleep(Math.min(60_000, Math.max(0, end - Date.now())));
    const lag = await processorLag(stack.databaseUrl);
    lagSamples.push({ at_s: Math.round(load.recorder.now() / 1000), lag });
    log(`soak: ${Math.round((end - Date.now()) / 1000)} s left; lag ${JSON.stringify(lag)}`);
  }
  const finish = memory(stack, pg);
  const grown = Object.keys(start).filter((name) => {
    const a = start[name];
    const b = finish[name];
    return a !== null && b !== null && b > a * RSS_GROWTH_BOUND.factor + RSS_GROWTH_BOUND.plusMb;
  });
  const maxBehind = Math.max(0, ...lagSamples.flatMap((s) => Object.values(s.lag).map((l) => l.events_behind)));
  const maxOldest = Math.max(0, ...lagSamples.flatMap((s) => Object.values(s.lag).map((l) => l.oldest_unprocessed_s)));
  return {
    duration_s: Math.round(durationMs / 1000),
    rss_mb_start: start,
    rss_mb_end: finish,
    rss_bound: `end <= start * ${RSS_GROWTH_BOUND.factor} + ${RSS_GROWTH_BOUND.plusMb} MB`,
    processor_lag_samples: lagSamples,
    check: {
      name: 'soak_memory_and_lag',
      pass: grown.length === 0 && maxOldest <= 30,
      processes_over_rss_bound: grown,
      max_events_behind: maxBehind,
      max_oldest_unprocessed_s: maxOldest,
      lag_bound_s: 30,
    },
  };
}
