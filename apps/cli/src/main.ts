#!/usr/bin/env node
import { Command } from 'commander';
import { Client } from 'pg';
import { readConfig } from '@keyledger/config';
import { createDb, eventStoreMigrations, migrateToLatest } from '@keyledger/event-store';
import { gatewayMigrations } from '@keyledger/gateway-data-access';
import { keysMigrations } from '@keyledger/keys-data-access';
import { auditMigrations } from '@keyledger/audit-data-access';
import { budgetMigrations } from '@keyledger/budget-data-access';
import { addAuditCommands } from './audit-commands';
import { describeError, registerApiCommands } from './commands/api';

/** Every service's migrations, in the order their tables depend on each other. */
const ALL_MIGRATIONS = [eventStoreMigrations, keysMigrations, budgetMigrations, auditMigrations, gatewayMigrations];

/** Creates the database named in the URL when it does not exist yet. */
async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount) return false;
    await client.query(`create database "${name.replace(/"/g, '""')}"`);
    return true;
  } finally {
    await client.end();
  }
}

const program = new Command('keyledger').description('Keyledger operations and audit CLI');

program
  .command('migrate')
  .description('create the database if missing and apply every pending migration')
  .option('--database-url <url>', 'Postgres connection string (default: DATABASE_URL)')
  .action(async (options: { databaseUrl?: string }) => {
    const url = options.databaseUrl ?? readConfig(['DATABASE_URL']).DATABASE_URL;
    if (await ensureDatabase(url)) process.stdout.write(`created database ${new URL(url).pathname.slice(1)}\n`);
    const db = createDb(url, { poolSize: 2, applicationName: 'keyledger-migrate' });
    try {
      const applied = await migrateToLatest(db, ALL_MIGRATIONS);
      process.stdout.write(applied.length ? applied.map((m) => `applied ${m}\n`).join('') : 'schema is up to date\n');
    } finally {
      await db.destroy();
    }
  });

registerApiCommands(program);
addAuditCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`keyledger: ${describeError(error)}\n`);
  process.exit(1);
});
