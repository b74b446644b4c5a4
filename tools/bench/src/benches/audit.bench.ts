import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Kysely, sql } from 'kysely';
import { ChainHasher, GENESIS_HASH, generateSigningSeed, parseSigningKey, rawPublicKey } from '@keyledger/audit-domain';
import { AUDIT_READ_MODEL_TABLES, auditMigrations, auditProjection, chainEvents, chainHeadPlace, readChainSource, ReadModelProjection, replayReadModels, signHeadIfDue, verifyStoredChain, verifyStoredChainSinceVerified } from '@keyledger/audit-data-access';
import { BUDGET_READ_MODEL_TABLES, BUDGET_TABLES, budgetMigrations, budgetProjection } from '@keyledger/budget-data-access';
import { createDb, EventMetadata, EventStore, eventStoreMigrations, LogCheckpoint, checkpointOf, migrateToLatest, readCheckpoint } from '@keyledger/event-store';
import { KEYS_READ_MODEL_TABLES, KEYS_TABLES, keysMigrations, keysProjection } from '@keyledger/keys-data-access';
import * as os from 'node:os';
import { FromChainer, ToChainer } from '@keyledger/audit-feature';
import type { FromBenchChainer, ToBenchChainer } from '../chainer-thread';
import { backendCpuSeconds, clockTicksPerSecond, cpuSeconds, DATABASE_BACKENDS_SQL } from '../cpu';
import { streamWriter } from './event-store.bench';
import { Bench, BenchContext, PhaseResult, measure, positiveInt, positiveInts, round, UsageError } from '../bench';
import { createBenchDatabase } from '../bench-database';

const meta: EventMetadata = { request_id: 'req_bench', actor_key_id: 'key_bench', agent_id: null, ip: '127.0.0.1', environment: 'test' };
/** Every service's read model, as `keyledger audit replay` rebuilds them. */
const projections: readonly ReadModelProjection[] = [
  { service: 'key-registry', projection: keysProjection, tables: KEYS_READ_MODEL_TABLES },
  { service: 'budget-ledger', projection: budgetProjection, tables: BUDGET_READ_MODEL_TABLES },
  { service: 'audit-attestation', projection: auditProjection, tables: AUDIT_READ_MODEL_TABLES },
];
const BENCH_KEYS = { ...KEYS_TABLES, ...BUDGET_TABLES, ...auditProjection.tables } as Record<string, readonly string[]>;

/**
 * `orgs` × 100 events of every service, as they write them: per organization an org, a root key, an
 * agent and its key, a deposit and a budget; ten rounds of a captured spend with its attestation
 * and a partial or full refund, a hold captured in part, a hold released or expired and a decline;
 * then the agent renamed, paused and resumed and its key revoked. Money events go to the wallet's
 * stream, as the ledger appends them. Organizations interleave in the log (2 000 at a time), so a
 * spend's events lie apart as in a busy system. Bulk INSERT … SELECT.
 */
async function generateEvents(db: Kysely<any>, orgs: number, log: (m: string) => void): Promise<void> {
  const chunk = 2_000;
  for (let from = 1; from <= orgs; from += chunk) {
    const to = Math.min(orgs, from + chunk - 1);
    await sql`
      insert into events (stream, stream_version, type, data, metadata, org_id)
      select e.stream, e.version, e.type, e.data,
        jsonb_build_object('request_id', 'req_' || u || '_' || e.ord, 'actor_key_id', 'key_a' || u, 'agent_id', null, 'ip', '10.0.0.1', 'environment', 'test'), 'org_' || u
      from generate_series(${from}::int, ${to}::int) as u
      cross join lateral (select
        'org_' || u as org, 'agt_' || u as agent,
        jsonb_build_object('org_id', 'org_' || u, 'environment', 'test', 'currency', 'usd') as wallet,
        'wallet-org_' || u || '.test.usd' as wallet_stream,
        timestamptz '2026-11-22 10:00:00+00' as t0) o
      cross join lateral (
        select * from (values
          (1, 'org-' || o.org, 1, 'OrgCreated', jsonb_build_object('org_id', o.org, 'name', 'Org ' || u, 'plan', 'growth', 'sandbox', false, 'created_at', o.t0)),
          (2, 'key-key_a' || u, 1, 'KeyCreated', jsonb_build_object('key_id', 'key_a' || u, 'org_id', o.org, 'name', 'backend', 'key_hash', md5('a' || u), 'key_prefix', 'kl_test', 'last4', right(md5('a' || u), 4), 'environment', 'test', 'scopes', jsonb_build_array('*'), 'agent_id', null, 'expires_at', null, 'signing', false, 'claimed', true, 'rolled_from', null, 'created_at', o.t0 + interval '2 s')),
          (3, 'agent-' || o.agent, 1, 'AgentCreated', jsonb_build_object('agent_id', o.agent, 'org_id', o.org, 'environment', 'test', 'name', 'shopper ' || u, 'metadata', jsonb_build_object('team', 'ops'), 'created_at', o.t0 + interval '3 s')),
          (4, 'key-key_b' || u, 1, 'KeyCreated', jsonb_build_object('key_id', 'key_b' || u, 'org_id', o.org, 'name', 'agent key', 'key_hash', md5('b' || u), 'key_prefix', 'kl_test', 'last4', right(md5('b' || u), 4), 'environment', 'test', 'scopes', jsonb_build_array('spend:write', 'wallet:read'), 'agent_id', o.agent, 'expires_at', '2027-01-01T00:00:00.000Z', 'signing', true, 'claimed', true, 'rolled_from', null, 'created_at', o.t0 + interval '4 s')),
          (5, o.wallet_stream, 1, 'FundsDeposited', o.wallet || jsonb_build_object('amount', 10000000, 'deposited_at', o.t0 + interval '5 s')),
          (6, 'budget-' || o.agent, 1, 'BudgetSet', o.wallet || jsonb_build_object('agent_id', o.agent, 'fixed_limit', 100000, 'budget_percent', 12.5, 'max_position_value', null, 'limits', jsonb_build_array(jsonb_build_object('interval', 'daily', 'amount', 20000)), 'require_attestation', false, 'set_at', o.t0 + interval '6 s')),
          (97, 'agent-' || o.agent, 2, 'AgentUpdated', jsonb_build_object('agent_id', o.agent, 'name', 'buyer ' || u, 'updated_at', o.t0 + interval '97 s')),
          (98, 'agent-' || o.agent, 3, 'AgentPaused', jsonb_build_object('agent_id', o.agent, 'duration', '1h', 'paused_until', o.t0 + interval '1 h 98 s', 'paused_at', o.t0 + interval '98 s')),
          (99, 'agent-' || o.agent, 4, 'AgentResumed', jsonb_build_object('agent_id', o.agent, 'automatic', false, 'resumed_at', o.t0 + interval '99 s')),
          (100, 'key-key_b' || u, 2, 'KeyRevoked', jsonb_build_object('key_id', 'key_b' || u, 'reason', 'requested', 'revoked_at', o.t0 + interval '100 s'))
        ) as setup(ord, stream, version, type, data)
        union all
        select s.* from generate_series(0, 9) as c
        cross join lateral (select
          'sp_' || u || '_' || c as sp, 7 + c * 9 as base, 2 + c * 8 as v, 100 + c as amount,
          o.wallet || jsonb_build_object('agent_id', o.agent, 'day', '2026-11-22') as facts) r
        cross join lateral (values
          (r.base, o.wallet_stream, r.v, 'SpendAuthorized', r.facts || jsonb_build_object('spend_id', r.sp || 'a', 'amount', r.amount, 'capture', true, 'merchant', 'acme.example', 'description', 'compute credits', 'attestation', jsonb_build_object('purpose', 'compute credits', 'expected_amount', r.amount, 'merchant', 'acme.example'), 'idempotency_key', 'idem_' || r.sp, 'authorized_at', o.t0 + r.base * interval '1 s', 'expires_at', null)),
          (r.base + 1, o.wallet_stream, r.v + 1, 'SpendCaptured', r.facts || jsonb_build_object('spend_id', r.sp || 'a', 'amount', r.amount, 'released_amount', 0, 'captured_at', o.t0 + r.base * interval '1 s')),
          (r.base + 2, 'attestation-att_' || r.sp, 1, 'AttestationRecorded', jsonb_build_object('attestation_id', 'att_' || r.sp, 'org_id', o.org, 'environment', 'test', 'agent_id', o.agent, 'spend_id', r.sp || 'a', 'statement', jsonb_build_object('purpose', 'compute credits', 'expected_amount', r.amount, 'merchant', 'acme.example'), 'mismatches', jsonb_build_array(), 'recorded_at', o.t0 + (r.base + 2) * interval '1 s')),
          (r.base + 3, o.wallet_stream, r.v + 2, 'SpendAuthorized', r.facts || jsonb_build_object('spend_id', r.sp || 'b', 'amount', 500, 'capture', false, 'merchant', 'travel.example', 'description', null, 'attestation', null, 'idempotency_key', null, 'authorized_at', o.t0 + (r.base + 3) * interval '1 s', 'expires_at', o.t0 + interval '7 days' + (r.base + 3) * interval '1 s')),
          (r.base + 4, o.wallet_stream, r.v + 3, 'SpendCaptured', r.facts || jsonb_build_object('spend_id', r.sp || 'b', 'amount', 450, 'released_amount', 50, 'captured_at', o.t0 + (r.base + 4) * interval '1 s')),
          (r.base + 5, o.wallet_stream, r.v + 4, 'SpendAuthorized', r.facts || jsonb_build_object('spend_id', r.sp || 'c', 'amount', 200, 'capture', false, 'merchant', null, 'description', null, 'attestation', null, 'idempotency_key', null, 'authorized_at', o.t0 + (r.base + 5) * interval '1 s', 'expires_at', o.t0 + interval '7 days' + (r.base + 5) * interval '1 s')),
          (r.base + 6, o.wallet_stream, r.v + 5, case when c % 2 = 0 then 'HoldReleased' else 'HoldExpired' end,
            r.facts || jsonb_build_object('spend_id', r.sp || 'c', 'amount', 200) || case when c % 2 = 0
              then jsonb_build_object('reason', 'requested', 'released_at', o.t0 + (r.base + 6) * interval '1 s')
              else jsonb_build_object('expired_at', o.t0 + interval '7 days' + (r.base + 5) * interval '1 s') end),
          (r.base + 7, o.wallet_stream, r.v + 6, 'SpendRefunded', r.facts || jsonb_build_object('spend_id', r.sp || 'a', 'amount', case when c % 3 = 0 then r.amount else 40 end, 'refunded_at', o.t0 + (r.base + 7) * interval '1 s')),
          (r.base + 8, o.wallet_stream, r.v + 7, 'SpendDeclined', o.wallet || jsonb_build_object('spend_id', r.sp || 'd', 'agent_id', o.agent, 'amount', 250000, 'capture', true, 'code', 'BUDGET_EXCEEDED', 'limiting_factor', 'fixed_limit', 'limit', 100000, 'used', 1000, 'remaining', 99000, 'idempotency_key', null, 'declined_at', o.t0 + (r.base + 8) * interval '1 s'))
        ) as s(ord, stream, version, type, data)
      ) as e
      order by e.ord, u`.execute(db);
    log(`generated ${to * 100} events`);
  }
}

/** Reads the log in log order through a cursor, as replay does, projecting nothing: the floor under replay. */
async function readLog(db: Kysely<any>, batchSize: number): Promise<{ events: number; seconds: number }> {
  const started = process.hrtime.bigint();
  const events = await db.transaction().execute(async (trx) => {
    await sql`set transaction isolation level repeatable read, read only`.execute(trx);
    await sql`declare bench_log no scroll cursor for select type, data, position from events order by transaction_id, position`.execute(trx);
    let n = 0;
    for (;;) {
      const page = await sql`fetch forward ${sql.lit(batchSize)} from bench_log`.execute(trx);
      if (page.rows.length === 0) return n;
      n += page.rows.length;
    }
  });
  return { events, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Writes the read models' rows again into empty unlogged copies with one INSERT … SELECT per table: the floor of writing them. */
async function copyRows(db: Kysely<any>, tables: readonly string[]): Promise<{ rows: number; seconds: number }> {
  await sql`create schema bench_copy`.execute(db);
  try {
    for (const table of tables) {
      await sql`create unlogged table ${sql.id('bench_copy', table)} (like ${sql.id('public', table)} including defaults including constraints)`.execute(db);
      await sql`alter table ${sql.id('bench_copy', table)} add primary key (${sql.join(BENCH_KEYS[table].map((c) => sql.id(c)))})`.execute(db);
    }
    const started = process.hrtime.bigint();
    let rows = 0;
    for (const table of tables) {
      const result = await sql`insert into ${sql.id('bench_copy', table)} select * from ${sql.id('public', table)}`.execute(db);
      rows += Number(result.numAffectedRows ?? 0);
    }
    return { rows, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } finally {
    await sql`drop schema bench_copy cascade`.execute(db);
  }
}

/** Chains the log from the chain's head to its end as the chainer does, batch after batch; returns events/s. */
async function chainAll(db: Kysely<any>, log: (m: string) => void): Promise<{ events: number; seconds: number }> {
  let from = await chainHeadPlace(db);
  const started = process.hrtime.bigint();
  let events = 0;
  for (;;) {
    const batch = await db.transaction().execute(async (trx) => {
      const rows = await readChainSource(trx, from, 5_000);
      await chainEvents(trx, rows);
      return rows;
    });
    if (batch.length === 0) {
      // Nothing readable yet is not the end while events remain: the gap-safe read waits out
      // transactions open anywhere on the server.
      if ((await unchainedEvents(db)) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    events += batch.length;
    from = checkpointOf(batch[batch.length - 1]);
    if (events % 200_000 === 0) log(`chained ${events} events`);
  }
  return { events, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

function phase(result: PhaseResult) {
  return { events_per_s: result.unitsPerSecond, transactions_per_s: result.operationsPerSecond, events: result.units, seconds: result.seconds, latency_ms: result.latencyMs };
}

/** Events after the chain's head in log order (every event while there is no head yet). */
async function unchainedEvents(db: Kysely<any>): Promise<number> {
  const after = await chainHeadPlace(db);
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from events where (transaction_id, position) > (${after.transactionId}::xid8, ${after.position}::bigint)`.execute(db);
  return rows[0].n;
}

/**
 * GET /v1/audit/verify's way over the generated log: the first call walks it all and remembers the
 * newest checkpoint; after `more` events are appended, chained and signed, the next call walks only those.
 */
async function verifySinceCheckpoint(db: Kysely<any>, key: ReturnType<typeof parseSigningKey>, more: number) {
  const publicKey = rawPublicKey(key);
  const timed = async () => {
    const started = process.hrtime.bigint();
    const result = await verifyStoredChainSinceVerified(db, { publicKey });
    if (!result.ok) throw new Error(`generated chain does not verify: ${JSON.stringify(result)}`);
    return { events_verified: result.events_verified, ms: round(Number(process.hrtime.bigint() - started) / 1e6, 1) };
  };
  const first = await timed();
  const store = new EventStore(db);
  for (let version = 0; version < more; version += 100) {
    const events = Array.from({ length: 100 }, (_, i) => ({ type: 'AgentUpdated', data: { agent_id: 'agt_incremental', name: `n${version + i}`, updated_at: '2026-11-22T11:00:00.000Z' } }));
    await store.append('agent-agt_incremental', version, events, meta, { orgId: 'org_incremental' });
  }
  await chainAll(db, () => undefined);
  await db.transaction().execute((trx) => signHeadIfDue(trx, key, { everyEvents: 1, everyMs: 0 }, new Date()));
  const next = await timed();
  return { first_call: first, events_appended_since: more, next_call: next };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * The chainer on a thread of its own (chainer-thread.ts: audit-attestation's chainer thread), running
 * from the moment it is made; `cpuSeconds` asks the thread for its own CPU time; `close` stops it
 * (lease released) and ends the thread.
 */
function chainerThread(databaseUrl: string, signingSeed: string, ticksPerSecond: number) {
  const worker = new Worker(join(__dirname, '../../thread.cjs'), { workerData: { module: join(__dirname, '../chainer-thread.ts'), databaseUrl, signingSeed, ticksPerSecond } });
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  worker.on('message', (message: FromChainer) => {
    if (message.type === 'log' && message.level === 'warn') console.error(`[chainer] ${message.message} ${JSON.stringify(message.fields)}`);
  });
  let asked = 0;
  return {
    cpuSeconds(): Promise<number | null> {
      const id = ++asked;
      return new Promise((resolve) => {
        const answer = (message: FromChainer | FromBenchChainer) => {
          if (message.type !== 'cpu' || message.id !== id) return;
          worker.off('message', answer);
          resolve(message.seconds);
        };
        worker.on('message', answer);
        worker.postMessage({ type: 'cpu', id } satisfies ToBenchChainer);
      });
    },
    async close() {
      const stopped = new Promise<void>((resolve) => worker.on('message', (message: FromChainer) => message.type === 'stopped' && resolve()));
      worker.postMessage({ type: 'stop' } satisfies ToChainer);
      await Promise.race([failed, stopped]).catch(() => undefined);
      await worker.terminate();
    },
  };
}

/**
 * CPU seconds used so far by this process (the writers, and the chainer's thread while it runs) and
 * by the Postgres backends of one database, by application name (backendCpuSeconds; the pools here
 * keep their connections while in use).
 */
async function cpuSample(db: Kysely<any>, ticks: number): Promise<{ process: number; backends: Map<string, number> }> {
  const { rows } = await sql.raw<{ pid: number; application_name: string }>(DATABASE_BACKENDS_SQL).execute(db);
  return { process: cpuSeconds(process.pid, ticks) ?? 0, backends: backendCpuSeconds(rows, ticks) };
}

const backendDelta = (before: Map<string, number>, after: Map<string, number>, name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);

/**
 * The least work any chainer under the hash definition does per event, measured on the
 * events a workload appended: read each back in log order (readChainSource, in the chainer's
 * batches of 1 000) and hash it (ChainHasher: the canonicalization library, then SHA-256), writing
 * nothing — no link, no head, no checkpoint. CPU per event of this thread and of its connection's
 * backend (a pool of one, so one backend). The writers are done and the chainer is caught up and
 * idle but for its polls, on a thread of its own, while this runs.
 */
async function readAndHashFloor(databaseUrl: string, from: LogCheckpoint, ticks: number): Promise<{ events: number; node: number; postgres: number }> {
  const db = createDb(databaseUrl, { poolSize: 1, applicationName: 'bench-audit-floor' });
  try {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
    const backend = rows[0].pid;
    const hasher = new ChainHasher();
    const [nodeBefore, backendBefore] = [cpuSeconds('thread-self', ticks) ?? 0, cpuSeconds(backend, ticks) ?? 0];
    let events = 0;
    let prev: Buffer = GENESIS_HASH;
    for (let after = from; ; ) {
      const batch = await readChainSource(db, after, 1_000);
      if (batch.length === 0) break;
      for (const event of batch) prev = hasher.hash(prev, event);
      events += batch.length;
      after = checkpointOf(batch[batch.length - 1]);
    }
    const [nodeAfter, backendAfter] = [cpuSeconds('thread-self', ticks) ?? 0, cpuSeconds(backend, ticks) ?? 0];
    return { events, node: nodeAfter - nodeBefore, postgres: backendAfter - backendBefore };
  } finally {
    await db.destroy();
  }
}

/**
 * Append throughput without the chainer vs with it, for one workload, in `rounds` interleaved pairs
 * in one run (ABBA order: without/with, then with/without, …) so drift in the machine's load hits
 * both sides alike. "Without" is the log as it is with no audit-attestation deployed: a database
 * with the event store's migrations only. "With" is a database with audit-attestation's migrations
 * too (its chain table included) and its chainer (the same LogProcessor options, chainEvents and
 * checkpoint signing) running on a thread of its own, as it is its own process in a deployment. The
 * chainer is caught up when a "with" phase starts and waited for after it ends, so the phase pays
 * for chaining what it appended; the lag left at its end and the catch-up time are reported.
 *
 * Beside the rates, CPU per appended event: the writers (this process and its backends) in the
 * phases without, and in the phases with (catch-up included) the chainer's thread and backends
 * and everything together. Rates depend on how much of the machine was free; these hold better.
 */
async function chainerCostOf(
  context: BenchContext,
  setup: { plainDb: Kysely<any>; db: Kysely<any>; databaseUrl: string; chainer: ReturnType<typeof chainerThread>; ticks: number },
  workload: { writers: number; batch: number; rounds: number },
): Promise<Record<string, unknown>> {
  const { writers, batch, rounds } = workload;
  const { plainDb, db, databaseUrl, chainer, ticks } = setup;
  const load = { workers: writers, seconds: context.durationSeconds, warmupSeconds: context.warmupSeconds };
  const pending = () => unchainedEvents(db);
  const caughtUp = async () => {
    while ((await pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  };
  const plainStore = new EventStore(plainDb);
  const store = new EventStore(db);
  const without: PhaseResult[] = [];
  const withChainer: PhaseResult[] = [];
  const lags: number[] = [];
  const catchUpsMs: number[] = [];
  const cpu = { writers: 0, writersBackends: 0, withAll: 0, chainerThread: 0, chainerBackends: 0 };
  await caughtUp();
  const workloadStart = await chainHeadPlace(db);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
    for (const side of order) {
      const tag = `b${batch}r${r}${side === 'with' ? 'b' : 'a'}_`;
      if (side === 'without') {
        context.log(`${batch}-event appends, round ${r + 1}/${rounds}: no audit, ${writers} writers, ${context.durationSeconds}s`);
        const [before, chainerBefore] = await Promise.all([cpuSample(plainDb, ticks), chainer.cpuSeconds()]);
        without.push(await measure(load, streamWriter(plainStore, batch, tag)));
        const [after, chainerAfter] = await Promise.all([cpuSample(plainDb, ticks), chainer.cpuSeconds()]);
        // The chainer's thread is idle here but for its polls of the other database: not the writers'.
        cpu.writers += after.process - before.process - ((chainerAfter ?? 0) - (chainerBefore ?? 0));
        cpu.writersBackends += backendDelta(before.backends, after.backends, 'bench-audit');
        continue;
      }
      await caughtUp();
      context.log(`${batch}-event appends, round ${r + 1}/${rounds}: the same with the audit chainer running`);
      const [before, chainerBefore] = await Promise.all([cpuSample(db, ticks), chainer.cpuSeconds()]);
      withChainer.push(await measure(load, streamWriter(store, batch, tag)));
      lags.push(await pending());
      const lagStarted = Date.now();
      await caughtUp();
      catchUpsMs.push(Date.now() - lagStarted);
      const [after, chainerAfter] = await Promise.all([cpuSample(db, ticks), chainer.cpuSeconds()]);
      const chainerBackends = backendDelta(before.backends, after.backends, 'bench-audit-chainer');
      cpu.chainerThread += (chainerAfter ?? 0) - (chainerBefore ?? 0);
      cpu.chainerBackends += chainerBackends;
      cpu.withAll += after.process - before.process + chainerBackends + backendDelta(before.backends, after.backends, 'bench-audit');
    }
  }
  const events = (results: PhaseResult[]) => results.reduce((sum, r) => sum + r.units, 0);
  const rate = (results: PhaseResult[]) => events(results) / results.reduce((sum, r) => sum + r.seconds, 0);
  const baseline = rate(without);
  const chained = rate(withChainer);
  const pairCosts = withChainer.map((w, i) => round((1 - w.unitsPerSecond / without[i].unitsPerSecond) * 100, 1));
  // Chaining left over at the end of a phase is done while no one writes; charging its time to the
  // phase bounds the cost from above (the plain figure, from below, when the chain falls behind).
  const chargedSeconds = withChainer.reduce((sum, r, i) => sum + r.seconds + catchUpsMs[i] / 1000, 0);
  const chainedWithCatchUp = events(withChainer) / chargedSeconds;
  const perEvent = (seconds: number, n: number) => round((seconds * 1e6) / n, 1);
  const appendsCpu = perEvent(cpu.writers + cpu.writersBackends, events(without));
  const withCpu = perEvent(cpu.withAll, events(withChainer));
  await caughtUp();
  context.log(`${batch}-event appends: reading and hashing the workload's events again, writing nothing`);
  const floor = await readAndHashFloor(databaseUrl, workloadStart, ticks);
  const floorCpu = perEvent(floor.node + floor.postgres, floor.events);
  return {
    writers,
    batch,
    rounds,
    without_chainer: without.map(phase),
    with_chainer: withChainer.map(phase),
    without_chainer_events_per_s: round(baseline, 1),
    with_chainer_events_per_s: round(chained, 1),
    chain_lag_at_end_events: lags,
    chain_catch_up_ms: catchUpsMs,
    with_vs_without_chainer: round(chained / baseline, 3),
    chainer_cost_percent: round((1 - chained / baseline) * 100, 1),
    chainer_cost_percent_with_catch_up: round((1 - chainedWithCatchUp / baseline) * 100, 1),
    chainer_cost_percent_per_round: pairCosts,
    chainer_cost_percent_median_round: median(pairCosts),
    cpu_us_per_event: {
      appends_without_chainer: appendsCpu,
      // Of which Postgres (the writers' backends): what the database server pays wherever the writers run.
      appends_postgres: perEvent(cpu.writersBackends, events(without)),
      chainer_thread_and_backends: perEvent(cpu.chainerThread + cpu.chainerBackends, events(withChainer)),
      // Of which Postgres (the chainer's backends): what the database server pays when audit-attestation runs elsewhere.
      chainer_postgres: perEvent(cpu.chainerBackends, events(withChainer)),
      everything_with_chainer: withCpu,
      // What running the chainer adds per event, as a share of what appending costs without it.
      added_by_chainer_percent: round(((withCpu - appendsCpu) / appendsCpu) * 100, 1),
    },
    // The least any chainer under the hash definition does (readAndHashFloor). Where the
    // appends keep every core busy, as here, the machine does appends + floor of CPU per event
    // with the chainer at best, so appends per second fall by at least floor / (appends + floor).
    read_and_hash_floor: {
      events: floor.events,
      cpu_us_per_event: floorCpu,
      node: perEvent(floor.node, floor.events),
      postgres: perEvent(floor.postgres, floor.events),
      least_cost_percent_on_busy_cores: round((floorCpu / (appendsCpu + floorCpu)) * 100, 1),
    },
  };
}

/**
 * The chainer's cost for each append workload (`batches`: events per append), each in rounds of its
 * own, on two databases made for the run. The default workloads are the event-store bench's:
 * single-event appends and 100-event batches from 16 writers.
 */
async function chainerCost(
  context: BenchContext,
  options: { writers: number; batches: readonly number[]; rounds: number; signingSeed: string },
): Promise<Record<string, unknown>> {
  const plainDatabase = await createBenchDatabase(context.pgServerUrl, 'audit_append_plain');
  const database = await createBenchDatabase(context.pgServerUrl, 'audit_append');
  const plainDb = createDb(plainDatabase.url, { poolSize: options.writers + 1, applicationName: 'bench-audit' });
  const db = createDb(database.url, { poolSize: options.writers + 2, applicationName: 'bench-audit' });
  const ticks = await clockTicksPerSecond();
  let chainer: ReturnType<typeof chainerThread> | null = null;
  try {
    await migrateToLatest(plainDb, [eventStoreMigrations]);
    await migrateToLatest(db, [eventStoreMigrations, auditMigrations]);
    chainer = chainerThread(database.url, options.signingSeed, ticks);
    const workloads: Record<string, unknown>[] = [];
    for (const batch of options.batches) {
      workloads.push(await chainerCostOf(context, { plainDb, db, databaseUrl: database.url, chainer, ticks }, { writers: options.writers, batch, rounds: options.rounds }));
    }
    return { order: 'ABBA: without/with, then with/without, alternating', workloads, chainer_checkpoint: await readCheckpoint(db, 'audit-chain') };
  } finally {
    await chainer?.close();
    await Promise.all([plainDb.destroy(), db.destroy()]);
    for (const d of [plainDatabase, database]) {
      if (context.keepDatabase) context.log(`kept database ${d.name}`);
      else await d.drop();
    }
  }
}

export const auditBench: Bench = {
  name: 'audit',
  description: 'Audit chain: append throughput with the chainer running vs not, chain, verify and replay rates over a generated log',
  options: {
    events: { type: 'string' },
    writers: { type: 'string' },
    batch: { type: 'string' },
    /** `replay`: only the generated log's replay and its baselines (no appends, chain or verify). */
    only: { type: 'string' },
    'replay-batch': { type: 'string' },
    'replay-flush': { type: 'string' },
    rounds: { type: 'string' },
  },
  async run(context: BenchContext) {
    const total = positiveInt(context.flags, 'events', 1_000_000);
    const writers = positiveInt(context.flags, 'writers', 16);
    const batches = positiveInts(context.flags, 'batch', [1, 100]);
    const replayBatch = positiveInt(context.flags, 'replay-batch', 10_000);
    const replayFlush = positiveInt(context.flags, 'replay-flush', 50_000);
    const only = context.flags['only'];
    if (only !== undefined && only !== 'replay') throw new UsageError(`--only takes "replay", got ${String(only)}`);
    const replayOnly = only === 'replay';
    const rounds = positiveInt(context.flags, 'rounds', 3);
    const signingSeed = generateSigningSeed();
    const key = parseSigningKey(signingSeed);

    // Part 1: appends with and without the chainer, in databases of their own.
    const appends: Record<string, unknown> = replayOnly
      ? { skipped: '--only replay' }
      : await chainerCost(context, { writers, batches, rounds, signingSeed });

    // Part 2: a generated log of `total` events of every service: chain, verify, replay.
    const database = await createBenchDatabase(context.pgServerUrl, 'audit_log');
    const db = createDb(database.url, {
      poolSize: 4,
      applicationName: 'bench-audit',
    });
    try {
      await migrateToLatest(db, [eventStoreMigrations, keysMigrations, budgetMigrations, auditMigrations]);
      const orgs = Math.ceil(total / 100);
      context.log(`generating ${orgs * 100} events`);
      const genStarted = process.hrtime.bigint();
      await generateEvents(db, orgs, context.log);
      const generateSeconds = Number(process.hrtime.bigint() - genStarted) / 1e9;
      await sql`vacuum analyze events`.execute(db);

      let chain: Record<string, unknown> = { skipped: '--only replay' };
      let verify: Record<string, unknown> = { skipped: '--only replay' };
      if (!replayOnly) {
        context.log('chaining');
        const chained = await chainAll(db, context.log);
        await db.transaction().execute((trx) => signHeadIfDue(trx, key, { everyEvents: 1, everyMs: 0 }, new Date()));
        await sql`vacuum analyze events`.execute(db);
        chain = {
          events: chained.events,
          seconds: round(chained.seconds, 2),
          events_per_s: round(chained.events / chained.seconds, 0),
        };

        context.log('verifying');
        const verifyStarted = process.hrtime.bigint();
        const verified = await verifyStoredChain(db);
        const verifySeconds = Number(process.hrtime.bigint() - verifyStarted) / 1e9;
        if (!verified.ok) throw new Error(`generated chain does not verify: ${JSON.stringify(verified)}`);
        verify = {
          events: verified.events_verified,
          seconds: round(verifySeconds, 2),
          events_per_s: round(verified.events_verified / verifySeconds, 0),
        };
      }

      // The live read models, built once by the same projections in batches of another size (the
      // measured replay must find no difference), so the measured replay compares equal tables.
      context.log('building the live read models');
      const tables = projections.flatMap((p) => p.tables);
      const seed = await replayReadModels(db, projections, { keepSchema: true, batchSize: 3_333, flushEvery: 7_777 });
      for (const table of tables) await sql`insert into ${sql.id('public', table)} select * from ${sql.id(seed.schema, table)}`.execute(db);
      await sql`drop schema ${sql.id(seed.schema)} cascade`.execute(db);
      await sql`vacuum analyze`.execute(db);

      context.log('replaying (measured)');
      const replayCpu = process.cpuUsage();
      let lastLog = 0;
      const replay = await replayReadModels(db, projections, {
        batchSize: replayBatch,
        flushEvery: replayFlush,
        onProgress: (done, all) => {
          if (Date.now() - lastLog > 5_000) {
            lastLog = Date.now();
            context.log(`replayed ${done}/${all}`);
          }
        },
      });
      const { user, system } = process.cpuUsage(replayCpu);
      if (replay.differences.length > 0) throw new Error(`replay differs from the live read models: ${JSON.stringify(replay.differences.slice(0, 3))}`);

      context.log('baselines: reading the log without projecting, writing the same rows with INSERT … SELECT');
      const read = await readLog(db, replayBatch);
      const copied = await copyRows(db, tables);
      const rows = replay.tables.reduce((n, t) => n + t.rows, 0);
      let verifyIncremental: Record<string, unknown> = { skipped: '--only replay' };
      if (!replayOnly) {
        context.log('verifying incrementally (GET /v1/audit/verify)');
        verifyIncremental = await verifySinceCheckpoint(db, key, 1_000);
      }
      return {
        config: {
          events: orgs * 100,
          writers,
          append_batches: batches,
          replay_batch: replayBatch,
          replay_flush_every: replayFlush,
          duration_s: context.durationSeconds,
          cpus: os.cpus().length,
          load_average: os.loadavg().map((l) => round(l, 2)),
        },
        appends,
        generate: {
          events: orgs * 100,
          seconds: round(generateSeconds, 2),
          events_per_s: round((orgs * 100) / generateSeconds, 0),
        },
        chain,
        verify,
        verify_incremental: verifyIncremental,
        replay: {
          events: replay.events,
          seconds: round(replay.seconds, 2),
          events_per_s: replay.events_per_second,
          compare_seconds: round(replay.compare_seconds, 2),
          // CPU this process spent folding (and comparing): the rest of the time is Postgres's, or waiting.
          node_cpu_seconds: round((user + system) / 1e6, 2),
          with_compare_events_per_s: round(replay.events / (replay.seconds + replay.compare_seconds), 0),
          differences: replay.differences.length,
          rows: replay.tables,
        },
        baselines: {
          read_log_only: {
            events: read.events,
            seconds: round(read.seconds, 2),
            events_per_s: round(read.events / read.seconds, 0),
          },
          insert_select_same_rows: {
            rows: copied.rows,
            seconds: round(copied.seconds, 2),
            rows_per_s: round(copied.rows / copied.seconds, 0),
          },
          replay_vs_read_only: round(replay.events_per_second / (read.events / read.seconds), 3),
          replay_rows_per_s: round(rows / replay.seconds, 0),
        },
        goals: {
          replay_at_least_50000_events_per_s: replay.events_per_second >= 50_000,
          // Judged on the upper bound, for every workload.
          chainer_cost_at_most_10_percent: replayOnly
            ? null
            : (appends['workloads'] as Record<string, unknown>[]).every((w) => (w['chainer_cost_percent_with_catch_up'] as number) <= 10),
        },
      };
    } finally {
      await db.destroy();
      if (context.keepDatabase) context.log(`kept database ${database.name}`);
      else await database.drop();
    }
  },
};
