import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort, ManagedProcess, waitFor } from './processes';

const PG_BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin', '/usr/local/pgsql/bin'];

/** The directory holding `initdb` and `postgres` (`KEYLEDGER_PG_BIN` wins), or null. */
export function postgresBinDir(): string | null {
  const dirs = [process.env['KEYLEDGER_PG_BIN'], ...PG_BIN_DIRS].filter((d): d is string => Boolean(d));
  return dirs.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres'))) ?? null;
}

/**
 * A Postgres server of its own, in a temporary data directory on a free port, for suites that stop
 * or restart Postgres (never the machine's shared server). Postgres refuses to run as root, so when
 * we are root it runs as the `postgres` user, which then owns the data directory.
 */
export class PostgresServer {
  private constructor(
    private readonly process: ManagedProcess,
    private readonly dataDir: string,
    readonly port: number,
  ) {}

  /** The maintenance database's URL (trust authentication, user `postgres`). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get logFile(): string {
    return this.process.logFile;
  }

  static async start(options: { logDir: string; settings?: Record<string, string> }): Promise<PostgresServer> {
    const bin = postgresBinDir();
    if (!bin) throw new Error('no Postgres server binaries found (set KEYLEDGER_PG_BIN to the directory holding initdb and postgres)');
    const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
    const dataDir = mkdtempSync(join(tmpdir(), 'keyledger-pg-'));
    if (owner) chownSync(dataDir, owner.uid, owner.gid);
    execFileSync(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'], {
      stdio: 'ignore',
      ...(owner ?? {}),
    });
    const port = await freePort();
    const settings = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dataDir,
      max_connections: '300',
      // A throw-away server: no crash safety needed (restarts here are clean shutdowns), less disk work.
      fsync: 'off',
      full_page_writes: 'off',
      ...options.settings,
    };
    const args = ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const server = new PostgresServer(new ManagedProcess('postgres', join(bin, 'postgres'), args, {}, join(options.logDir, 'postgres.log'), owner), dataDir, port);
    server.process.start();
    await server.waitUntilAccepting();
    return server;
  }

  /**
   * Restarts the server: a fast shutdown (SIGINT: every session is ended, in-flight transactions roll
   * back, the data is written out), `downMs` without a server, then a start, waiting until it accepts.
   */
  async restart(downMs = 0): Promise<void> {
    await this.process.stop('SIGINT', 60_000);
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    this.process.start();
    await this.waitUntilAccepting();
  }

  async stop(): Promise<void> {
    await this.process.stop('SIGINT', 30_000);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async waitUntilAccepting(): Promise<void> {
    await waitFor(
      'postgres to accept connections',
      async () => {
        if (!this.process.running) throw Object.assign(new Error(`postgres exited; see ${this.process.logFile}`), { final: true });
        const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 2_000 });
        try {
          await client.connect();
          await client.query('select 1');
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      60_000,
      100,
    );
  }
}

function postgresUser(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('Postgres cannot run as root and there is no `postgres` user to run it as (useradd --system postgres)');
  }
}
