import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { ConfigError, readConfig } from '@keyledger/config';
import { eventStoreMigrations, migrateToLatest, MigrationSet } from '@keyledger/event-store';
import { PinoNestLogger } from './logger';
import { startMetricsServer } from './metrics-server';
import { RpcErrorFilter } from './rpc-errors';
import { DB, LOGGER } from './tokens';

export async function runMigrationsOnStart(app: INestApplicationContext, sets: readonly MigrationSet[]): Promise<void> {
  const { KEYLEDGER_MIGRATE_ON_START } = readConfig(['KEYLEDGER_MIGRATE_ON_START']);
  if (!KEYLEDGER_MIGRATE_ON_START) return;
  const logger = app.get<Logger>(LOGGER);
  const applied = await migrateToLatest(app.get<Kysely<any>>(DB), [eventStoreMigrations, ...sets]);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
}

/** Exits with a one-line reason instead of a stack trace for configuration mistakes. */
export function exitOnStartupError(service: string) {
  return (error: unknown) => {
    const message = error instanceof ConfigError ? error.message : (error as Error)?.stack ?? String(error);
    process.stderr.write(
      JSON.stringify({ level: 'fatal', service, msg: `cannot start: ${message}`, time: new Date().toISOString() }) + '\n',
    );
    process.exit(1);
  };
}

/**
 * Starts a NATS microservice: one queue group per service so its instances share the load,
 * migrations first, and a clean stop on SIGTERM/SIGINT (in-flight messages finish, connections close).
 */
export async function bootstrapMicroservice(options: {
  service: string;
  module: Type<unknown>;
  migrations: readonly MigrationSet[];
}): Promise<void> {
  const config = readConfig(['NATS_URL']);
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(options.module, {
    transport: Transport.NATS,
    options: { servers: [config.NATS_URL], queue: options.service, name: `${options.service}-rpc`, maxReconnectAttempts: -1 },
    bufferLogs: true,
  });
  const logger = app.get<Logger>(LOGGER);
  app.useLogger(new PinoNestLogger(logger));
  app.useGlobalFilters(new RpcErrorFilter(logger));
  stopOnSignals(app, logger);
  await runMigrationsOnStart(app, options.migrations);
  await app.listen();
  await startMetricsServer(options.service, logger);
  logger.info({ queue: options.service }, `${options.service} listening on NATS`);
}

/** SIGTERM/SIGINT: stop taking work, finish what is in flight, close connections, exit 0. */
export function stopOnSignals(app: INestApplicationContext, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
