import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { collectDefaultMetrics, register } from 'prom-client';
import { readConfig } from '@keyledger/config';

/**
 * A backend service's Prometheus endpoint: `GET /metrics` on its own small HTTP server at
 * KEYLEDGER_METRICS_PORT (none when unset). It serves prom-client's default registry, where the
 * event store (append latency, processor lag) and the service's own counters live.
 */
export async function startMetricsServer(service: string, logger: Logger): Promise<Server | null> {
  const config = readConfig(['KEYLEDGER_METRICS_PORT', 'HOST']);
  if (config.KEYLEDGER_METRICS_PORT === undefined) return null;
  collectDefaultMetrics({ prefix: `keyledger_${service.replace(/-/g, '_')}_` });
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    register.metrics().then(
      (text) => response.writeHead(200, { 'content-type': register.contentType }).end(text),
      (error: unknown) => {
        logger.warn({ err: error }, 'metrics collection failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.KEYLEDGER_METRICS_PORT, config.HOST, () => resolve());
  });
  server.unref();
  logger.info({ port: (server.address() as AddressInfo).port }, `${service} metrics on /metrics`);
  return server;
}
