import type { Kysely } from 'kysely';
import { createInbox, headers as natsHeaders, JetStreamManager, Msg, NatsConnection, NatsError, JSONCodec, StreamConfig, Subscription } from 'nats';
import type { EventRow } from './database';
import { streamCategory } from './event-store';
import { LogProcessor } from './log-processor';

export const EVENTS_JETSTREAM = 'KEYLEDGER_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'events';
export const OUTBOX_RELAY = 'outbox-relay';

/** Where published events go; the defaults are the stack's, tests pass their own to stay apart. */
export interface EventsJetStreamOptions {
  /** JetStream stream that keeps published events (default `KEYLEDGER_EVENTS`). */
  streamName?: string;
  /** Leading subject token(s): events go to `<prefix>.<category>.<type>` (default `events`). */
  subjectPrefix?: string;
}

/** NATS subject an event is published on: `events.<category>.<type>`. */
export function eventSubject(
  event: Pick<EventRow, 'stream' | 'type'>,
  subjectPrefix: string = EVENTS_SUBJECT_PREFIX,
): string {
  return `${subjectPrefix}.${streamCategory(event.stream)}.${event.type}`;
}

/** What goes over the wire: the event as stored, minus the chain columns. */
export interface EventNotification {
  schema_version: 1;
  id: string;
  position: number;
  stream: string;
  stream_version: number;
  type: string;
  event_schema_version: number;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  org_id: string | null;
  recorded_at: string;
}

export function toNotification(event: EventRow): EventNotification {
  return {
    schema_version: 1,
    id: event.id,
    position: event.position,
    stream: event.stream,
    stream_version: event.stream_version,
    type: event.type,
    event_schema_version: event.schema_version,
    data: event.data,
    metadata: event.metadata,
    org_id: event.org_id,
    recorded_at: new Date(event.recorded_at).toISOString(),
  };
}

const STREAM_NOT_FOUND = 10059;

/** Creates (or updates) the JetStream stream that keeps published events, deduplicated by id. */
export async function ensureEventsJetStream(nc: NatsConnection, options: EventsJetStreamOptions = {}): Promise<void> {
  const name = options.streamName ?? EVENTS_JETSTREAM;
  const jsm: JetStreamManager = await nc.jetstreamManager();
  const config: Partial<StreamConfig> & { name: string } = {
    name,
    subjects: [`${options.subjectPrefix ?? EVENTS_SUBJECT_PREFIX}.>`],
    duplicate_window: 10 * 60 * 1_000_000_000, // 10 minutes, in nanoseconds
    max_age: 7 * 24 * 60 * 60 * 1_000_000_000,
  };
  try {
    await jsm.streams.info(name);
  } catch (error) {
    // Only a missing stream is created; any other failure (no JetStream, no permission) surfaces as is.
    if ((error as NatsError).api_error?.err_code !== STREAM_NOT_FOUND) throw error;
    await jsm.streams.add(config);
    return;
  }
  await jsm.streams.update(name, config);
}

const codec = JSONCodec<EventNotification>();
const ackCodec = JSONCodec<{ stream?: string; seq?: number; error?: { code?: number; description?: string } }>();

/** How long a batch waits for JetStream's acknowledgements (nats.js's JetStream default). */
const ACK_TIMEOUT_MS = 5_000;

/**
 * Publishes batches to JetStream and waits for every acknowledgement, over one reply subscription
 * kept for the relay's life and one timer per batch. (`js.publish` makes a request of each message:
 * a reply token, a timer, a promise chain and two error objects each, which was most of what
 * relaying an event cost.) The messages carry what `js.publish` sends: `Nats-Msg-Id`, by which
 * JetStream drops duplicates, and `Nats-Expected-Stream`; an ack from another stream, an error
 * ack, no responders or a timeout fail the batch.
 */
class JetStreamBatchPublisher {
  private readonly inbox = createInbox();
  private subscription: Subscription | null = null;
  private readonly waiting = new Map<string, (error: Error | null) => void>();
  private nextToken = 0;

  constructor(
    private readonly nats: NatsConnection,
    private readonly streamName: string,
  ) {}

  async publish(messages: readonly { subject: string; data: Uint8Array; msgId: string }[]): Promise<void> {
    if (this.subscription === null || this.subscription.isClosed()) {
      this.subscription = this.nats.subscribe(`${this.inbox}.*`, { callback: (_error, msg) => this.acknowledged(msg) });
    }
    const acks = messages.map(({ subject, data, msgId }) => {
      const token = String(++this.nextToken);
      const acked = new Promise<Error | null>((resolve) => this.waiting.set(token, resolve));
      const h = natsHeaders();
      h.set('Nats-Msg-Id', msgId);
      h.set('Nats-Expected-Stream', this.streamName);
      this.nats.publish(subject, data, { reply: `${this.inbox}.${token}`, headers: h });
      return { token, acked };
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<Error>((resolve) => {
      timer = setTimeout(() => resolve(new Error(`JetStream did not acknowledge ${messages.length} message(s) within ${ACK_TIMEOUT_MS} ms`)), ACK_TIMEOUT_MS);
    });
    try {
      for (const { acked } of acks) {
        const error = await Promise.race([acked, timedOut]);
        if (error) throw error;
      }
    } finally {
      clearTimeout(timer);
      for (const { token } of acks) this.waiting.delete(token);
    }
  }

  private acknowledged(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1);
    const settle = this.waiting.get(token);
    if (!settle) return; // a late ack of a batch that already failed
    this.waiting.delete(token);
    if (msg.headers?.hasError) {
      settle(new Error(`JetStream refused the message: ${msg.headers.code} ${msg.headers.description}`));
      return;
    }
    try {
      const ack = ackCodec.decode(msg.data);
      if (ack.error) settle(new Error(`JetStream refused the message: ${ack.error.code ?? ''} ${ack.error.description ?? ''}`));
      else if (ack.stream !== this.streamName) settle(new Error(`acknowledged by stream ${String(ack.stream)}, expected ${this.streamName}`));
      else settle(null);
    } catch (error) {
      settle(error as Error);
    }
  }
}

/**
 * The outbox relay: a log processor that publishes every committed event to JetStream with the
 * event id as `Nats-Msg-Id`. The checkpoint moves only after JetStream acknowledged the batch; a
 * crash in between publishes again, and JetStream drops the duplicates by id.
 */
export function createOutboxRelay(
  options: {
    db: Kysely<any>;
    nats: NatsConnection;
    /** Processor name (lease and checkpoint key); default `outbox-relay`. */
    name?: string;
    batchSize?: number;
    pollIntervalMs?: number;
    leaseRetryMs?: number;
    onError?: (error: unknown) => void;
  } & EventsJetStreamOptions,
): LogProcessor {
  const streamName = options.streamName ?? EVENTS_JETSTREAM;
  const subjectPrefix = options.subjectPrefix ?? EVENTS_SUBJECT_PREFIX;
  const publisher = new JetStreamBatchPublisher(options.nats, streamName);
  let streamReady = false;
  return new LogProcessor({
    name: options.name ?? OUTBOX_RELAY,
    db: options.db,
    batchSize: options.batchSize ?? 200,
    pollIntervalMs: options.pollIntervalMs,
    leaseRetryMs: options.leaseRetryMs,
    onError: options.onError,
    // Publishing writes nothing here: no transaction around it, the checkpoint moves after the acks.
    deliver: async (events) => {
      if (!streamReady) {
        await ensureEventsJetStream(options.nats, { streamName, subjectPrefix });
        streamReady = true;
      }
      // Sent in log order on one connection, so JetStream stores them in log order.
      await publisher.publish(
        events.map((event) => ({ subject: eventSubject(event, subjectPrefix), data: codec.encode(toNotification(event)), msgId: event.id })),
      );
    },
  });
}

export const eventNotificationCodec = codec;
