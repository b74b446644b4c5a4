import type { Kysely } from 'kysely';
import { createDb, migrateToLatest } from '@keyledger/event-store';
import { createTestDatabase, TestDatabase } from '@keyledger/testing';
import { gatewayMigrations, GatewayDatabase, IdempotencyRecordWriter } from './idempotency.repository';

describe('idempotency records written in groups (real Postgres)', () => {
  let database: TestDatabase;
  let db: Kysely<GatewayDatabase>;
  let records: IdempotencyRecordWriter;

  beforeAll(async () => {
    database = await createTestDatabase('idempotency_int');
    db = createDb(database.url) as Kysely<GatewayDatabase>;
    await migrateToLatest(db, [gatewayMigrations]);
    records = new IdempotencyRecordWriter(db, 60);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('concurrent requests with distinct keys all get theirs, and their answers are stored and replayed', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `distinct-${i}`);
    const claims = await Promise.all(keys.map((key) => records.claim('org:a', key, `fp-${key}`)));
    expect(claims).toEqual(keys.map(() => ({ kind: 'claimed' })));
    await Promise.all(keys.map((key, i) => records.complete('org:a', key, 201, `{"n":${i}}`)));
    const again = await Promise.all(keys.map((key) => records.claim('org:a', key, `fp-${key}`)));
    expect(again).toEqual(keys.map((_, i) => ({ kind: 'replay', status: 201, body: `{"n":${i}}` })));
  });

  it('one key claimed by many requests at once has exactly one winner; the others are told it is in progress or reused', async () => {
    const same = await Promise.all(Array.from({ length: 20 }, () => records.claim('org:b', 'same', 'fp')));
    expect(same.filter((c) => c.kind === 'claimed')).toHaveLength(1);
    expect(same.filter((c) => c.kind === 'in_progress')).toHaveLength(19);
    const other = await records.claim('org:b', 'same', 'another body');
    expect(other).toEqual({ kind: 'reused' });
    // The same key in another scope is another key.
    expect(await records.claim('org:c', 'same', 'fp')).toEqual({ kind: 'claimed' });
  });

  it('a released key can be claimed again', async () => {
    expect(await records.claim('org:d', 'k', 'fp')).toEqual({ kind: 'claimed' });
    await records.release('org:d', 'k');
    expect(await records.claim('org:d', 'k', 'fp')).toEqual({ kind: 'claimed' });
  });
});
