import { randomBytes } from 'node:crypto';
import { Kysely, sql } from 'kysely';
import { connect, JetStreamManager, NatsConnection, NatsError, StoredMsg } from 'nats';
import { createTestDatabase, TestDatabase, testNatsUrl } from '@keyledger/testing';
import { createDb } from './connect';
import type { EventMetadata, EventRow, EventStoreDatabase } from './database';
import { EventStore } from './event-store';
import { LogProcessor, readCheckpoint } from './log-processor';
import { checkpointOf } from './log-reader';
import { eventStoreMigrations, migrateToLatest } from './migrate';
import {
  EVENTS_JETSTREAM,
  OUTBOX_RELAY,
  createOutboxRelay,
  ensureEventsJetStream,
  eventNotificationCodec,
  eventSubject,
  toNotification,
} from './outbox-relay';

jest.setTimeout(60_000);

const meta: EventMetadata = { request_id: 'req_outbox', actor_key_id: 'key_actor', agent_id: null, ip: null };
const relayErrors: unknown[] = [];

async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; relay errors: ${relayErrors.map(String).join('; ') || 'none'}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('outbox relay (real Postgres and NATS JetStream)', () => {
  // A stream and subject space of this run's own: concurrent runs and a running stack share the server.
  const run = randomBytes(4).toString('hex');
  const streamName = `KL_TEST_OUTBOX_${run}`;
  const subjectPrefix = `kltest.${run}.events`;

  let database: TestDatabase;
  let db: Kysely<EventStoreDatabase>;
  let store: EventStore;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const relays: LogProcessor[] = [];
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('outbox_relay');
    db = createDb<EventStoreDatabase>(database.url, { poolSize: 10, applicationName: 'outbox-relay-spec' });
    await migrateToLatest(db, [eventStoreMigrations]);
    store = new EventStore(db);
    nc = await connect({ servers: testNatsUrl(), name: `outbox-relay-spec-${run}` });
    jsm = await nc.jetstreamManager();
  });

  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await Promise.all(connections.splice(0).map((c) => c.drain()));
  });

  afterAll(async () => {
    await jsm.streams.delete(streamName).catch(() => undefined);
    await nc.drain();
    await db.destroy();
    await database.drop();
  });

  /** A relay as a freshly started process would run it: its own NATS connection. */
  async function startRelay(): Promise<LogProcessor> {
    const relayNats = await connect({ servers: testNatsUrl(), name: `outbox-relay-${run}` });
    connections.push(relayNats);
    const relay = createOutboxRelay({
      db, nats: relayNats, streamName, subjectPrefix, batchSize: 4, pollIntervalMs: 10, leaseRetryMs: 50,
      onError: (error) => relayErrors.push(error),
    });
    relays.push(relay);
    relay.start();
    return relay;
  }

  async function logInOrder(): Promise<EventRow[]> {
    return db.selectFrom('events').selectAll().orderBy('transaction_id').orderBy('position').execute();
  }

  /** The stream's messages in sequence order; none while the relay has not created it yet. */
  async function storedMessages(): Promise<StoredMsg[]> {
    const info = await jsm.streams.info(streamName).catch((error: NatsError) => {
      if (error.api_error?.err_code === 10059) return null;
      throw error;
    });
    if (!info) return [];
    const { state } = info;
    const messages: StoredMsg[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      messages.push(await jsm.streams.getMessage(streamName, { seq }));
    }
    return messages;
  }

  function expectPublishedInLogOrder(messages: readonly StoredMsg[], log: readonly EventRow[]): void {
    expect(messages.map((m) => m.subject)).toEqual(log.map((e) => eventSubject(e, subjectPrefix)));
    expect(messages.map((m) => m.header.get('Nats-Msg-Id'))).toEqual(log.map((e) => e.id));
    expect(messages.map((m) => eventNotificationCodec.decode(m.data))).toEqual(log.map(toNotification));
  }

  async function relayCaughtUp(log: readonly EventRow[]): Promise<boolean> {
    const cp = await readCheckpoint(db, OUTBOX_RELAY);
    return cp !== null && cp.position === log[log.length - 1].position && cp.transactionId === log[log.length - 1].transaction_id;
  }

  it('keeps the stack defaults: stream KEYLEDGER_EVENTS, subjects events.<category>.<type>', () => {
    expect(EVENTS_JETSTREAM).toBe('KEYLEDGER_EVENTS');
    expect(eventSubject({ stream: 'key-key_123', type: 'KeyCreated' })).toBe('events.key.KeyCreated');
    expect(eventSubject({ stream: 'wallet-w_1', type: 'FundsHeld' }, subjectPrefix)).toBe(`${subjectPrefix}.wallet.FundsHeld`);
  });

  it('publishes every committed event to <prefix>.<category>.<type>, id as Nats-Msg-Id, in log order', async () => {
    await store.append('key-k1', 0, [
      { type: 'KeyCreated', data: { name: 'ci' } },
      { type: 'KeyRenamed', data: { name: 'ci-2' } },
    ], meta, { orgId: 'org_1' });
    await store.append('agent-a1', 0, [{ type: 'AgentRegistered', data: { label: 'bot' } }], meta);
    // An out-of-order commit: the earlier transaction's event must still be published first.
    const held = await db.startTransaction().execute();
    await store.append('wallet-w1', 0, [{ type: 'Deposited', data: { cents: 500 } }], meta, { trx: held });
    await store.append('spend-s1', 0, [{ type: 'SpendRecorded', data: { cents: 20 } }], meta);
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => store.append(`key-k${i + 10}`, 0, [{ type: 'KeyCreated', data: { i } }], meta)),
    );

    try {
      await startRelay();
      // While the wallet transaction is open nothing after it goes out (the relay reads gap-safe),
      // however long the relay keeps polling.
      await waitFor(async () => (await storedMessages()).length >= 3, 'the events before the open transaction');
      await new Promise((r) => setTimeout(r, 200));
      expect((await storedMessages()).map((m) => m.subject)).toEqual([
        `${subjectPrefix}.key.KeyCreated`,
        `${subjectPrefix}.key.KeyRenamed`,
        `${subjectPrefix}.agent.AgentRegistered`,
      ]);
      await held.commit().execute();
    } finally {
      if (!held.isCommitted) await held.rollback().execute();
    }

    const log = await logInOrder();
    expect(log).toHaveLength(11);
    await waitFor(() => relayCaughtUp(log), 'the relay to publish the whole log');
    const messages = await storedMessages();
    expect(messages).toHaveLength(log.length);
    expectPublishedInLogOrder(messages, log);
    expect(messages[3].subject).toBe(`${subjectPrefix}.wallet.Deposited`);
    expect(eventNotificationCodec.decode(messages[0].data)).toMatchObject({
      schema_version: 1,
      stream: 'key-k1',
      stream_version: 1,
      type: 'KeyCreated',
      data: { name: 'ci' },
      metadata: meta,
      org_id: 'org_1',
    });
  });

  it('restarted from an older checkpoint (crash between publish and checkpoint), it adds no duplicates', async () => {
    const before = await logInOrder();
    expect((await jsm.streams.info(streamName)).state.messages).toBe(before.length);

    // The crash: JetStream has the messages, the stored checkpoint is from several batches earlier.
    await sql`
      update processor_checkpoints set transaction_id = ${before[2].transaction_id}::xid8, position = ${before[2].position}
      where name = ${OUTBOX_RELAY}`.execute(db);
    expect(await readCheckpoint(db, OUTBOX_RELAY)).toEqual(checkpointOf(before[2]));
    await store.append('key-k1', 2, [{ type: 'KeyRevoked', data: {} }], meta);
    await store.append('wallet-w1', 1, [{ type: 'Deposited', data: { cents: 5 } }], meta);

    await startRelay();
    const log = await logInOrder();
    await waitFor(() => relayCaughtUp(log), 'the restarted relay to catch up');

    const { state } = await jsm.streams.info(streamName);
    expect(state.messages).toBe(log.length); // 8 republished events were dropped as duplicates
    expectPublishedInLogOrder(await storedMessages(), log);
  });

  it('creating the stream is idempotent and keeps what it holds', async () => {
    const held = (await jsm.streams.info(streamName)).state.messages;
    await ensureEventsJetStream(nc, { streamName, subjectPrefix });
    await ensureEventsJetStream(nc, { streamName, subjectPrefix });
    const info = await jsm.streams.info(streamName);
    expect(info.config.subjects).toEqual([`${subjectPrefix}.>`]);
    expect(info.config.duplicate_window).toBe(10 * 60 * 1_000_000_000);
    expect(info.state.messages).toBe(held);
  });

  it('a batch JetStream does not acknowledge (no stream takes the subject) fails, and the checkpoint waits for it', async () => {
    await startRelay();
    await store.append('key-k1', 3, [{ type: 'KeyRenamed', data: { name: 'acknowledged' } }], meta);
    let log = await logInOrder();
    await waitFor(() => relayCaughtUp(log), 'the relay to publish a batch (and so to have made sure of its stream)');
    await jsm.streams.delete(streamName);
    const errorsBefore = relayErrors.length;
    await store.append('key-k1', 4, [{ type: 'KeyRenamed', data: { name: 'unacknowledged' } }], meta);
    await waitFor(() => relayErrors.length > errorsBefore, 'the unacknowledged batch to fail');
    expect(await readCheckpoint(db, OUTBOX_RELAY)).toEqual(checkpointOf(log[log.length - 1]));

    await ensureEventsJetStream(nc, { streamName, subjectPrefix });
    log = await logInOrder();
    await waitFor(() => relayCaughtUp(log), 'the relay to deliver it once a stream takes it');
    expect((await storedMessages()).map((m) => m.header.get('Nats-Msg-Id'))).toEqual([log[log.length - 1].id]);
  });
});
