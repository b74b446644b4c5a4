import { ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';

/** The repository root (where `dist/` and `tmp/` live), found from this file's location. */
export const REPO_ROOT = resolve(__dirname, '../../../../..');

/**
 * A port for a server the tests start, taken from below the kernel's ephemeral range. A port from
 * `listen(0)` would come from that range, which outgoing connections also draw from: between the
 * probe and the server's start, or while a test restarts a service on its port, a connection to
 * Postgres or NATS could take it and the server would fail with EADDRINUSE. Below the range only
 * another server can take it; ports are picked at random, checked free, and never handed out twice
 * by one process.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralPortsStart();
  const lowest = below > FIRST_PICKED_PORT + 1_000 ? FIRST_PICKED_PORT : 1_025;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = randomInt(lowest, below);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${lowest} and ${below - 1}`);
}

const FIRST_PICKED_PORT = 20_000;
const handedOut = new Set<number>();

/** The first port of the range the kernel picks local ports of outgoing connections from. */
export function ephemeralPortsStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && low > 1024) return low;
  } catch {
    // Not Linux: fall back to the range IANA reserves for dynamic ports.
  }
  return 49_152;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const result = await probe();
      if (result) return result;
    } catch (error) {
      // Some failures are final (a process died): no point waiting out the clock.
      if ((error as { final?: boolean })?.final) throw error;
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/** A child process whose output goes to a log file, and which can be stopped or killed. */
export class ManagedProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    readonly logFile: string,
    /** Run as this user and group (when we are root and the program refuses to be). */
    private readonly owner?: { uid: number; gid: number },
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    mkdirSync(dirname(this.logFile), { recursive: true });
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(this.command, this.args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.owner ?? {}),
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
    this.child = child;
  }

  /** Sends a signal without waiting (SIGSTOP/SIGCONT freeze and thaw a process where it stands). */
  signal(signal: NodeJS.Signals): void {
    if (!this.child || !this.running) throw new Error(`${this.name} is not running`);
    this.child.kill(signal);
  }

  /** Sends the signal and waits for the process to exit; returns its exit code (null if signalled). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export function natsServerBinary(): string | null {
  for (const dir of [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/local/bin']) {
    const candidate = join(dir, 'nats-server');
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}
