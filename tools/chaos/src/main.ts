import { parseArgs } from 'node:util';
import { runChaos } from './chaos';

/**
 * `npm run chaos [-- --short] [-- --soak 30m] [--workers 6]`: starts a stack of its own (two of
 * every app, its own Postgres and NATS), drives a mixed load, injects faults one at a time, then
 * prints one JSON object with a pass/fail per check on stdout (progress on stderr); exit 1 on a fail.
 */
function duration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw);
  if (!m) throw new Error(`--soak takes a duration such as 30m, 90s or 1h, got ${raw}`);
  return Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { soak: { type: 'string' }, short: { type: 'boolean' }, workers: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    process.stderr.write('usage: npm run chaos [-- --short | --soak <duration, e.g. 30m>] [--workers <n>]\n');
    return;
  }
  const report = await runChaos({
    mode: values.soak ? 'soak' : values.short ? 'short' : 'full',
    soakMs: values.soak ? duration(values.soak) : undefined,
    workers: values.workers ? Number(values.workers) : undefined,
    log: (message) => process.stderr.write(`[chaos] ${message}\n`),
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exitCode = report.pass ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 2;
});
