import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { connect, NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { readConfig } from '@keyledger/config';
import { createDb, createOutboxRelay, EventStore, LogProcessor } from '@keyledger/event-store';
import { createLogger } from './logger';
import { DB, LOGGER, NATS_CONNECTION, SERVICE_NAME } from './tokens';

export interface InfrastructureOptions {
  service: string;
  /** Run the outbox relay here (it holds a lease, so only one instance anywhere publishes). */
  outboxRelay?: boolean;
}

const RUN_OUTBOX_RELAY = Symbol('keyledger.run-outbox-relay');

/**
 * Starts what runs in the background (the outbox relay) and, on shutdown, stops it before closing
 * NATS and Postgres, in that order, so nothing in flight is cut off.
 */
@Injectable()
export class InfrastructureLifecycle implements OnModuleInit, OnApplicationShutdown {
  private relay: LogProcessor | null = null;
  constructor(
    @Inject(DB) private readonly db: Kysely<any>,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(RUN_OUTBOX_RELAY) private readonly runOutboxRelay: boolean,
  ) {}

  onModuleInit() {
    if (!this.runOutboxRelay) return;
    const { KEYLEDGER_PROCESSOR_POLL_MS } = readConfig(['KEYLEDGER_PROCESSOR_POLL_MS']);
    this.relay = createOutboxRelay({
      db: this.db,
      nats: this.nats,
      pollIntervalMs: KEYLEDGER_PROCESSOR_POLL_MS,
      onError: (error) => this.logger.warn({ err: error, processor: 'outbox-relay' }, 'outbox relay failed; retrying'),
    });
    this.relay.start();
  }

  get outboxRelay(): LogProcessor | null {
    return this.relay;
  }

  async onApplicationShutdown() {
    await this.relay?.stop();
    await this.nats.drain().catch(() => undefined);
    await this.db.destroy();
  }
}

/** Postgres (kysely), the event store, a raw NATS connection and the logger, for any app. */
@Global()
@Module({})
export class InfrastructureModule {
  static forRoot(options: InfrastructureOptions): DynamicModule {
    const config = readConfig(['DATABASE_URL', 'NATS_URL', 'LOG_LEVEL', 'KEYLEDGER_PG_POOL_SIZE']);
    const providers = [
      { provide: SERVICE_NAME, useValue: options.service },
      { provide: LOGGER, useValue: createLogger(options.service, config.LOG_LEVEL) },
      {
        provide: DB,
        useFactory: () =>
          createDb(config.DATABASE_URL, { poolSize: config.KEYLEDGER_PG_POOL_SIZE, applicationName: options.service }),
      },
      {
        provide: NATS_CONNECTION,
        // noAsyncTraces: a request (a JetStream publish of the outbox relay, too) would otherwise capture
        // two stack traces up front for an error it almost never throws.
        useFactory: () =>
          connect({ servers: config.NATS_URL, name: options.service, maxReconnectAttempts: -1, reconnectTimeWait: 250, noAsyncTraces: true }),
      },
      { provide: EventStore, useFactory: (db: Kysely<any>) => new EventStore(db), inject: [DB] },
      { provide: RUN_OUTBOX_RELAY, useValue: options.outboxRelay ?? false },
      InfrastructureLifecycle,
    ];
    return {
      module: InfrastructureModule,
      providers,
      exports: [SERVICE_NAME, LOGGER, DB, NATS_CONNECTION, EventStore, InfrastructureLifecycle],
    };
  }
}
