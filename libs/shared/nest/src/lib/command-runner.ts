import { Inject, Injectable, Optional } from '@nestjs/common';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { CommandMeta } from '@keyledger/contracts';
import { EventMetadata, EventRow, EventStore, ExpectedVersion, NewEvent, WrongExpectedVersionError, publishCommitted } from '@keyledger/event-store';
import { Decider, DomainError, replayState } from '@keyledger/domain';
import { DB, INLINE_PROJECTION, LOGGER, NATS_CONNECTION, PUBLISH_ON_COMMIT } from './tokens';

/** A service's inline projection: applies its new events to its read-model tables, in the append's trx. */
export type InlineProjection = (trx: Transaction<any>, events: readonly EventRow[]) => Promise<void>;

export function eventMetadata(meta: CommandMeta, extra: Partial<EventMetadata> = {}): EventMetadata {
  return {
    request_id: meta.request_id,
    actor_key_id: meta.actor_key_id,
    agent_id: meta.agent_id,
    ip: meta.ip,
    idempotency_key: meta.idempotency_key,
    ...extra,
  };
}

/** What a command transaction can do: load a stream's state, decide and append, all in one trx. */
export interface UnitOfWork {
  readonly trx: Transaction<any>;
  /** Loads the stream, decides, appends at the loaded version and projects the new events inline. */
  execute<C, E extends NewEvent, S>(
    decider: Decider<C, E, S>,
    stream: string,
    command: C,
    options: { metadata: EventMetadata; orgId: string | null },
  ): Promise<{ events: readonly E[]; state: S }>;
  /** Loads a stream's current state without deciding anything. */
  load<C, E, S>(decider: Decider<C, E, S>, stream: string): Promise<{ state: S; version: number }>;
  /** Appends events already decided (on state the caller loaded itself) and projects them inline. */
  append(
    stream: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
    options: { metadata: EventMetadata; orgId: string | null },
  ): Promise<EventRow[]>;
}

const MAX_ATTEMPTS = 5;

/** Events an Idempotency-Key already produced in its scope, within the gateway's 24-hour retention. */
async function eventsOfKey(trx: Transaction<any>, meta: CommandMeta, orgId: string | null): Promise<EventRow[]> {
  // Keys are scoped to the organization, or to the client IP for callers without one.
  const scope = orgId !== null ? sql`org_id = ${orgId}` : sql`metadata->>'ip' = ${meta.ip ?? ''}`;
  // Two deliveries of one command at once (a retry sent while the first still runs, after the gateway
  // timed out) take turns here: the second looks only once the first has committed, and sees its events.
  await sql`select pg_advisory_xact_lock(hashtextextended(${`idem:${orgId ?? `ip:${meta.ip ?? ''}`}:${meta.idempotency_key}`}, 0))`.execute(trx);
  // Within the gateway's 24-hour retention: after that the key may be used afresh.
  const found = await sql<EventRow>`select * from events
    where metadata->>'idempotency_key' = ${meta.idempotency_key} and ${scope} and recorded_at > now() - interval '24 hours'
    order by position limit 100`.execute(trx);
  return found.rows;
}

function refuseRepeat(meta: CommandMeta): never {
  throw new DomainError('CONFLICT', 'a request with this Idempotency-Key was already carried out; its answer was lost, so look the result up instead', {
    idempotency_key: meta.idempotency_key,
  });
}

/**
 * For a `replay` that finds the key's earlier events are not this command's (the client reused the
 * key for another request): refuses it.
 */
export function idempotencyKeyUsedElsewhere(): never {
  throw new DomainError('CONFLICT', 'this Idempotency-Key was used for another request');
}

/** Makes a command carrying an Idempotency-Key run once (see `CommandRunner.run`). */
export interface RunOnce<T> {
  meta: CommandMeta;
  orgId: string | null;
  /** The first run's answer, rebuilt from the events it appended; without it, a repeat is refused. */
  replay?: (trx: Transaction<any>, earlier: readonly EventRow[]) => Promise<T>;
}

/**
 * Runs a service's commands: one transaction per command holding every append and its inline
 * projection; a lost optimistic-concurrency race retries the whole command against fresh state.
 * After commit the events are published at once, so gateways drop cached state before the reply
 * (unless the service says none of its events is waited for: then the outbox relay alone does it).
 */
@Injectable()
export class CommandRunner {
  constructor(
    @Inject(DB) private readonly db: Kysely<any>,
    private readonly store: EventStore,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(INLINE_PROJECTION) private readonly project: InlineProjection,
    @Optional() @Inject(PUBLISH_ON_COMMIT) private readonly publishOnCommit = true,
  ) {}

  /**
   * With `once`, a command carrying an Idempotency-Key that already produced events (a retry after
   * the gateway lost the answer) is not carried out again: it gets the first run's answer rebuilt by
   * `once.replay`, or, where that cannot be had (a new key's plaintext is never stored), CONFLICT.
   */
  async run<T>(work: (uow: UnitOfWork) => Promise<T>, once?: RunOnce<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const appended: EventRow[] = [];
      try {
        const result = await this.db.transaction().execute(async (trx) => {
          if (once?.meta.idempotency_key) {
            const earlier = await eventsOfKey(trx, once.meta, once.orgId);
            if (earlier.length > 0) return once.replay ? once.replay(trx, earlier) : refuseRepeat(once.meta);
          }
          return work(this.unitOfWork(trx, appended));
        });
        if (this.publishOnCommit) {
          await publishCommitted(this.nats, appended).catch((error: unknown) =>
            this.logger.warn({ err: error }, 'fast publish failed; the outbox relay will deliver'),
          );
        }
        return result;
      } catch (error) {
        if (error instanceof WrongExpectedVersionError && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  private unitOfWork(trx: Transaction<any>, appended: EventRow[]): UnitOfWork {
    const store = this.store;
    const project = this.project;
    return {
      trx,
      async load(decider, stream) {
        const rows = await store.readStream(stream, trx);
        const events = rows.map((r) => ({ type: r.type, data: r.data }) as never);
        return { state: replayState(decider, events), version: rows.length === 0 ? 0 : rows[rows.length - 1].stream_version };
      },
      async execute(decider, stream, command, options) {
        const { state, version } = await this.load(decider, stream);
        const events = decider.decide(command, state);
        if (events.length === 0) return { events, state };
        const result = await store.append(stream, version, events, options.metadata, { trx, orgId: options.orgId });
        await project(trx, result.events);
        appended.push(...result.events);
        return { events, state: events.reduce((s, e) => decider.evolve(s, e), state) };
      },
      async append(stream, expectedVersion, events, options) {
        if (events.length === 0) return [];
        const result = await store.append(stream, expectedVersion, events, options.metadata, { trx, orgId: options.orgId });
        await project(trx, result.events);
        appended.push(...result.events);
        return result.events;
      },
    };
  }
}
