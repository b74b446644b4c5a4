import { Kysely, sql } from 'kysely';
import { createTestDatabase, TestDatabase } from '@keyledger/testing';
import { createDb } from './connect';
import type { EventMetadata, EventStoreDatabase } from './database';
import { WrongExpectedVersionError } from './errors';
import { EventStore, streamCategory } from './event-store';
import { eventStoreMigrations, migrateToLatest } from './migrate';

const meta: EventMetadata = { request_id: 'req_test', actor_key_id: null, agent_id: null, ip: null };

describe('EventStore (real Postgres)', () => {
  let database: TestDatabase;
  let db: Kysely<EventStoreDatabase>;
  let store: EventStore;

  beforeAll(async () => {
    database = await createTestDatabase('event_store');
    db = createDb<EventStoreDatabase>(database.url, { poolSize: 60 });
    await migrateToLatest(db, [eventStoreMigrations]);
    store = new EventStore(db);
  });

  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  it('appends events with consecutive versions and returns them as stored', async () => {
    const first = await store.append('key-a', 0, [{ type: 'KeyCreated', data: { n: 1 } }], meta, { orgId: 'org_1' });
    const second = await store.append('key-a', 1, [
      { type: 'KeyRenamed', data: { n: 2 } },
      { type: 'KeyRevoked', data: { n: 3 } },
    ], meta);
    expect(first.nextExpectedVersion).toBe(1);
    expect(second.nextExpectedVersion).toBe(3);
    const stream = await store.readStream('key-a');
    expect(stream.map((e) => [e.stream_version, e.type, e.data])).toEqual([
      [1, 'KeyCreated', { n: 1 }],
      [2, 'KeyRenamed', { n: 2 }],
      [3, 'KeyRevoked', { n: 3 }],
    ]);
    expect(stream[0].metadata).toEqual(meta);
    expect(stream[0].org_id).toBe('org_1');
    expect(stream[0].hash).toBeNull();
  });

  it('rejects an append at the wrong expected version with a typed error and writes nothing', async () => {
    await store.append('key-b', 0, [{ type: 'KeyCreated', data: {} }], meta);
    await expect(store.append('key-b', 0, [{ type: 'KeyCreated', data: {} }], meta)).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
    await expect(store.append('key-b', 5, [{ type: 'KeyRevoked', data: {} }], meta)).rejects.toMatchObject({
      stream: 'key-b',
      expectedVersion: 5,
      actualVersion: 1,
    });
    expect(await store.streamVersion('key-b')).toBe(1);
  });

  it('lets exactly one of 50 concurrent appenders win each version; no version duplicated or skipped', async () => {
    const stream = 'wallet-race';
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const attempts = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          store.append(stream, round, [{ type: 'Deposited', data: { writer: i, round } }], meta),
        ),
      );
      const won = attempts.filter((a) => a.status === 'fulfilled');
      const lost = attempts.filter((a) => a.status === 'rejected') as PromiseRejectedResult[];
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(49);
      for (const l of lost) expect(l.reason).toBeInstanceOf(WrongExpectedVersionError);
    }
    const versions = (await store.readStream(stream)).map((e) => e.stream_version);
    expect(versions).toEqual([1, 2, 3, 4, 5]);
  });

  it("serializes 'any' appends to one stream instead of failing them", async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.append('audit-any', 'any', [{ type: 'Noted', data: { i } }], meta)),
    );
    const versions = (await store.readStream('audit-any')).map((e) => e.stream_version);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('appends inside the caller transaction: a rollback leaves no event', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await store.append('key-rollback', 0, [{ type: 'KeyCreated', data: {} }], meta, { trx });
        throw new Error('projection failed');
      }),
    ).rejects.toThrow('projection failed');
    expect(await store.streamVersion('key-rollback')).toBe(0);
  });

  describe('the events table is append-only', () => {
    it('rejects UPDATE of any column, the unused hash/prev_hash included', async () => {
      await store.append('key-immutable', 0, [{ type: 'KeyCreated', data: { a: 1 } }], meta);
      await expect(
        sql`update events set data = '{"a":2}' where stream = 'key-immutable'`.execute(db),
      ).rejects.toThrow(/append-only: UPDATE/);
      // These were the audit chainer's to fill once; the chain lives in a table of its own now.
      await expect(
        sql`update events set hash = '\\x01', prev_hash = '\\x00' where stream = 'key-immutable'`.execute(db),
      ).rejects.toThrow(/append-only: UPDATE/);
      const [row] = await store.readStream('key-immutable');
      expect(row.data).toEqual({ a: 1 });
      expect(row.hash).toBeNull();
    });

    it('rejects DELETE and TRUNCATE', async () => {
      await store.append('key-undeletable', 0, [{ type: 'KeyCreated', data: {} }], meta);
      await expect(sql`delete from events where stream = 'key-undeletable'`.execute(db)).rejects.toThrow(
        /append-only: DELETE/,
      );
      await expect(sql`truncate events`.execute(db)).rejects.toThrow(/append-only: TRUNCATE/);
      expect(await store.streamVersion('key-undeletable')).toBe(1);
    });
  });

  it('derives the category from the stream name', () => {
    expect(streamCategory('key-key_123')).toBe('key');
    expect(streamCategory('org-org_1-x')).toBe('org');
    expect(streamCategory('plain')).toBe('plain');
  });
});
