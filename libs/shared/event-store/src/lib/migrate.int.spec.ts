import { Kysely, sql } from 'kysely';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '@keyledger/testing';
import { createDb } from './connect';
import { eventStoreMigrations, migrateToLatest, migrationsBefore, MigrationError } from './migrate';

const indexesOfEvents = async (db: Kysely<any>) =>
  (await sql<{ name: string }>`select indexname as name from pg_indexes where tablename = 'events' order by indexname`.execute(db)).rows.map((r) => r.name);

describe('event-store migration 2026_11_22_0003 (events_org → events_org_log_order) on a log in use', () => {
  let database: TestDatabase;
  let db: Kysely<any>;

  beforeAll(async () => {
    database = await createTestDatabase('event_store_migrate');
    db = createDb(database.url, { poolSize: 2 });
    await migrateToLatest(db, [migrationsBefore(eventStoreMigrations, '2026_11_22_0003_events_org_log_order')]);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('gives up, changing nothing, rather than queue the log behind a long reader; runs once the reader is done', async () => {
    expect(await indexesOfEvents(db)).toContain('events_org');
    // An auditor's verify or export: a transaction that has read events and is still reading.
    const reader = new Client({ connectionString: database.url });
    await reader.connect();
    try {
      await reader.query('begin isolation level repeatable read');
      await reader.query('select count(*) from events');
      await expect(migrateToLatest(db, [eventStoreMigrations])).rejects.toThrow(MigrationError);
      await expect(migrateToLatest(db, [eventStoreMigrations])).rejects.toThrow(/lock timeout/);
      // Meanwhile the log takes appends and reads as before.
      await sql`insert into events (stream, stream_version, type, data, metadata) values ('s', 1, 'T', '{}', '{}')`.execute(db);
      expect(await indexesOfEvents(db)).toContain('events_org');
      expect(await indexesOfEvents(db)).not.toContain('events_org_log_order');
    } finally {
      await reader.query('rollback');
      await reader.end();
    }
    expect(await migrateToLatest(db, [eventStoreMigrations])).toEqual(['event_store/2026_11_22_0003_events_org_log_order', 'event_store/2026_11_22_0004_events_strictly_append_only']);
    const indexes = await indexesOfEvents(db);
    expect(indexes).toContain('events_org_log_order');
    expect(indexes).not.toContain('events_org');
  }, 30_000);
});
