import type { ParseArgsConfig } from 'node:util';

/** What every bench gets: its parsed flags, and a way to report progress without touching stdout. */
export interface BenchContext {
  /** Postgres server to create the bench's own fresh database on (any database in the URL is ignored). */
  pgServerUrl: string;
  natsUrl: string;
  /** Seconds each measured phase runs. */
  durationSeconds: number;
  /** Seconds of unmeasured load before each phase. */
  warmupSeconds: number;
  keepDatabase: boolean;
  /** The bench's own flags, as declared in its `options`. */
  flags: Record<string, string | boolean | undefined>;
  log(message: string): void;
}

export interface Bench {
  name: string;
  description: string;
  /** Flags of this bench only, in `node:util` parseArgs form (all `string` or `boolean`). */
  options?: NonNullable<ParseArgsConfig['options']>;
  /** Returns the figures; the runner prints them as one JSON object tagged with the bench's name. */
  run(context: BenchContext): Promise<Record<string, unknown>>;
}

export interface PhaseResult {
  /** Operations completed (transactions, requests...). */
  operations: number;
  /** Units of work completed (events, rows...); equals `operations` when an operation is one unit. */
  units: number;
  seconds: number;
  operationsPerSecond: number;
  unitsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

/**
 * Runs `operation` in `workers` concurrent loops for `seconds`, after `warmupSeconds` of the same load
 * unmeasured. Each loop starts no new operation after the deadline; the clock stops when the last
 * operation in flight ends, so the rate counts every operation against the time it really took.
 */
export async function measure(
  options: { workers: number; seconds: number; warmupSeconds: number },
  operation: (worker: number) => Promise<number | void>,
): Promise<PhaseResult> {
  if (options.warmupSeconds > 0) await loadFor(options.workers, options.warmupSeconds, operation, null);
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  const { operations, units } = await loadFor(options.workers, options.seconds, operation, latencies);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    operations,
    units,
    seconds: round(seconds, 3),
    operationsPerSecond: round(operations / seconds, 1),
    unitsPerSecond: round(units / seconds, 1),
    latencyMs: {
      p50: round(percentile(latencies, 0.5), 3),
      p95: round(percentile(latencies, 0.95), 3),
      p99: round(percentile(latencies, 0.99), 3),
      max: round(latencies[latencies.length - 1] ?? 0, 3),
    },
  };
}

async function loadFor(
  workers: number,
  seconds: number,
  operation: (worker: number) => Promise<number | void>,
  latencies: number[] | null,
): Promise<{ operations: number; units: number }> {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let operations = 0;
  let units = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (process.hrtime.bigint() < deadline) {
        const t0 = process.hrtime.bigint();
        const done = await operation(worker);
        latencies?.push(Number(process.hrtime.bigint() - t0) / 1e6);
        operations++;
        units += typeof done === 'number' ? done : 1;
      }
    }),
  );
  return { operations, units };
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A positive integer flag, with a clear message when it is not one. */
export function positiveInt(flags: BenchContext['flags'], name: string, fallback: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${String(raw)}`);
  return n;
}

/** A comma-separated list of positive integers (`--batch=1,100`), each checked as positiveInt checks one. */
export function positiveInts(flags: BenchContext['flags'], name: string, fallback: readonly number[]): number[] {
  const raw = flags[name];
  if (raw === undefined) return [...fallback];
  return String(raw)
    .split(',')
    .map((part) => positiveInt({ [name]: part.trim() }, name, 0));
}

/** A bad command line: the runner prints the message and the usage, not a stack trace. */
export class UsageError extends Error {}
