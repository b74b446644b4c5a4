import { headers as natsHeaders, JSONCodec, NatsConnection } from 'nats';
import type { EventRow } from './database';
import { eventSubject, toNotification } from './outbox-relay';

const codec = JSONCodec();

/**
 * The fast path beside the outbox relay: right after its transaction commits, a service publishes
 * its events itself, with the same `Nats-Msg-Id` the relay will use (JetStream keeps one copy), and
 * waits until the server has them. Subscribers (the gateways' key caches) therefore hold the news
 * before the command's reply leaves. If this fails the relay still delivers; nothing is lost.
 */
export async function publishCommitted(nats: NatsConnection, events: readonly EventRow[]): Promise<void> {
  if (events.length === 0 || nats.isClosed()) return;
  for (const event of events) {
    const h = natsHeaders();
    h.set('Nats-Msg-Id', event.id);
    nats.publish(eventSubject(event), codec.encode(toNotification(event)), { headers: h });
  }
  await nats.flush();
}
