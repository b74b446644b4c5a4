import { parseArgs } from 'node:util';
import { BenchContext, UsageError } from './bench';
import { benches, findBench } from './registry';

/**
 * `main.ts <bench> [--duration=10] [--warmup=1] [--pg=postgres://host:5432] [--keep-db] [bench flags]`:
 * runs one bench and prints its figures as a single JSON line on stdout; progress goes to stderr.
 */
const COMMON_OPTIONS = {
  duration: { type: 'string' },
  warmup: { type: 'string' },
  pg: { type: 'string' },
  nats: { type: 'string' },
  'keep-db': { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

function usage(): string {
  const list = benches.map((b) => `  ${b.name.padEnd(14)} ${b.description}`).join('\n');
  return [
    'usage: npm run bench -- <name> [--duration=<s>] [--warmup=<s>] [--pg=<postgres server url>] [--keep-db] [bench flags]',
    '',
    'benches:',
    list,
  ].join('\n');
}

function seconds(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${flag} must be a number of seconds, got ${raw}`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const name = argv.find((a) => !a.startsWith('-'));
  if (!name || argv.includes('--help')) {
    process.stderr.write(`${usage()}\n`);
    process.exitCode = name ? 0 : 2;
    return;
  }
  const bench = findBench(name);
  if (!bench) throw new UsageError(`no bench named '${name}'`);
  const { values } = parseArgs({
    args: argv.filter((a) => a !== name),
    options: { ...COMMON_OPTIONS, ...bench.options },
    strict: true,
    allowPositionals: false,
  });
  const context: BenchContext = {
    pgServerUrl: (values.pg as string | undefined) ?? process.env['BENCH_PG_URL'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    natsUrl: (values.nats as string | undefined) ?? process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
    durationSeconds: seconds(values.duration as string | undefined, 'duration', 10),
    warmupSeconds: seconds(values.warmup as string | undefined, 'warmup', 1),
    keepDatabase: values['keep-db'] === true,
    flags: values as BenchContext['flags'],
    log: (message) => process.stderr.write(`[bench ${bench.name}] ${message}\n`),
  };
  const figures = await bench.run(context);
  process.stdout.write(`${JSON.stringify({ bench: bench.name, ...figures })}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${(error as Error).message}\n\n${usage()}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
