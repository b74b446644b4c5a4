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
