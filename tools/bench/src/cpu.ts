import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 where that fails). */
export async function clockTicksPerSecond(): Promise<number> {
  const out = await promisify(execFile)('getconf', ['CLK_TCK']).catch(() => ({ stdout: '100' }));
  return Number(out.stdout.trim()) || 100;
}

/**
 * CPU seconds (user + system) used so far, from /proc: a process's (all its threads) for a pid, or
 * the calling thread's alone for 'thread-self'; null where there is none (gone, or not on this machine).
 */
export function cpuSeconds(pid: number | 'thread-self' | undefined, ticksPerSecond: number): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return null;
  }
}

/** The Postgres backends of the database a query runs in, the querying one excepted. */
export const DATABASE_BACKENDS_SQL = `select pid, application_name from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;

/**
 * CPU seconds used so far by those backends (rows of DATABASE_BACKENDS_SQL), by application name. A
 * backend that ended between two samples is missing from the later one, so a difference of samples
 * can only fall short.
 */
export function backendCpuSeconds(backends: readonly { pid: number; application_name: string }[], ticksPerSecond: number): Map<string, number> {
  const byApplication = new Map<string, number>();
  for (const { pid, application_name } of backends) {
    const seconds = cpuSeconds(pid, ticksPerSecond);
    if (seconds !== null) byApplication.set(application_name, (byApplication.get(application_name) ?? 0) + seconds);
  }
  return byApplication;
}
