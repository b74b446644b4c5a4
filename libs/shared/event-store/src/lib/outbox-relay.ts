import type { Kysely } from 'kysely';
import { JetStreamManager, NatsConnection, headers as natsHeaders, JSONCodec } from 'nats';
import type { EventRow } from './database';
import { streamCategory } from './event-store';
import { LogProcessor } from './log-processor';

export const EVENTS_JETSTREAM = 'KEYLEDGER_EVENTS';
export const OUTBOX_RELAY = 'outbox-relay';

/** NATS subject an event is published on: `events.<category>.<type>`. */
export function eventSubject(event: Pick<EventRow, 'stream' | 'type'>): string {
  return `events.${streamCategory(event.stream)}.${event.type}`;
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

/** Creates (or updates) the JetStream stream that keeps published events, deduplicated by id. */
export async function ensureEventsJetStream(nc: NatsConnection): Promise<void> {
  const jsm: JetStreamManager = await nc.jetstreamManager();
  const config = {
    name: EVENTS_JETSTREAM,
    subjects: ['events.>'],
    duplicate_window: 10 * 60 * 1_000_000_000, // 10 minutes, in nanoseconds
    max_age: 7 * 24 * 60 * 60 * 1_000_000_000,
  };
  try {
    await jsm.streams.info(EVENTS_JETSTREAM);
    await jsm.streams.update(EVENTS_JETSTREAM, config);
  } catch {
    await jsm.streams.add(config);
  }
}

const codec = JSONCodec<EventNotification>();

/**
 * The outbox relay: a log processor that publishes every committed event to JetStream with the
 * event id as `Nats-Msg-Id`. The checkpoint moves only after JetStream acknowledged the batch; a
 * crash in between publishes again, and JetStream drops the duplicates by id.
 */
export function createOutboxRelay(options: {
  db: Kysely<any>;
  nats: NatsConnection;
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}): LogProcessor {
  const js = options.nats.jetstream();
  let streamReady = false;
  return new LogProcessor({
    name: OUTBOX_RELAY,
    db: options.db,
    batchSize: 200,
    pollIntervalMs: options.pollIntervalMs,
    onError: options.onError,
    handle: async (events) => {
      if (!streamReady) {
        await ensureEventsJetStream(options.nats);
        streamReady = true;
      }
      await Promise.all(
        events.map((event) => {
          const h = natsHeaders();
          h.set('Nats-Msg-Id', event.id);
          return js.publish(eventSubject(event), codec.encode(toNotification(event)), { msgID: event.id, headers: h });
        }),
      );
    },
  });
}

export const eventNotificationCodec = codec;
