#!/usr/bin/env node
// `npm start`: the whole Keyledger stack on this machine. `--help` lists the options; the work is
// done by ./stack.mjs.
//
// It runs as two processes. This one (the supervisor) re-runs itself in a new process group and
// only forwards signals, so that Ctrl-C does not hit every child at once: the inner process stops
// the apps first, then NATS and Postgres, each cleanly. If the supervisor dies, the inner process
// notices (its IPC channel closes) and stops everything too.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack, StartError, USAGE, UsageError, parseArgs, redactUrl, shellQuote } from './stack.mjs';

const INNER = 'KEYLEDGER_START_INNER';
const self = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(self), '..', '..');

if (process.env[INNER] === '1') {
  await runStack();
} else {
  supervise();
}

function supervise() {
  const inner = spawn(process.execPath, [self, ...process.argv.slice(2)], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [INNER]: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (inner.exitCode === null && inner.signalCode === null) inner.kill(signal);
    });
  }
  inner.once('exit', (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
}

async function runStack() {
  // a closed terminal must not crash us halfway through stopping
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);

  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    process.exit(0);
  }

  const stack = new Stack({ repoRoot, instances: options.instances });
  let stopping = null;
  const shutdown = (reason, exitCode) => {
    if (stopping) {
      stack.log('stopping now (killing what is left)');
      stack.stop({ force: true }).finally(() => process.exit(1));
      return stopping;
    }
    stack.log(`${reason}: stopping everything (press Ctrl-C again to kill)`);
    stopping = stack.stop().then(
      () => {
        stack.log('stopped');
        process.exit(exitCode);
      },
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => shutdown(signal, 0));
  process.on('disconnect', () => shutdown('supervisor gone', 0));
  process.channel?.unref();

  let up;
  try {
    up = await stack.start();
  } catch (error) {
    if (stopping) return;
    console.error(`\n[start] cannot start Keyledger: ${error instanceof StartError || error instanceof UsageError ? error.message : error.stack}`);
    await shutdown('start-up failed', 1);
    return;
  }

  for (const service of stack.apps) {
    service.exited.then(({ code, signal }) => {
      if (stopping) return;
      stack.log(`${service.name} exited (${signal ? `signal ${signal}` : `code ${code}`}); see ${path.relative(repoRoot, service.logFile)}`);
      if (stack.apps.filter((s) => s.app === 'gateway').every((s) => !s.running)) shutdown('no gateway left', 1);
    });
  }

  const url = up.gatewayUrls[0];
  const lines = [
    '',
    'Keyledger is up.',
    `  gateway         ${up.gatewayUrls.join('  ')}`,
    `  operator token  ${up.operatorToken}`,
    up.tokenGenerated
      ? '                  (generated for this run; set KEYLEDGER_OPERATOR_TOKEN to keep one)'
      : '                  (from KEYLEDGER_OPERATOR_TOKEN)',
    `  postgres        ${up.postgres.source === 'embedded' ? up.postgres.url : redactUrl(up.postgres.url)} (${up.postgres.source})`,
    `  nats            ${up.nats.url} (${up.nats.source})`,
    `  logs            ${path.relative(repoRoot, up.logDir)}/<app>.log (also echoed here, prefixed by app)`,
    '',
    'Create an org:',
    `  curl -sS -X POST ${url}/v1/orgs -H ${shellQuote(`Authorization: Bearer ${up.operatorToken}`)} -H 'Content-Type: application/json' -d '{"name":"acme"}'`,
    'then, with the api_key.key it returns:',
    `  curl -sS ${url}/v1/whoami -H 'X-Api-Key: kl_test_...'`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
}

