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
 * another server can take it. Each process walks the ports from a random place of its own, checking
 * each is free, so one process never hands out a port twice and two test processes (jest workers,
 * the chaos tool) seldom reach the same ports. Where the range cannot be known or leaves too little
 * room below it, the kernel picks, as before.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralPortsStart();
  if (below === null || below - FIRST_PICKED_PORT < 1_000) return kernelPickedPort();
  const span = below - FIRST_PICKED_PORT;
  nextPick ??= randomInt(span);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FIRST_PICKED_PORT + (nextPick++ % span);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${FIRST_PICKED_PORT} and ${below - 1}`);
}

const FIRST_PICKED_PORT = 20_000;
let nextPick: number | undefined;

/** The first port of the range the kernel picks local ports of outgoing connections from (null: unknown, not Linux). */
export function ephemeralPortsStart(): number | null {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(low) && low > 0 ? low : null;
  } catch {
    return null;
  }
}

function kernelPickedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
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
