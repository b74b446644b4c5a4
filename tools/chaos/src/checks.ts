import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { effectiveRateLimits, OPERATION_CLASSES, OperationClass, RateLimitOverrides } from '@keyledger/contracts';
import { REPO_ROOT } from '@keyledger/testing';
import type { Load } from './load';
import type { Attempt } from './recorder';

export interface Check {
  name: string;
  pass: boolean;
  [figure: string]: unknown;
}

/** A fault as it happened: what, and when (ms since the run's start). */
export interface FaultRecord {
  fault: string;
  target: string;
  started: number;
  ended: number;
}

/** Bounds the run is held to; README's Reliability section states them. */
export interface Bounds {
  /** Longest any single HTTP attempt may wait for an answer. */
  maxWaitMs: number;
  /** Most 5xx answers, as a share of all answers, while faults are injected. */
  max5xxShare: number;
}

const exec = promisify(execFile);

/** The event types each operation's 2xx answer must have produced, and the id that names the resource. */
const EXPECTED_EVENT: Record<string, { type: string; id: (data: any) => string | null; field: string }> = {
  spend: { type: 'SpendAuthorized', id: (d) => d?.id, field: 'spend_id' },
  hold: { type: 'SpendAuthorized', id: (d) => d?.id, field: 'spend_id' },
  capture: { type: 'SpendCaptured', id: (d) => d?.id, field: 'spend_id' },
  release: { type: 'HoldReleased', id: (d) => d?.id, field: 'spend_id' },
  'key-create': { type: 'KeyCreated', id: (d) => d?.id, field: 'key_id' },
  'limited-key-create': { type: 'KeyCreated', id: (d) => d?.id, field: 'key_id' },
  'key-revoke': { type: 'KeyRevoked', id: (d) => d?.id, field: 'key_id' },
  'limited-key-revoke': { type: 'KeyRevoked', id: (d) => d?.id, field: 'key_id' },
  pause: { type: 'AgentPaused', id: (d) => d?.id, field: 'agent_id' },
  resume: { type: 'AgentResumed', id: (d) => d?.id, field: 'agent_id' },
  deposit: { type: 'FundsDeposited', id: () => null, field: '' },
  'limited-deposit': { type: 'FundsDeposited', id: () => null, field: '' },
};

interface LoggedEvent {
  type: string;
  data: any;
  key: string | null;
  org_id: string | null;
  tx: string;
  position: string;
}

/**
 * Every 2xx answer to a POST is in the log exactly once: the events carrying its Idempotency-Key
 * exist, were written by one transaction (one effect, however many retries), and include the event
 * of the resource the answer named, which appears once in the whole log. Also, over the whole log,
 * no Idempotency-Key's events span two transactions (a duplicate effect nobody was told about).
 */
export function checkAnswersInLog(load: Load, events: LoggedEvent[]): Check {
  const byKey = new Map<string, LoggedEvent[]>();
  const byResource = new Map<string, number>();
  for (const e of events) {
    if (e.key) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
    for (const field of ['spend_id', 'key_id', 'agent_id']) {
      if (e.data?.[field]) byResource.set(`${e.type}:${e.data[field]}`, (byResource.get(`${e.type}:${e.data[field]}`) ?? 0) + 1);
    }
  }
  const problems: string[] = [];
  let checked = 0;
  for (const o of load.recorder.outcomes) {
    if (o.status !== 200 || !o.idempotencyKey || !o.expectEvent) continue;
    checked++;
    const own = byKey.get(o.idempotencyKey) ?? [];
    // A spend declined, its answer lost, then authorized on retry: the decline is no second effect.
    const transactions = new Set(own.filter((e) => e.type !== 'SpendDeclined').map((e) => e.tx));
    const expected = EXPECTED_EVENT[o.op];
    if (own.length === 0) problems.push(`${o.op} answered 2xx but no event carries its Idempotency-Key ${o.idempotencyKey}`);
    else if (transactions.size !== 1) problems.push(`${o.op} ${o.idempotencyKey}: its events were written by ${transactions.size} transactions`);
    if (expected && own.length > 0) {
      const id = expected.id(o.data);
      const mine = own.filter((e) => e.type === expected.type && (!id || e.data?.[expected.field] === id));
      if (mine.length !== 1) problems.push(`${o.op} ${id ?? o.idempotencyKey}: ${mine.length} ${expected.type} events with its key, expected 1`);
      if (id && (byResource.get(`${expected.type}:${id}`) ?? 0) !== 1 && expected.type !== 'AgentPaused' && expected.type !== 'AgentResumed') {
        problems.push(`${expected.type} for ${id} is in the log ${byResource.get(`${expected.type}:${id}`) ?? 0} times`);
      }
    }
  }
  let duplicated = 0;
  for (const [key, all] of byKey) {
    // A decline records a decision and changes nothing: a declined spend retried after its answer was
    // lost is decided again (and may then pass), so declines are not effects to count.
    const own = all.filter((e) => e.type !== 'SpendDeclined');
    if (new Set(own.map((e) => e.tx)).size > 1) {
      duplicated++;
      if (problems.length < 50) problems.push(`Idempotency-Key ${key}: events in ${new Set(own.map((e) => e.tx)).size} transactions: ${own.map((e) => `${e.type}@${e.tx}/${e.position}`).join(', ')}`);
    }
  }
  return {
    name: 'every_2xx_in_log_exactly_once',
    pass: problems.length === 0 && checked > 0,
    answers_checked: checked,
    idempotency_keys_in_log: byKey.size,
    keys_with_duplicate_effect: duplicated,
    problems: problems.slice(0, 20),
  };
}

/**
 * Replays the money events in log order and checks every intermediate state: no wallet below zero,
 * no agent over its fixed limit, daily limit, per-transaction limit or position cap, and every
 * spend resolved (captured, released, expired) at most once.
 */
export function checkMoney(load: Load, events: LoggedEvent[]): Check {
  const wallets = new Map<string, { available: number; min: number }>();
  const usage = new Map<string, { committed: number; held: number; days: Map<string, number> }>();
  const spends = new Map<string, { resolutions: number; capture: boolean }>();
  const problems: string[] = [];
  let moneyEvents = 0;
  const wallet = (d: any) => {
    const k = `${d.org_id}/${d.environment}/${d.currency}`;
    if (!wallets.has(k)) wallets.set(k, { available: 0, min: 0 });
    return wallets.get(k)!;
  };
  const agent = (id: string) => {
    if (!usage.has(id)) usage.set(id, { committed: 0, held: 0, days: new Map() });
    return usage.get(id)!;
  };
  for (const e of events) {
    const d = e.data;
    switch (e.type) {
      case 'FundsDeposited':
        wallet(d).available += d.amount;
        break;
      case 'SpendAuthorized': {
        const w = wallet(d);
        w.available -= d.amount;
        const u = agent(d.agent_id);
        u.committed += d.amount;
        u.held += d.amount;
        u.days.set(d.day, (u.days.get(d.day) ?? 0) + d.amount);
        if (spends.has(d.spend_id)) problems.push(`spend ${d.spend_id} authorized twice`);
        spends.set(d.spend_id, { resolutions: 0, capture: d.capture });
        const budget = load.budgets.get(d.agent_id);
        if (budget) {
          const daily = budget.limits.find((l) => l.interval === 'daily')!.amount;
          const perTransaction = budget.limits.find((l) => l.interval === 'per_transaction')!.amount;
          if (u.committed > budget.fixed_limit) problems.push(`agent ${d.agent_id} committed ${u.committed} > fixed_limit ${budget.fixed_limit}`);
          if ((u.days.get(d.day) ?? 0) > daily) problems.push(`agent ${d.agent_id} committed ${u.days.get(d.day)} on ${d.day} > daily ${daily}`);
          if (d.amount > perTransaction) problems.push(`spend ${d.spend_id} of ${d.amount} > per_transaction ${perTransaction}`);
          if (!d.capture && u.held > budget.max_position_value) problems.push(`agent ${d.agent_id} holds ${u.held} > max_position_value ${budget.max_position_value}`);
        }
        w.min = Math.min(w.min, w.available);
        break;
      }
      case 'SpendCaptured':
      case 'HoldReleased':
      case 'HoldExpired': {
        const released = e.type === 'SpendCaptured' ? d.released_amount : d.amount;
        const held = e.type === 'SpendCaptured' ? d.amount + d.released_amount : d.amount;
        wallet(d).available += released;
        const u = agent(d.agent_id);
        u.committed -= released;
        u.held -= held;
        u.days.set(d.day, (u.days.get(d.day) ?? 0) - released);
        const s = spends.get(d.spend_id);
        if (!s) problems.push(`${e.type} for unknown spend ${d.spend_id}`);
        else if (++s.resolutions > 1) problems.push(`spend ${d.spend_id} resolved ${s.resolutions} times`);
        break;
      }
      case 'SpendRefunded':
        wallet(d).available += d.amount;
        agent(d.agent_id).committed -= d.amount;
        break;
      default:
        continue;
    }
    moneyEvents++;
  }
  const secondResolutions = load.recorder.outcomes.filter((o) => o.op === 'second-resolution');
  const acceptedTwice = secondResolutions.filter((o) => o.status === 200).length;
  if (acceptedTwice > 0) problems.push(`${acceptedTwice} second resolutions of a hold were answered 2xx`);
  return {
    name: 'no_overspend_no_negative_wallet_holds_resolved_once',
    pass: problems.length === 0 && moneyEvents > 0,
    money_events: moneyEvents,
    spends: spends.size,
    lowest_wallet_available: Math.min(...[...wallets.values()].map((w) => w.min)),
    second_resolutions_tried: secondResolutions.length,
    second_resolutions_refused: secondResolutions.filter((o) => o.status === 409).length,
    problems: problems.slice(0, 20),
  };
}

/** `keyledger audit replay` and `keyledger audit verify`, as an auditor runs them. */
export async function checkReplayAndChain(databaseUrl: string, log: (m: string) => void): Promise<Check[]> {
  const cli = join(REPO_ROOT, 'dist/apps/cli/main.js');
  const run = async (args: string[]) => {
    try {
      const { stdout } = await exec(process.execPath, [cli, ...args, '--database-url', databaseUrl, '--json'], { maxBuffer: 1 << 26 });
      return JSON.parse(stdout.trim().split('\n').pop()!);
    } catch (error) {
      const out = (error as { stdout?: string }).stdout?.trim().split('\n').pop();
      if (out) return JSON.parse(out);
      throw error;
    }
  };
  // The chainer follows the log a little behind: wait until it has chained everything.
  let verify: any;
  const deadline = Date.now() + 180_000;
  for (;;) {
    verify = await run(['audit', 'verify']);
    if (!verify.ok || verify.events_pending === 0 || Date.now() > deadline) break;
    log(`waiting for the chainer: ${verify.events_pending} events not chained yet`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
  const replay = await run(['audit', 'replay']);
  return [
    {
      name: 'read_models_equal_replay',
      pass: replay.differences.length === 0 && replay.events > 0,
      events_replayed: replay.events,
      tables: replay.tables,
      differences: replay.differences.slice(0, 10),
    },
    {
      name: 'audit_chain_verifies',
      pass: verify.ok === true && verify.events_pending === 0,
      events_verified: verify.events_verified,
      events_pending: verify.events_pending,
      checkpoints_verified: verify.checkpoints_verified,
      ...(verify.ok ? {} : { first_bad_position: verify.first_bad_position, reason: verify.reason, detail: verify.detail }),
    },
  ];
}

/** No revoked key was accepted by any gateway after its revoke call returned. */
export function checkRevocation(load: Load): Check {
  const after = load.probes.filter((p) => p.started > p.revokedAt);
  const accepted = after.filter((p) => p.status >= 200 && p.status < 300);
  return {
    name: 'no_revoked_key_accepted',
    pass: accepted.length === 0 && after.length > 0,
    keys_revoked: load.revoked.length,
    probes_after_revoke: after.length,
    probes_refused_401: after.filter((p) => p.status === 401).length,
    accepted: accepted.slice(0, 10),
  };
}

function classesOf(a: Attempt): OperationClass[] {
  if (a.method === 'GET' || a.method === 'HEAD') return ['read'];
  if (a.method === 'POST' && (a.path === '/v1/api-keys' || a.path.endsWith('/roll'))) return ['write', 'key_create'];
  return ['write'];
}

/** Passed the rate limit: answered, and not by the limiter (429) or a fail-closed/unknown 5xx. */
const admitted = (status: number) => (status >= 200 && status < 300) || [400, 402, 404, 409, 422].includes(status);

/**
 * Rate limits never exceeded: for the organization pressed on purpose, in every window [t, t+W]
 * (W = 10 s and 60 s, t = each admitted request's start), the requests admitted wholly inside it
 * are at most burst + rate·W, plus one burst for each counter reset the design allows in that window
 * (a rate-limiter instance killed or Postgres restarted: the partitions' new owner starts with full
 * buckets, as libs/ratelimit/feature/README.md says).
 */
export function checkRateLimits(load: Load, overrides: RateLimitOverrides, faults: FaultRecord[]): Check {
  const limits = effectiveRateLimits(null, overrides);
  const resets = faults.filter((f) => (f.fault === 'kill' && f.target.startsWith('rate-limiter')) || f.fault === 'postgres-restart');
  const org = load.limited.name;
  const attempts = load.recorder.attempts.filter((a) => a.org === org && !a.probe);
  const result: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const cls of OPERATION_CLASSES) {
    const limit = limits[cls];
    const ok = attempts.filter((a) => classesOf(a).includes(cls) && admitted(a.status)).sort((a, b) => a.started - b.started);
    let worst = 0;
    for (const windowMs of [10_000, 60_000]) {
      for (let i = 0; i < ok.length; i++) {
        const t1 = ok[i].started;
        const t2 = t1 + windowMs;
        let n = 0;
        for (let j = i; j < ok.length && ok[j].started <= t2; j++) if (ok[j].ended <= t2) n++;
        const resetsIn = resets.filter((f) => f.started <= t2 && f.ended + 2_000 >= t1).length;
        const bound = limit.burst * (1 + resetsIn) + (limit.per_minute * windowMs) / 60_000;
        worst = Math.max(worst, n / bound);
        if (n > bound && problems.length < 10) problems.push(`${cls}: ${n} admitted in ${windowMs / 1000}s from t=${t1}ms, bound ${bound.toFixed(1)}`);
      }
    }
    result[cls] = {
      limit,
      admitted: ok.length,
      refused_429: attempts.filter((a) => classesOf(a).includes(cls) && a.status === 429).length,
      worst_window_fill: Number(worst.toFixed(3)),
    };
  }
  const refused = attempts.filter((a) => a.status === 429).length;
  return { name: 'rate_limits_never_exceeded', pass: problems.length === 0 && refused > 0, counter_resets: resets.length, ...result, problems };
}

/** Share of 5xx answers, the longest wait for any answer, and operations that never got one. */
export function checkErrorsAndWaits(load: Load, bounds: Bounds): Check {
  const attempts = load.recorder.attempts;
  const answered = attempts.filter((a) => a.status !== 0);
  const fiveXx = answered.filter((a) => a.status >= 500).length;
  const longest = attempts.reduce((m, a) => Math.max(m, a.ended - a.started), 0);
  const longestAnswered = answered.reduce((m, a) => Math.max(m, a.ended - a.started), 0);
  const noAnswer = attempts.filter((a) => a.status === 0).length;
  const gaveUp = load.recorder.outcomes.filter((o) => o.status === 0 || o.status >= 500);
  const loadErrors = load.recorder.outcomes.filter((o) => o.status === -1);
  const share = answered.length ? fiveXx / answered.length : 0;
  const byStatus: Record<string, number> = {};
  for (const a of attempts) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
  return {
    name: 'errors_and_waits',
    pass: share <= bounds.max5xxShare && longest <= bounds.maxWaitMs && gaveUp.length === 0 && loadErrors.length === 0,
    http_attempts: attempts.length,
    answers_by_status: byStatus,
    share_5xx: Number(share.toFixed(4)),
    max_5xx_share: bounds.max5xxShare,
    no_answer_attempts: noAnswer,
    longest_wait_ms: longest,
    longest_answered_wait_ms: longestAnswered,
    max_wait_ms: bounds.maxWaitMs,
    operations: load.recorder.outcomes.length,
    operations_without_answer_after_retries: gaveUp.length,
    without_answer: gaveUp.slice(0, 5).map((o) => ({ op: o.op, status: o.status, code: o.code, attempts: o.attempts, started: o.started, ended: o.ended })),
    load_errors: loadErrors.slice(0, 5).map((o) => o.code),
  };
}

/** The log as the checks read it: every event in log order (gap-safe order: transaction, position). */
export async function readLog(databaseUrl: string): Promise<LoggedEvent[]> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query(
      `select type, data, metadata->>'idempotency_key' as key, org_id, transaction_id::text as tx, position
       from events order by transaction_id, position`,
    );
    return rows;
  } finally {
    await db.end();
  }
}
