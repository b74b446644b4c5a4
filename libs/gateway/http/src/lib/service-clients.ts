import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ClientNats } from '@nestjs/microservices';
import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { firstValueFrom, timeout } from 'rxjs';
import { readConfig } from '@keyledger/config';
import { CommandMeta, commandMessage, isErrorBody, PING_SUBJECT, ServiceName, Services } from '@keyledger/contracts';
import { LOGGER } from '@keyledger/nest';
import { ApiError } from './api-error';

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
    private readonly client: ClientNats,
    private readonly timeoutMs: number,
    private readonly resetMs: number,
    logger: Logger,
  ) {
    this.breaker = new CircuitBreaker(
      (subject: string, message: unknown) => firstValueFrom(this.client.send(subject, message).pipe(timeout(this.timeoutMs))),
      {
        name: service,
        timeout: false, // the rxjs timeout above cancels the request itself
        resetTimeout: resetMs,
        errorThresholdPercentage: 50,
        rollingCountTimeout: 10_000,
        volumeThreshold: 1,
        errorFilter: (error: unknown) => isErrorBody(error) && error.code !== 'INTERNAL_ERROR',
      },
    );
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
    this.client.emit(subject, message).subscribe({ error: () => undefined });
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

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async close(): Promise<void> {
    this.breaker.shutdown();
    await this.client.close();
  }
}

/** The gateway's clients of every backend service, created once and closed on shutdown. */
@Injectable()
export class ServiceClients implements OnModuleInit, OnApplicationShutdown {
  readonly keyRegistry: ServiceClient;
  readonly rateLimiter: ServiceClient;
  readonly budgetLedger: ServiceClient;
  readonly auditAttestation: ServiceClient;

  constructor(@Inject(LOGGER) logger: Logger) {
    const config = readConfig(['NATS_URL', 'KEYLEDGER_RPC_TIMEOUT_MS', 'KEYLEDGER_BREAKER_RESET_MS']);
    const make = (service: ServiceName) =>
      new ServiceClient(
        service,
        new ClientNats({ servers: [config.NATS_URL], name: `gateway->${service}`, maxReconnectAttempts: -1 }),
        config.KEYLEDGER_RPC_TIMEOUT_MS,
        config.KEYLEDGER_BREAKER_RESET_MS,
        logger,
      );
    this.keyRegistry = make(Services.keyRegistry);
    this.rateLimiter = make(Services.rateLimiter);
    this.budgetLedger = make(Services.budgetLedger);
    this.auditAttestation = make(Services.auditAttestation);
  }

  get all(): ServiceClient[] {
    return [this.keyRegistry, this.rateLimiter, this.budgetLedger, this.auditAttestation];
  }

  async onModuleInit() {
    await Promise.all(this.all.map((c) => c.connect()));
  }

  async onApplicationShutdown() {
    await Promise.all(this.all.map((c) => c.close()));
  }
}
