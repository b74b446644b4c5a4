import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** Server the tests use: `KEYLEDGER_TEST_PG_URL` or the local Postgres, maintenance database. */
export function testServerUrl(): string {
  return process.env['KEYLEDGER_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function testNatsUrl(): string {
  return process.env['KEYLEDGER_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database for one test file: never a leftover from an earlier run. */
export async function createTestDatabase(label = 'test', serverUrl = testServerUrl()): Promise<TestDatabase> {
  const name = `kl_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
