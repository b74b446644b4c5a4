import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Kysely, sql } from 'kysely';
import { generateSigningSeed, parseSigningKey, rawPublicKey } from '@keyledger/audit-domain';
import { auditMigrations, chainEvents, replayReadModels, signHeadIfDue, verifyStoredChain, verifyStoredChainSinceVerified } from '@keyledger/audit-data-access';
import { createDb, EventMetadata, EventStore, eventStoreMigrations, LOG_START, LogCheckpoint, checkpointOf, migrateToLatest, readCheckpoint, readLogAfter } from '@keyledger/event-store';
import { KEYS_READ_MODEL_TABLES, keysMigrations, projectKeyEvents } from '@keyledger/keys-data-access';
import { Bench, BenchContext, PhaseResult, measure, positiveInt, round } from '../bench';
import { createBenchDatabase } from '../bench-database';

const STREAMS_PER_WRITER = 64;
const meta: EventMetadata = { request_id: 'req_bench', actor_key_id: 'key_bench', agent_id: null, ip: '127.0.0.1', environment: 'test' };
const projections = [{ service: 'key-registry', project: projectKeyEvents, tables: KEYS_READ_MODEL_TABLES }];

/** Appends `batch` agent events per transaction to streams of the writer's own, at known versions. */
function agentWriter(store: EventStore, batch: number, phase: string) {
  const versions = new Map<string, number>();
  const counters = new Map<number, number>();
  return async (writer: number): Promise<number> => {
    const n = (counters.get(writer) ?? 0) + 1;
    counters.set(writer, n);
    const stream = `agent-agt_${phase}_w${writer}_${n % STREAMS_PER_WRITER}`;
    const version = versions.get(stream) ?? 0;
    const events = Array.from({ length: batch }, (_, i) => ({
      type: 'AgentUpdated',
      data: { agent_id: `agt_w${writer}_${n % STREAMS_PER_WRITER}`, name: `agent ${n}-${i}`, metadata: { team: 'ops', n }, updated_at: new Date().toISOString() },
    }));
    const { nextExpectedVersion } = await store.append(stream, version, events, meta, { orgId: `org_${writer}` });
    versions.set(stream, nextExpectedVersion);
    return batch;
  };
}

/**
 * `units` × 10 key-registry events, as the service writes them: an org, an agent renamed, paused and
 * resumed, a key rolled and updated, an agent-bound key revoked. Bulk INSERT … SELECT, in chunks.
 */
async function generateKeyEvents(db: Kysely<any>, units: number, log: (m: string) => void): Promise<void> {
  const chunk = 10_000;
  for (let from = 1; from <= units; from += chunk) {
    const to = Math.min(units, from + chunk - 1);
    await sql`
      insert into events (stream, stream_version, type, data, metadata, org_id)
      select e.stream, e.version, e.type, e.data, jsonb_build_object('request_id', 'req_' || u, 'actor_key_id', 'key_root_' || u, 'agent_id', null, 'ip', '10.0.0.1', 'environment', 'test'), 'org_' || u
      from generate_series(${from}::int, ${to}::int) as u
      cross join lateral (values
        (1, 'org-org_' || u, 1, 'OrgCreated', jsonb_build_object('org_id', 'org_' || u, 'name', 'Org ' || u, 'plan', 'growth', 'sandbox', false, 'created_at', '2026-11-22T10:00:00.000Z')),
        (2, 'agent-agt_' || u, 1, 'AgentCreated', jsonb_build_object('agent_id', 'agt_' || u, 'org_id', 'org_' || u, 'environment', 'test', 'name', 'shopper ' || u, 'metadata', jsonb_build_object('team', 'ops'), 'created_at', '2026-11-22T10:00:01.000Z')),
        (3, 'key-key_a' || u, 1, 'KeyCreated', jsonb_build_object('key_id', 'key_a' || u, 'org_id', 'org_' || u, 'name', 'backend', 'key_hash', md5('a' || u), 'key_prefix', 'kl_test', 'last4', right(md5('a' || u), 4), 'environment', 'test', 'scopes', jsonb_build_array('*'), 'agent_id', null, 'expires_at', null, 'signing', false, 'signing_secret_sealed', null, 'claimed', true, 'rolled_from', null, 'created_at', '2026-11-22T10:00:02.000Z')),
        (4, 'key-key_b' || u, 1, 'KeyCreated', jsonb_build_object('key_id', 'key_b' || u, 'org_id', 'org_' || u, 'name', 'agent key', 'key_hash', md5('b' || u), 'key_prefix', 'kl_test', 'last4', right(md5('b' || u), 4), 'environment', 'test', 'scopes', jsonb_build_array('spend:write', 'wallet:read'), 'agent_id', 'agt_' || u, 'expires_at', '2027-01-01T00:00:00.000Z', 'signing', true, 'signing_secret_sealed', 'sealed:' || md5('s' || u), 'claimed', true, 'rolled_from', null, 'created_at', '2026-11-22T10:00:03.000Z')),
        (5, 'agent-agt_' || u, 2, 'AgentUpdated', jsonb_build_object('agent_id', 'agt_' || u, 'name', 'buyer ' || u, 'updated_at', '2026-11-22T10:00:04.000Z')),
        (6, 'agent-agt_' || u, 3, 'AgentPaused', jsonb_build_object('agent_id', 'agt_' || u, 'duration', '1h', 'paused_until', '2026-11-22T11:00:05.000Z', 'paused_at', '2026-11-22T10:00:05.000Z')),
        (7, 'agent-agt_' || u, 4, 'AgentResumed', jsonb_build_object('agent_id', 'agt_' || u, 'automatic', false, 'resumed_at', '2026-11-22T10:00:06.000Z')),
        (8, 'key-key_a' || u, 2, 'KeyUpdated', jsonb_build_object('key_id', 'key_a' || u, 'scopes', jsonb_build_array('keys:read', 'agents:read'), 'updated_at', '2026-11-22T10:00:07.000Z')),
        (9, 'key-key_a' || u, 3, 'KeyRolled', jsonb_build_object('key_id', 'key_a' || u, 'new_key_id', 'key_c' || u, 'expires_at', '2026-11-23T10:00:08.000Z', 'rolled_at', '2026-11-22T10:00:08.000Z')),
        (10, 'key-key_b' || u, 2, 'KeyRevoked', jsonb_build_object('key_id', 'key_b' || u, 'reason', 'requested', 'revoked_at', '2026-11-22T10:00:09.000Z'))
      ) as e(ord, stream, version, type, data)
      order by u, e.ord`.execute(db);
    if (to % 20_000 === 0 || to === units) log(`generated ${to * 10} events`);
  }
}

/** Chains the whole log as the chainer does, batch after batch; returns events/s. */
async function chainAll(db: Kysely<any>, log: (m: string) => void): Promise<{ events: number; seconds: number }> {
  const started = process.hrtime.bigint();
  let from: LogCheckpoint = LOG_START;
  let events = 0;
  for (;;) {
    const batch = await db.transaction().execute(async (trx) => {
      const rows = await readLogAfter(trx, from, 5_000);
      await chainEvents(trx, rows);
      return rows;
    });
    if (batch.length === 0) break;
    events += batch.length;
    from = checkpointOf(batch[batch.length - 1]);
    if (events % 200_000 === 0) log(`chained ${events} events`);
  }
  return { events, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
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
  const head = await sql<{ position: number; transaction_id: string }>`select position, transaction_id::text as transaction_id from audit_chain_head`.execute(db);
  let from: LogCheckpoint = { transactionId: head.rows[0].transaction_id, position: head.rows[0].position };
  // The gap-safe read waits out transactions open elsewhere on the server.
  while ((await sql<{ n: number }>`select count(*)::int as n from events where hash is null`.execute(db)).rows[0].n > 0) {
    const batch = await db.transaction().execute(async (trx) => {
      const rows = await readLogAfter(trx, from, 5_000);
      await chainEvents(trx, rows);
      return rows;
    });
    if (batch.length > 0) from = checkpointOf(batch[batch.length - 1]);
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await db.transaction().execute((trx) => signHeadIfDue(trx, key, { everyEvents: 1, everyMs: 0 }, new Date()));
  const next = await timed();
  return { first_call: first, events_appended_since: more, next_call: next };
}

function phase(result: PhaseResult) {
  return { events_per_s: result.unitsPerSecond, transactions_per_s: result.operationsPerSecond, events: result.units, seconds: result.seconds, latency_ms: result.latencyMs };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The chainer on a thread of its own (chainer-thread.ts); `send` resolves once the thread did it. */
function chainerThread(databaseUrl: string, signingSeed: string) {
  const worker = new Worker(join(__dirname, '../../thread.cjs'), { workerData: { module: join(__dirname, '../chainer-thread.ts'), databaseUrl, signingSeed } });
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  const send = (message: 'start' | 'stop' | 'exit') =>
    Promise.race([
      failed,
      new Promise<void>((resolve) => {
        const answered = (reply: string) => {
          if (reply !== message) return;
          worker.off('message', answered);
          resolve();
        };
        worker.on('message', answered);
        worker.postMessage(message);
      }),
    ]);
  return {
    start: () => send('start'),
    stop: () => send('stop'),
    async close() {
      await send('exit').catch(() => undefined);
      await worker.terminate();
    },
  };
}

/**
 * Append throughput without the chainer vs with it, in `rounds` interleaved pairs in one run (ABBA
 * order: without/with, then with/without, …) so drift in the machine's load hits both sides alike.
 * "Without" is the log as it is with no audit-attestation deployed: a database with the event
 * store's migrations only. "With" is a database with audit-attestation's migrations too (its
 * `fillfactor` on events included) and its chainer (the same LogProcessor options, chainEvents and
 * checkpoint signing) running on a thread of its own, as it is its own process in a deployment. The
 * chainer is caught up when a "with" phase starts and waited for after it ends, so the phase pays for
 * chaining what it appended; the lag left at its end and the catch-up time are reported.
 */
async function chainerCost(
  context: BenchContext,
  options: { writers: number; batch: number; rounds: number; signingSeed: string },
): Promise<Record<string, unknown>> {
  const { writers, batch, rounds } = options;
  const load = { workers: writers, seconds: context.durationSeconds, warmupSeconds: context.warmupSeconds };
  const plainDatabase = await createBenchDatabase(context.pgServerUrl, 'audit_append_plain');
  const database = await createBenchDatabase(context.pgServerUrl, 'audit_append');
  const plainDb = createDb(plainDatabase.url, { poolSize: writers + 1, applicationName: 'bench-audit' });
  const db = createDb(database.url, { poolSize: writers + 2, applicationName: 'bench-audit' });
  const chainer = chainerThread(database.url, options.signingSeed);
  const pending = async () => (await sql<{ n: number }>`select count(*)::bigint as n from events where hash is null`.execute(db)).rows[0].n;
  const caughtUp = async () => {
    while ((await pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  };
  try {
    await migrateToLatest(plainDb, [eventStoreMigrations]);
    await migrateToLatest(db, [eventStoreMigrations, auditMigrations]);
    const plainStore = new EventStore(plainDb);
    const store = new EventStore(db);
    await chainer.start();
    const without: PhaseResult[] = [];
    const withChainer: PhaseResult[] = [];
    const lags: number[] = [];
    const catchUpsMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
      for (const side of order) {
        const tag = `r${r}${side === 'with' ? 'b' : 'a'}`;
        if (side === 'without') {
          context.log(`round ${r + 1}/${rounds}: ${batch}-event appends, no audit, ${writers} writers, ${context.durationSeconds}s`);
          without.push(await measure(load, agentWriter(plainStore, batch, tag)));
          continue;
        }
        await caughtUp();
        context.log(`round ${r + 1}/${rounds}: the same with the audit chainer running`);
        withChainer.push(await measure(load, agentWriter(store, batch, tag)));
        lags.push(await pending());
        const lagStarted = Date.now();
        await caughtUp();
        catchUpsMs.push(Date.now() - lagStarted);
      }
    }
    const rate = (results: PhaseResult[]) => results.reduce((sum, r) => sum + r.units, 0) / results.reduce((sum, r) => sum + r.seconds, 0);
    const baseline = rate(without);
    const chained = rate(withChainer);
    const pairCosts = withChainer.map((w, i) => round((1 - w.unitsPerSecond / without[i].unitsPerSecond) * 100, 1));
    // Chaining left over at the end of a phase is done while no one writes; charging its time to the
    // phase bounds the cost from above (the plain figure, from below, when the chain falls behind).
    const chargedSeconds = withChainer.reduce((sum, r, i) => sum + r.seconds + catchUpsMs[i] / 1000, 0);
    const chainedWithCatchUp = withChainer.reduce((sum, r) => sum + r.units, 0) / chargedSeconds;
    const hot = await sql<{ updates: number; hot: number }>`
      select n_tup_upd::bigint as updates, n_tup_hot_upd::bigint as hot from pg_stat_user_tables where relname = 'events'`.execute(db);
    return {
      rounds,
      order: 'ABBA: without/with, then with/without, alternating',
      without_chainer: without.map(phase),
      with_chainer: withChainer.map(phase),
      without_chainer_events_per_s: round(baseline, 1),
      with_chainer_events_per_s: round(chained, 1),
      chain_lag_at_end_events: lags,
      chain_catch_up_ms: catchUpsMs,
      chainer_checkpoint: await readCheckpoint(db, 'audit-chain'),
      chain_updates_hot_percent: hot.rows[0] && hot.rows[0].updates > 0 ? round((hot.rows[0].hot / hot.rows[0].updates) * 100, 1) : null,
      with_vs_without_chainer: round(chained / baseline, 3),
      chainer_cost_percent: round((1 - chained / baseline) * 100, 1),
      chainer_cost_percent_with_catch_up: round((1 - chainedWithCatchUp / baseline) * 100, 1),
      chainer_cost_percent_per_round: pairCosts,
      chainer_cost_percent_median_round: median(pairCosts),
    };
  } finally {
    await chainer.close();
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
    rounds: { type: 'string' },
  },
  async run(context: BenchContext) {
    const total = positiveInt(context.flags, 'events', 1_000_000);
    const writers = positiveInt(context.flags, 'writers', 8);
    const batch = positiveInt(context.flags, 'batch', 10);
    const rounds = positiveInt(context.flags, 'rounds', 3);
    const signingSeed = generateSigningSeed();
    const key = parseSigningKey(signingSeed);

    // Part 1: appends with and without the chainer, in a database of their own.
    const appends = await chainerCost(context, { writers, batch, rounds, signingSeed });

    // Part 2: a generated log of `total` key-registry events: chain, verify, replay.
    const database = await createBenchDatabase(context.pgServerUrl, 'audit_log');
    const db = createDb(database.url, { poolSize: 4, applicationName: 'bench-audit' });
    try {
      await migrateToLatest(db, [eventStoreMigrations, keysMigrations, auditMigrations]);
      const units = Math.ceil(total / 10);
      context.log(`generating ${units * 10} events`);
      const genStarted = process.hrtime.bigint();
      await generateKeyEvents(db, units, context.log);
      const generateSeconds = Number(process.hrtime.bigint() - genStarted) / 1e9;
      await sql`vacuum analyze events`.execute(db);

      context.log('chaining');
      const chained = await chainAll(db, context.log);
      await db.transaction().execute((trx) => signHeadIfDue(trx, key, { everyEvents: 1, everyMs: 0 }, new Date()));
      await sql`vacuum analyze events`.execute(db);

      context.log('verifying');
      const verifyStarted = process.hrtime.bigint();
      const verified = await verifyStoredChain(db);
      const verifySeconds = Number(process.hrtime.bigint() - verifyStarted) / 1e9;
      if (!verified.ok) throw new Error(`generated chain does not verify: ${JSON.stringify(verified)}`);

      // The live read models, built once by the same projection, so the measured replay compares equal tables.
      context.log('building the live read models');
      const seed = await replayReadModels(db, projections, { keepSchema: true, batchSize: 5_000 });
      for (const table of KEYS_READ_MODEL_TABLES) await sql`insert into ${sql.id('public', table)} select * from ${sql.id(seed.schema, table)}`.execute(db);
      await sql`drop schema ${sql.id(seed.schema)} cascade`.execute(db);

      context.log('replaying (measured)');
      let lastLog = 0;
      const replay = await replayReadModels(db, projections, {
        batchSize: 5_000,
        onProgress: (done, all) => {
          if (Date.now() - lastLog > 5_000) {
            lastLog = Date.now();
            context.log(`replayed ${done}/${all}`);
          }
        },
      });
      context.log('verifying incrementally (GET /v1/audit/verify)');
      const verifyIncremental = await verifySinceCheckpoint(db, key, 1_000);
      return {
        config: { events: units * 10, writers, append_batch: batch, duration_s: context.durationSeconds, cpus: (await import('node:os')).cpus().length },
        appends,
        generate: { events: units * 10, seconds: round(generateSeconds, 2), events_per_s: round((units * 10) / generateSeconds, 0) },
        chain: { events: chained.events, seconds: round(chained.seconds, 2), events_per_s: round(chained.events / chained.seconds, 0) },
        verify: { events: verified.events_verified, seconds: round(verifySeconds, 2), events_per_s: round(verified.events_verified / verifySeconds, 0) },
        verify_incremental: verifyIncremental,
        replay: {
          events: replay.events,
          seconds: round(replay.seconds, 2),
          events_per_s: replay.events_per_second,
          differences: replay.differences.length,
          rows: replay.tables,
        },
        goals: {
          replay_at_least_50000_events_per_s: replay.events_per_second >= 50_000,
          chainer_cost_at_most_10_percent: (appends.chainer_cost_percent as number) <= 10,
        },
      };
    } finally {
      await db.destroy();
      if (context.keepDatabase) context.log(`kept database ${database.name}`);
      else await database.drop();
    }
  },
};
