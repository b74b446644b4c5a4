import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { Events, JSONCodec, NatsConnection } from 'nats';
import { readConfig } from '@keyledger/config';
import { CommandMeta, commandMessage, isErrorBody, PING_SUBJECT, ServiceName, Services } from '@keyledger/contracts';
import { LOGGER, NATS_CONNECTION } from '@keyledger/nest';
import { ApiError } from './api-error';

/** The packets of Nest's NATS transport, which the services answer with (`@MessagePattern`). */
interface NestReply {
  id?: string;
  err?: unknown;
  response?: unknown;
}
const codec = JSONCodec<unknown>();

/**
 * The process's one NATS connection as the services' client: requests go out in Nest's packet shape
 * (`{pattern, data, id}`), and replies come back through the connection's one shared reply inbox.
 * (Nest's own client subscribes and unsubscribes an inbox for every request, on a connection of its
 * own per service: two more protocol messages, and a write that batches with nothing else.)
 */
export class NatsRequester {
  private connected = true;
  private nextId = 0;

  constructor(private readonly nats: NatsConnection) {
    void (async () => {
      for await (const status of nats.status()) {
        if (status.type === Events.Disconnect) this.connected = false;
        else if (status.type === Events.Reconnect) this.connected = true;
      }
    })().catch(() => undefined);
  }

  /** The reply's value; the service's error (a business error body) is thrown as it came. */
  async request(subject: string, data: unknown, timeoutMs: number): Promise<unknown> {
    // Disconnected: fail now (the breaker counts it) rather than wait out the timeout.
    if (!this.connected || this.nats.isClosed()) throw new Error('NATS connection lost');
    const id = String(++this.nextId);
    const msg = await this.nats.request(subject, codec.encode({ pattern: subject, data, id }), { timeout: timeoutMs });
    if (msg.data.length === 0) throw new Error(`empty reply on ${subject}`);
    const reply = codec.decode(msg.data) as NestReply;
    if (reply.err) throw reply.err;
    if (reply.response === undefined) throw new Error(`no value in the reply on ${subject}`);
    return reply.response;
  }

  /** A Nest event (`@EventPattern`): no reply. */
  emit(subject: string, data: unknown): void {
    if (this.nats.isClosed()) return;
    this.nats.publish(subject, codec.encode({ pattern: subject, data }));
  }
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * One downstream service behind its own circuit breaker. Every request has a timeout; a timeout or a
 * transport failure counts against the breaker, a business answer (`BUDGET_EXCEEDED`…) does not.
 * While the breaker is open, calls fail at once with 503 and Retry-After.
 */
export class ServiceClient {
  readonly breaker: CircuitBreaker<[string, unknown], unknown>;

  constructor(
    readonly service: ServiceName,
    private readonly client: NatsRequester,
    private readonly timeoutMs: number,
    private readonly resetMs: number,
    logger: Logger,
  ) {
    this.breaker = new CircuitBreaker((subject: string, message: unknown) => this.client.request(subject, message, this.timeoutMs), {
      name: service,
      timeout: false, // the request's own timeout ends it
      resetTimeout: resetMs,
      errorThresholdPercentage: 50,
      rollingCountTimeout: 10_000,
      volumeThreshold: 1,
      errorFilter: (error: unknown) => isErrorBody(error) && error.code !== 'INTERNAL_ERROR',
    });
    this.breaker.on('open', () => logger.warn({ service }, 'circuit breaker opened'));
    this.breaker.on('halfOpen', () => logger.info({ service }, 'circuit breaker half-open'));
    this.breaker.on('close', () => logger.info({ service }, 'circuit breaker closed'));
  }

  get state(): BreakerState {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half_open' : 'closed';
  }

  /** Sends a command and returns the reply, or throws the service's business error as an ApiError. */
  async send<TReply>(subject: string, data: unknown, meta: CommandMeta): Promise<TReply> {
    return (await this.fire(subject, commandMessage(meta, data))) as TReply;
  }

  /** Fire-and-forget notification (no reply, no breaker): for telemetry such as key usage. */
  emit(subject: string, message: unknown): void {
    try {
      this.client.emit(subject, message);
    } catch {
      // telemetry: dropped
    }
  }

  /** Answers whether the service replies at all (for /readyz), through the breaker. */
  async ping(): Promise<boolean> {
    try {
      await this.fire(PING_SUBJECT[this.service], {});
      return true;
    } catch {
      return false;
    }
  }

  private async fire(subject: string, message: unknown): Promise<unknown> {
    try {
      return await this.breaker.fire(subject, message);
    } catch (error) {
      if (isErrorBody(error)) throw ApiError.from(error);
      throw new ApiError(
        'SERVICE_UNAVAILABLE',
        `${this.service} is unavailable; retry shortly`,
        { service: this.service },
        { 'retry-after': String(Math.max(1, Math.ceil(this.resetMs / 1000))) },
      );
    }
  }

  close(): void {
    this.breaker.shutdown();
  }
}

/** The gateway's clients of every backend service, created once; their breakers stop on shutdown. */
@Injectable()
export class ServiceClients implements OnApplicationShutdown {
  readonly keyRegistry: ServiceClient;
  readonly rateLimiter: ServiceClient;
  readonly budgetLedger: ServiceClient;
  readonly auditAttestation: ServiceClient;

  constructor(@Inject(LOGGER) logger: Logger, @Inject(NATS_CONNECTION) nats: NatsConnection) {
    const config = readConfig(['KEYLEDGER_RPC_TIMEOUT_MS', 'KEYLEDGER_BREAKER_RESET_MS']);
    const requester = new NatsRequester(nats);
    const make = (service: ServiceName) =>
      new ServiceClient(service, requester, config.KEYLEDGER_RPC_TIMEOUT_MS, config.KEYLEDGER_BREAKER_RESET_MS, logger);
    this.keyRegistry = make(Services.keyRegistry);
    this.rateLimiter = make(Services.rateLimiter);
    this.budgetLedger = make(Services.budgetLedger);
    this.auditAttestation = make(Services.auditAttestation);
  }

  get all(): ServiceClient[] {
    return [this.keyRegistry, this.rateLimiter, this.budgetLedger, this.auditAttestation];
  }

  onApplicationShutdown() {
    for (const client of this.all) client.close();
  }
}
