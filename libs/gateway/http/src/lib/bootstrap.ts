import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { readConfig } from '@keyledger/config';
import type { Kysely } from 'kysely';
import { gatewayMigrations, GatewayDatabase, idempotencyRecords, IdempotencyRecordWriter } from '@keyledger/gateway-data-access';
import { DB, LOGGER, PinoNestLogger, runMigrationsOnStart, stopOnSignals } from '@keyledger/nest';
import { StoredAnswers, storeIdempotentAnswer } from './idempotency.interceptor';
import { GatewayMetrics } from './metrics';
import { newRequestId } from './envelope';
import { defaultDashboardDir, serveDashboard } from './dashboard';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Fastify with the public API's conventions: server request ids, 1 MiB bodies, one error envelope. */
export async function createGatewayApp(module: Type<unknown>): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: () => newRequestId(),
    requestIdHeader: false, // the id is always the server's own
    logger: false,
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { bufferLogs: true, rawBody: true });
  const logger = app.get<Logger>(LOGGER);
  app.useLogger(new PinoNestLogger(logger));
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;

  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  const records = app.get(IdempotencyRecordWriter);
  const answers = app.get(StoredAnswers);
  fastify.addHook('onSend', async (request, reply, payload) => storeIdempotentAnswer(records, answers, request, reply, payload));
  const metrics = app.get(GatewayMetrics);
  fastify.addHook('onResponse', async (request, reply) => {
    metrics.observe(request.routeOptions?.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
    logger.info(
      {
        request_id: request.id,
        method: request.method,
        route: request.routeOptions?.url ?? null,
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });
  serveDashboard(fastify, readConfig(['KEYLEDGER_DASHBOARD_DIR']).KEYLEDGER_DASHBOARD_DIR ?? defaultDashboardDir());
  // Nest sends unknown routes and body-parsing failures through the exception filters too, so
  // ErrorEnvelopeFilter answers every failure in the envelope.
  return app;
}

export async function bootstrapGateway(module: Type<unknown>): Promise<NestFastifyApplication> {
  const config = readConfig(['PORT', 'HOST', 'KEYLEDGER_OPERATOR_TOKEN']);
  const app = await createGatewayApp(module);
  const logger = app.get<Logger>(LOGGER);
  if (!config.KEYLEDGER_OPERATOR_TOKEN) {
    logger.warn('KEYLEDGER_OPERATOR_TOKEN is not set: operator routes (POST /v1/orgs) will refuse every caller');
  }
  stopOnSignals(app, logger);
  await runMigrationsOnStart(app, [gatewayMigrations]);
  // Idempotency records are kept 24 hours; any gateway may sweep the expired ones.
  const db = app.get<Kysely<GatewayDatabase>>(DB);
  const sweep = setInterval(() => {
    idempotencyRecords.deleteExpired(db).catch((error: unknown) => logger.warn({ err: error }, 'idempotency clean-up failed'));
  }, 10 * 60_000);
  sweep.unref();
  await app.listen(config.PORT, config.HOST);
  logger.info({ url: await app.getUrl() }, 'gateway listening');
  return app;
}
