import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import type { VerifyResult } from '@keyledger/audit-domain';
import { parsePublicKey } from '@keyledger/audit-domain';
import { exportLog, replayReadModels, verifyExportFile, verifyStoredChain } from '@keyledger/audit-data-access';
import { readConfig } from '@keyledger/config';
import { createDb } from '@keyledger/event-store';
import { wholeNumber } from './commands/options';
import { READ_MODEL_PROJECTIONS } from './replay-registry';

const out = (text: string) => process.stdout.write(text + '\n');

function databaseUrl(option?: string): string {
  return option ?? readConfig(['DATABASE_URL']).DATABASE_URL;
}

/** A progress line: redrawn in place with a bar on a terminal, a plain line every few seconds otherwise. */
function progress(label: string) {
  const tty = Boolean(process.stderr.isTTY);
  const started = Date.now();
  let lastPlain = 0;
  return {
    update(done: number, total?: number) {
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? Math.round(done / seconds) : 0;
      if (tty) {
        const fraction = total ? Math.min(1, done / total) : 0;
        const width = 30;
        const bar = total ? '='.repeat(Math.round(fraction * width)).padEnd(width, ' ') : '';
        const share = total ? ` ${(fraction * 100).toFixed(0).padStart(3)}%` : '';
        process.stderr.write(`\r${label} [${bar}]${share} ${done.toLocaleString('en')}${total ? '/' + total.toLocaleString('en') : ''} events ${rate.toLocaleString('en')} events/s`);
      } else if (Date.now() - lastPlain >= 2000) {
        lastPlain = Date.now();
        process.stderr.write(`${label}: ${done} events${total ? ' of ' + total : ''}, ${rate} events/s\n`);
      }
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}

function report(result: VerifyResult, json: boolean): number {
  if (json) out(JSON.stringify(result));
  else if (result.ok) {
    out(`chain intact: ${result.events_verified} events verified${result.events_pending ? `, ${result.events_pending} not chained yet` : ''}`);
    if (result.head) out(`head: position ${result.head.position}, hash ${result.head.hash}`);
    out(result.checkpoint ? `${result.checkpoints_verified} signed checkpoints verified; latest at position ${result.checkpoint.position}, signed ${result.checkpoint.signed_at}` : 'no signed checkpoint yet');
    // Anyone can append rechained events after the last signature: say how many nothing vouches for.
    if (result.checkpoint && result.events_after_checkpoint > 0) out(`${result.events_after_checkpoint} events after the latest checkpoint are not covered by a signature yet`);
  } else {
    out(`TAMPERED: first bad position ${result.first_bad_position}: ${result.reason}`);
    out(result.detail);
  }
  return result.ok ? 0 : 1;
}

export function addAuditCommands(program: Command): void {
  const audit = program.command('audit').description('auditor tools: verify the hash chain, export the log, replay read models');

  audit
    .command('verify')
    .description('recompute the hash chain from the raw rows (or an export file) and check every signed checkpoint; exit 1 on any break, or, with a pinned key, when no checkpoint signed by it covers the chain')
    .option('--database-url <url>', 'Postgres connection string (default: DATABASE_URL)')
    .option('--file <path>', 'verify an NDJSON export offline instead of the database')
    .option('--public-key <key>', 'the pinned Ed25519 public key (base64, hex or PEM); required with --file; the chain must then carry at least one checkpoint signed by it')
    .option('--max-unsigned <count>', 'fail (as unsigned) when more chained events than this follow the latest signed checkpoint; an honest tail is shorter than the checkpoint interval (KEYLEDGER_AUDIT_CHECKPOINT_EVERY_EVENTS, plus what its seconds let through)', wholeNumber('events'))
    .option('--json', 'print the result as JSON')
    .action(async (own: { databaseUrl?: string; file?: string; publicKey?: string; maxUnsigned?: number; json?: boolean }, command: Command) => {
      // `--json` is also a global option of the CLI: take it from wherever commander put it.
      const options = { ...own, json: Boolean(own.json ?? command.optsWithGlobals().json) };
      const publicKey = options.publicKey ? parsePublicKey(options.publicKey) : undefined;
      const bar = progress('verify');
      let result: VerifyResult;
      if (options.file) {
        if (!publicKey) throw new Error('--file needs --public-key: an export can only be trusted against a key pinned beforehand');
        result = await verifyExportFile(options.file, publicKey, (n) => bar.update(n), options.maxUnsigned);
      } else {
        const db = createDb(databaseUrl(options.databaseUrl), { poolSize: 2, applicationName: 'keyledger-audit' });
        try {
          // A pinned key that signed nothing proves nothing: whoever can rewrite the tables can drop every checkpoint and rechain.
          result = await verifyStoredChain(db, { publicKey, requireSignature: publicKey !== undefined, maxUnsignedEvents: options.maxUnsigned, onProgress: (n) => bar.update(n) });
        } finally {
          await db.destroy();
        }
      }
      bar.done();
      if (!publicKey && !options.json) out('note: checkpoints were checked against the keys stored with them; pass --public-key to check against a pinned key');
      process.exitCode = report(result, Boolean(options.json));
    });

  audit
    .command('export')
    .description('write the whole log with its hashes and signed checkpoints as NDJSON, for offline verification')
    .requiredOption('--out <path>', 'file to write (- for stdout)')
    .option('--database-url <url>', 'Postgres connection string (default: DATABASE_URL)')
    .action(async (options: { out: string; databaseUrl?: string }) => {
      const db = createDb(databaseUrl(options.databaseUrl), { poolSize: 2, applicationName: 'keyledger-audit' });
      const stream = options.out === '-' ? process.stdout : createWriteStream(options.out);
      try {
        const written = await exportLog(db, async (line) => {
          if (!stream.write(line)) await once(stream, 'drain');
        });
        if (stream !== process.stdout) {
          stream.end();
          await once(stream, 'finish');
          out(`exported ${written.events} events and ${written.checkpoints} checkpoints to ${options.out}`);
        }
      } finally {
        await db.destroy();
      }
    });

  audit
    .command('replay')
    .description('rebuild every read model from the log into a scratch schema and compare it row by row with the live tables; exit 1 on any difference')
    .option('--database-url <url>', 'Postgres connection string (default: DATABASE_URL)')
    .option('--json', 'print the report as JSON')
    .option('--keep-schema', 'keep the scratch schema for inspection')
    .action(async (own: { databaseUrl?: string; json?: boolean; keepSchema?: boolean }, command: Command) => {
      const options = { ...own, json: Boolean(own.json ?? command.optsWithGlobals().json) };
      // Replay reads the log, loads rows and writes them on three connections at once.
      const db = createDb(databaseUrl(options.databaseUrl), { poolSize: 3, applicationName: 'keyledger-audit' });
      const bar = progress('replay');
      try {
        const report = await replayReadModels(db, READ_MODEL_PROJECTIONS, { onProgress: (done, total) => bar.update(done, total), keepSchema: options.keepSchema });
        bar.done();
        if (options.json) out(JSON.stringify(report));
        else {
          out(`replayed ${report.events} events in ${report.seconds.toFixed(1)} s (${report.events_per_second} events/s) into ${report.tables.map((t) => `${t.table} (${t.rows})`).join(', ')}`);
          if (report.differences.length === 0) out('no difference: every read model equals its rebuild from the log');
          else {
            out(`${report.differences.length}${report.truncated ? '+' : ''} difference(s) between the live read models and their rebuild:`);
            for (const d of report.differences) {
              out(`- ${d.table} ${JSON.stringify(d.key)}: ${d.kind.replace(/_/g, ' ')}`);
              if (d.kind === 'differs') for (const column of Object.keys(d.live ?? {})) out(`    ${column}: live ${JSON.stringify(d.live?.[column])} ≠ replayed ${JSON.stringify(d.replayed?.[column])}`);
              else out(`    ${JSON.stringify(d.live ?? d.replayed)}`);
            }
          }
        }
        process.exitCode = report.differences.length === 0 ? 0 : 1;
      } finally {
        await db.destroy();
      }
    });
}
