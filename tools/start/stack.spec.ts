import { mkdtempSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, Server as HttpServer } from 'node:http';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  UsageError,
  appInstances,
  findFreePort,
  gatewayBaseUrl,
  natsHostPort,
  natsInfo,
  operatorToken,
  parseArgs,
  portAnswers,
  redactUrl,
  shellQuote,
  spawnService,
  staleBuilds,
  waitForHttp,
} from './stack.mjs';

function listen(server: Server | HttpServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}
const close = (server: Server | HttpServer) => new Promise((resolve) => server.close(resolve));

describe('parseArgs', () => {
  it('starts one instance of each app by default', () => {
    expect(parseArgs([], {})).toEqual({ instances: 1, help: false });
  });

  it('takes --instances N, --instances=N, -n N and KEYLEDGER_INSTANCES, the flag winning', () => {
    expect(parseArgs(['--instances', '3'], {}).instances).toBe(3);
    expect(parseArgs(['--instances=2'], {}).instances).toBe(2);
    expect(parseArgs(['-n', '4'], {}).instances).toBe(4);
    expect(parseArgs([], { KEYLEDGER_INSTANCES: '2' }).instances).toBe(2);
    expect(parseArgs(['--instances', '3'], { KEYLEDGER_INSTANCES: '2' }).instances).toBe(3);
  });

  it('rejects nonsense with a message naming the option', () => {
    expect(() => parseArgs(['--instances', '0'], {})).toThrow(UsageError);
    expect(() => parseArgs(['--instances', 'two'], {})).toThrow(/--instances must be a whole number/);
    expect(() => parseArgs(['--instances'], {})).toThrow(/needs a number/);
    expect(() => parseArgs([], { KEYLEDGER_INSTANCES: '1.5' })).toThrow(/KEYLEDGER_INSTANCES/);
    expect(() => parseArgs(['--frobnicate'], {})).toThrow(/unknown argument: --frobnicate/);
  });
});

describe('operatorToken', () => {
  it('uses KEYLEDGER_OPERATOR_TOKEN when set', () => {
    expect(operatorToken({ KEYLEDGER_OPERATOR_TOKEN: 'a-long-enough-secret' })).toEqual({
      token: 'a-long-enough-secret',
      generated: false,
    });
  });

  it('refuses a token shorter than 16 characters', () => {
    expect(() => operatorToken({ KEYLEDGER_OPERATOR_TOKEN: 'short' })).toThrow(/at least 16/);
  });

  it('generates a fresh random one otherwise', () => {
    const a = operatorToken({});
    const b = operatorToken({});
    expect(a.generated).toBe(true);
    expect(a.token.length).toBeGreaterThanOrEqual(32);
    expect(a.token).not.toBe(b.token);
  });
});

describe('appInstances', () => {
  const base = { databaseUrl: 'postgres://db', natsUrl: 'nats://n', operatorToken: 'x'.repeat(20), port: 4000, host: '127.0.0.1' };

  it('starts N of every app, gateways on successive ports, the token only in the gateways', () => {
    const list = appInstances({ ...base, instances: 2, env: { PORT: '9999', KEYLEDGER_OPERATOR_TOKEN: 'y'.repeat(20) } });
    expect(list.map((i) => i.name)).toEqual([
      'gateway-1', 'gateway-2', 'key-registry-1', 'key-registry-2', 'rate-limiter-1', 'rate-limiter-2',
      'budget-ledger-1', 'budget-ledger-2', 'audit-attestation-1', 'audit-attestation-2',
    ]);
    const gateways = list.filter((i) => i.app === 'gateway');
    expect(gateways.map((g) => g.env.PORT)).toEqual(['4000', '4001']);
    expect(gateways[0].env.KEYLEDGER_OPERATOR_TOKEN).toBe(base.operatorToken);
    const registry = list.find((i) => i.app === 'key-registry')?.env;
    expect(registry).toMatchObject({ DATABASE_URL: 'postgres://db', NATS_URL: 'nats://n' });
    expect(registry?.PORT).toBeUndefined();
    expect(registry?.KEYLEDGER_OPERATOR_TOKEN).toBeUndefined();
  });

  it('names single instances after their app', () => {
    expect(appInstances({ ...base, instances: 1, env: {} }).map((i) => i.name)).toEqual([
      'gateway', 'key-registry', 'rate-limiter', 'budget-ledger', 'audit-attestation',
    ]);
  });
});

describe('small helpers', () => {
  it('redacts passwords in URLs it prints', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(redactUrl('postgres://u@h/db')).toBe('postgres://u@h/db');
  });

  it('quotes words for the shell', () => {
    expect(shellQuote('plain-token_1')).toBe('plain-token_1');
    expect(shellQuote('Authorization: Bearer x')).toBe(`'Authorization: Bearer x'`);
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
  });

  it('reads host and port from NATS URLs', () => {
    expect(natsHostPort('nats://127.0.0.1:4222')).toEqual({ host: '127.0.0.1', port: 4222 });
    expect(natsHostPort('nats://u:p@a:1,nats://b:2')).toEqual({ host: 'a', port: 1 });
    expect(natsHostPort('localhost')).toEqual({ host: 'localhost', port: 4222 });
  });

  it('gives a reachable gateway URL for wildcard binds', () => {
    expect(gatewayBaseUrl('0.0.0.0', 3000)).toBe('http://127.0.0.1:3000');
    expect(gatewayBaseUrl('127.0.0.1', 3001)).toBe('http://127.0.0.1:3001');
  });
});

describe('port detection', () => {
  it('sees a port that a server listens on, and not once it is closed', async () => {
    const server = createServer((socket) => socket.end());
    const port = await listen(server);
    expect(await portAnswers('127.0.0.1', port)).toBe(true);
    await close(server);
    expect(await portAnswers('127.0.0.1', port)).toBe(false);
  });

  it('finds another free port when the preferred one is taken', async () => {
    const server = createServer();
    const taken = await listen(server);
    const port = await findFreePort(taken);
    expect(port).not.toBe(taken);
    expect(port).toBeGreaterThan(0);
    await close(server);
    expect(await findFreePort(taken)).toBe(taken);
  });

  it('recognises a NATS server by its INFO line, and only that', async () => {
    const nats = createServer((socket) => socket.write('INFO {"version":"2.10.0","jetstream":true}\r\n'));
    const other = createServer((socket) => socket.write('SSH-2.0-OpenSSH\r\n'));
    const [natsPort, otherPort] = await Promise.all([listen(nats), listen(other)]);
    expect(await natsInfo(`nats://127.0.0.1:${natsPort}`)).toEqual({ version: '2.10.0', jetstream: true });
    expect(await natsInfo(`nats://127.0.0.1:${otherPort}`)).toBeNull();
    await Promise.all([close(nats), close(other)]);
    expect(await natsInfo(`nats://127.0.0.1:${natsPort}`, 500)).toBeNull();
  });
});

describe('staleBuilds', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'kl-stale-'));
    mkdirSync(join(root, 'apps', 'gateway', 'src'), { recursive: true });
    mkdirSync(join(root, 'libs', 'x', 'src'), { recursive: true });
    mkdirSync(join(root, 'dist', 'apps', 'gateway'), { recursive: true });
    writeFileSync(join(root, 'apps', 'gateway', 'src', 'main.ts'), '');
    writeFileSync(join(root, 'libs', 'x', 'src', 'index.ts'), '');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const touch = (path: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(path, t, t);
  };

  it('rebuilds what is missing or older than any source under apps/ or libs/', () => {
    const main = join(root, 'dist', 'apps', 'gateway', 'main.js');
    writeFileSync(main, '');
    touch(join(root, 'apps', 'gateway', 'src', 'main.ts'), 100);
    touch(join(root, 'libs', 'x', 'src', 'index.ts'), 100);
    touch(main, 50);
    expect(staleBuilds(root, ['gateway', 'cli'])).toEqual(['cli']);
    touch(join(root, 'libs', 'x', 'src', 'index.ts'), 10);
    expect(staleBuilds(root, ['gateway'])).toEqual(['gateway']);
  });
});

describe('processes and health', () => {
  it('stops a process with SIGTERM, and kills one that ignores it', async () => {
    const polite = spawnService({
      name: 'polite',
      command: process.execPath,
      args: ['-e', "process.on('SIGTERM', () => { console.log('bye'); process.exit(0); }); console.log('up'); setInterval(() => {}, 1000)"],
      echo: false,
    });
    const stubborn = spawnService({
      name: 'stubborn',
      command: process.execPath,
      args: ['-e', "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"],
      echo: false,
    });
    try {
      // Each prints 'up' once its SIGTERM handler is installed: wait for that, however busy the machine.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && !(polite.tail().includes('up') && stubborn.tail().includes('up'))) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await polite.stop({ timeoutMs: 5000 })).toMatchObject({ code: 0, killed: false });
      // The exit is reported after at most 500 ms of waiting for the last lines; on a busy machine a
      // line may be read after that, and is still shown.
      for (const until = Date.now() + 5_000; Date.now() < until && polite.tail().length < 2; ) await new Promise((r) => setTimeout(r, 20));
      expect(polite.tail()).toEqual(['up', 'bye']);
      expect(await stubborn.stop({ timeoutMs: 300 })).toMatchObject({ signal: 'SIGKILL', killed: true });
      expect(stubborn.running).toBe(false);
    } finally {
      // A failed expectation must not leave a child behind to keep the test run alive.
      if (polite.running) await polite.stop({ signal: 'SIGKILL', timeoutMs: 300 }).catch(() => undefined);
      if (stubborn.running) await stubborn.stop({ signal: 'SIGKILL', timeoutMs: 300 }).catch(() => undefined);
    }
  }, 30_000);

  it('waits until an HTTP endpoint answers 200', async () => {
    let calls = 0;
    const server = createHttpServer((_req, res) => {
      res.statusCode = ++calls < 3 ? 503 : 200;
      res.end();
    });
    const port = await listen(server);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, { intervalMs: 20, timeoutMs: 5000 });
    expect(calls).toBe(3);
    await close(server);
  });

  it('gives up waiting as soon as the service behind the endpoint exits', async () => {
    const port = await findFreePort();
    const service = spawnService({ name: 'crashy', command: process.execPath, args: ['-e', 'process.exit(3)'], echo: false });
    await expect(waitForHttp(`http://127.0.0.1:${port}/healthz`, { service, intervalMs: 20, timeoutMs: 10_000 })).rejects.toThrow(
      /crashy exited \(code 3\)/,
    );
  });
});
