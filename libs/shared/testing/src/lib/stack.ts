import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, TestDatabase } from './test-database';
import { connect } from 'node:net';
import { freePort, ManagedProcess, natsServerBinary, REPO_ROOT, waitFor } from './processes';

export class StackStartError extends Error {
  readonly final = true;
}

export const BACKEND_APPS = ['key-registry', 'rate-limiter', 'budget-ledger', 'audit-attestation'] as const;
export type BackendApp = (typeof BACKEND_APPS)[number];
export type App = BackendApp | 'gateway';

export interface StackOptions {
  label: string;
  /** Instances of each app (default 1 each). */
  instances?: Partial<Record<App, number>>;
  /** Extra environment for every app. */
  env?: Record<string, string>;
  /** Postgres server to create the stack's database on (default: the tests' server, `testServerUrl()`). */
  pgServerUrl?: string;
  /**
   * The NATS URL one app instance is given (default: the stack's server). Fault-injection runs put a
   * proxy of their own in between here, to cut that one instance off.
   */
  natsUrlFor?: (app: App, index: number, natsUrl: string) => string | Promise<string>;
}

/**
 * The whole system for an end-to-end test: a fresh database, a NATS server of its own (so stacks of
 * tests running side by side never answer each other's requests), and every app as a separate
 * process started from the built output, as in production.
 */
export class Stack {
  readonly operatorToken = `op_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  private readonly processes = new Map<string, ManagedProcess>();
  private readonly gatewayPorts: number[] = [];
  private readonly metricsPorts = new Map<string, number>();
  private database!: TestDatabase;
  private nats!: ManagedProcess;
  natsUrl = '';
  readonly logDir: string;
  /** The audit checkpoints' signing key (a 32-byte Ed25519 seed, hex) handed to audit-attestation. */
  readonly auditSigningKey = randomBytes(32).toString('hex');

  private constructor(private readonly options: StackOptions) {
    this.logDir = mkdtempSync(join(tmpdir(), `keyledger-e2e-${options.label}-`));
  }

  static async start(options: StackOptions): Promise<Stack> {
    const stack = new Stack(options);
    try {
      await stack.boot();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  get databaseUrl(): string {
    return this.database.url;
  }

  gatewayUrl(index = 0): string {
    return `http://127.0.0.1:${this.gatewayPorts[index]}`;
  }

  /** Where an app instance serves its Prometheus metrics (backend apps: KEYLEDGER_METRICS_PORT). */
  metricsUrl(app: App, index = 0): string {
    if (app === 'gateway') return `${this.gatewayUrl(index)}/metrics`;
    return `http://127.0.0.1:${this.metricsPorts.get(`${app}#${index}`)}/metrics`;
  }

  process(app: App, index = 0): ManagedProcess {
    const p = this.processes.get(`${app}#${index}`);
    if (!p) throw new Error(`no ${app} instance ${index}`);
    return p;
  }

  /** All log files written so far (one per process). */
  get logFiles(): string[] {
    return [this.nats, ...this.processes.values()].filter(Boolean).map((p) => p.logFile);
  }

  /** Every process of the stack (NATS first), for inspection such as memory use. */
  get allProcesses(): ManagedProcess[] {
    return [this.nats, ...this.processes.values()].filter(Boolean);
  }

  /**
   * Stops the NATS server (SIGTERM), leaves it down for `downMs`, and starts it again on the same
   * port with the same JetStream store: the apps must reconnect by themselves.
   */
  async restartNats(downMs = 0): Promise<void> {
    await this.nats.stop('SIGTERM');
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    this.nats.start();
    const port = Number(new URL(this.natsUrl).port);
    await waitFor('nats to listen again', () => canConnect(port), 30_000, 50);
  }

  async kill(app: App, index = 0, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    return this.process(app, index).stop(signal);
  }

  async restart(app: App, index = 0): Promise<void> {
    const p = this.process(app, index);
    await p.stop('SIGKILL');
    p.start();
    if (app === 'gateway') await this.waitForGateway(index);
  }

  /** Waits until the gateway says every dependency is ready. */
  async waitUntilReady(index = 0, timeoutMs = 90_000): Promise<void> {
    await waitFor(
      `gateway ${index} ready`,
      async () => {
        this.failIfAnyExited();
        return (await fetch(`${this.gatewayUrl(index)}/readyz`)).status === 200;
      },
      timeoutMs,
      200,
    );
  }

  /** A process that died while starting is a failure to report now, with its last log lines. */
  private failIfAnyExited(): void {
    for (const p of this.processes.values()) {
      if (!p.running) {
        const tail = readFileSync(p.logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
        throw new StackStartError(`${p.name} exited while the stack was starting:\n${tail}`);
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => p.stop('SIGTERM')));
    await this.nats?.stop('SIGTERM');
    await this.database?.drop().catch(() => undefined);
  }

  private async boot(): Promise<void> {
    const natsBinary = natsServerBinary();
    if (!natsBinary) throw new Error('nats-server is not installed (apt-get install nats-server)');
    const natsPort = await freePort();
    this.natsUrl = `nats://127.0.0.1:${natsPort}`;
    this.nats = new ManagedProcess(
      'nats',
      natsBinary,
      ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(this.logDir, 'jetstream')],
      {},
      join(this.logDir, 'nats.log'),
    );
    this.nats.start();
    this.database = await createTestDatabase(this.options.label, this.options.pgServerUrl);
    await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'dist/apps/cli/main.js'), 'migrate'], {
      env: { ...process.env, DATABASE_URL: this.database.url },
    });

    const baseEnv: Record<string, string> = {
      DATABASE_URL: this.database.url,
      NATS_URL: this.natsUrl,
      KEYLEDGER_OPERATOR_TOKEN: this.operatorToken,
      KEYLEDGER_SECRETS_KEY: randomBytes(32).toString('hex'),
      KEYLEDGER_MIGRATE_ON_START: 'false',
      KEYLEDGER_AUDIT_SIGNING_KEY: this.auditSigningKey,
      LOG_LEVEL: 'info',
      ...this.options.env,
    };
    const count = (app: App) => this.options.instances?.[app] ?? 1;
    const natsFor = async (app: App, index: number): Promise<Record<string, string>> =>
      this.options.natsUrlFor ? { NATS_URL: await this.options.natsUrlFor(app, index, this.natsUrl) } : {};
    for (const app of BACKEND_APPS) {
      for (let i = 0; i < count(app); i++) {
        const metricsPort = await freePort();
        this.metricsPorts.set(`${app}#${i}`, metricsPort);
        this.add(app, i, { ...baseEnv, KEYLEDGER_METRICS_PORT: String(metricsPort), ...(await natsFor(app, i)) });
      }
    }
    for (let i = 0; i < count('gateway'); i++) {
      const port = await freePort();
      this.gatewayPorts.push(port);
      this.add('gateway', i, { ...baseEnv, ...(await natsFor('gateway', i)), PORT: String(port), HOST: '127.0.0.1' });
    }
    for (const p of this.processes.values()) p.start();
    for (let i = 0; i < count('gateway'); i++) await this.waitUntilReady(i);
  }

  private add(app: App, index: number, env: Record<string, string>): void {
    const name = `${app}#${index}`;
    this.processes.set(
      name,
      new ManagedProcess(name, process.execPath, [join(REPO_ROOT, `dist/apps/${app}/main.js`)], env, join(this.logDir, `${app}-${index}.log`)),
    );
  }

  private async waitForGateway(index: number): Promise<void> {
    await waitFor(`gateway ${index} up`, async () => (await fetch(`${this.gatewayUrl(index)}/healthz`)).ok, 30_000, 100);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
