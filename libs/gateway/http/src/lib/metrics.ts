import { Controller, Get, Injectable, OnModuleInit, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, register, Registry } from 'prom-client';
import { Auth } from './principal';
import { KeyCache } from './key-cache';
import { ServiceClients } from './service-clients';

const BREAKER_STATE = { closed: 0, half_open: 0.5, open: 1 } as const;

/** The gateway's Prometheus metrics, one registry per process. */
@Injectable()
export class GatewayMetrics implements OnModuleInit {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'keyledger_http_requests_total',
    help: 'HTTP requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'keyledger_http_request_duration_seconds',
    help: 'Time from request to response, by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(
    private readonly services: ServiceClients,
    private readonly keys: KeyCache,
  ) {}

  onModuleInit() {
    collectDefaultMetrics({ register: this.registry, prefix: 'keyledger_gateway_' });
    const services = this.services;
    new Gauge({
      name: 'keyledger_breaker_state',
      help: 'Circuit breaker of each downstream service: 0 closed, 0.5 half-open, 1 open',
      labelNames: ['service'] as const,
      registers: [this.registry],
      collect() {
        for (const client of services.all) this.set({ service: client.service }, BREAKER_STATE[client.state]);
      },
    });
    const keys = this.keys;
    new Gauge({
      name: 'keyledger_key_cache_entries',
      help: 'API keys held in this gateway’s lookup cache',
      registers: [this.registry],
      collect() {
        this.set(keys.size);
      },
    });
  }

  /** Called once per answered request (fastify onResponse). */
  observe(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.latency.observe({ route, method }, seconds);
  }
}

@Controller()
export class MetricsController {
  constructor(private readonly metrics: GatewayMetrics) {}

  /** Prometheus text format: the one answer that is not in the JSON envelope. */
  @Get('metrics')
  @Auth.none()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    // The default registry holds what libs record without a gateway at hand: rate-limit decisions, event-store metrics.
    const merged = Registry.merge([this.metrics.registry, register]);
    reply.header('content-type', merged.contentType).send(await merged.metrics());
  }
}
