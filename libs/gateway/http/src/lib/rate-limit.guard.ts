import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readConfig } from '@keyledger/config';
import {
  DEFAULT_RATE_LIMITS,
  effectiveRateLimits,
  LimitState,
  OperationClass,
  RateLimitCheckReply,
  RateLimits,
} from '@keyledger/contracts';
import { ApiError } from './api-error';
import { ROUTE_AUTH, RouteAuth } from './principal';
import { RateLimiterClient } from './rate-limiter-client';
import { countRateLimitDecision } from './rate-limit.metrics';

export interface RateLimitedRoute {
  /** Also counts in the `key_create` class (creating and rolling keys, device tokens). */
  keyCreation?: boolean;
  /** A route without authentication that is limited per client IP (device authorization). */
  perClientIp?: boolean;
}
export const RATE_LIMITED_ROUTE = 'keyledger:rate-limited-route';

/** Marks a route's rate-limit classes beyond its method's: `@RateLimited({ keyCreation: true })`. */
export const RateLimited = (route: RateLimitedRoute) => SetMetadata(RATE_LIMITED_ROUTE, route);

const methodClass = (method: string): OperationClass => (method === 'GET' || method === 'HEAD' ? 'read' : 'write');

/**
 * Runs after AuthGuard, so it knows the org: asks the rate limiter about every limit the request
 * falls under (its method's class, key creation, the plan's hourly quota) and answers 429 when one
 * refuses. Callers without a key on routes that allow that are counted per client IP. Every answer
 * to a limited caller carries the X-RateLimit-* and IETF RateLimit headers.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly config = readConfig(['KEYLEDGER_RATE_LIMIT_FAIL_MODE', 'KEYLEDGER_RATE_LIMIT_PER_IP']);
  private readonly perIp: RateLimits = { ...DEFAULT_RATE_LIMITS, ...this.config.KEYLEDGER_RATE_LIMIT_PER_IP, per_hour: null };

  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiterClient,
  ) {}

  get failMode() {
    return this.config.KEYLEDGER_RATE_LIMIT_FAIL_MODE;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const auth = this.reflector.getAllAndOverride<RouteAuth | undefined>(ROUTE_AUTH, targets);
    const route = this.reflector.getAllAndOverride<RateLimitedRoute | undefined>(RATE_LIMITED_ROUTE, targets) ?? {};
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const principal = request.principal;

    let counter: string;
    let limits: RateLimits;
    if (principal?.kind === 'key') {
      counter = `org:${principal.org.id}`;
      limits = effectiveRateLimits(principal.org.plan, principal.org.overrides);
    } else if (principal === undefined && ((auth?.kind === 'key' && auth.anonymous) || route.perClientIp)) {
      counter = `ip:${request.ip}`;
      limits = this.perIp;
    } else {
      return true; // the operator, and public routes such as /healthz
    }

    const classes: OperationClass[] = [methodClass(request.method)];
    if (route.keyCreation) classes.push('key_create');
    const reply = await this.limiter.check({ schema_version: 1, counter, classes, limits });
    countRateLimitDecision(classes, reply, classes.every((c) => this.failMode[c] === 'open'));
    if (reply === null) return this.unreachable(classes);

    const response = context.switchToHttp().getResponse<FastifyReply>();
    for (const [name, value] of Object.entries(rateLimitHeaders(reply.states, Date.now()))) response.header(name, value);
    if (!reply.allowed) {
      const denying = reply.states.find((s) => s.name === reply.denied_by);
      throw new ApiError(
        'RATE_LIMITED',
        `rate limit exceeded (${reply.denied_by}); retry after ${reply.retry_after} s`,
        { retry_after: reply.retry_after, limit: denying?.limit ?? null, limit_name: reply.denied_by },
        { 'retry-after': String(reply.retry_after) },
      );
    }
    return true;
  }

  /** The limiter is down: a request passes only if every class it counts in fails open. */
  private unreachable(classes: OperationClass[]): boolean {
    if (classes.every((c) => this.failMode[c] === 'open')) return true;
    throw new ApiError(
      'SERVICE_UNAVAILABLE',
      'rate limiting is unavailable; retry shortly',
      { service: 'rate-limiter' },
      { 'retry-after': String(Math.max(1, Math.ceil(this.limiter.resetMs / 1000))) },
    );
  }
}

/**
 * X-RateLimit-* describe the most constrained limit (fewest remaining; of those, the one full last);
 * RateLimit-Policy / RateLimit (draft-ietf-httpapi-ratelimit-headers, structured fields) list them all.
 */
export function rateLimitHeaders(states: readonly LimitState[], now: number): Record<string, string> {
  if (states.length === 0) return {};
  const tightest = [...states].sort((a, b) => a.remaining - b.remaining || b.full_in_ms - a.full_in_ms)[0];
  const seconds = (ms: number) => Math.ceil(ms / 1000);
  return {
    'x-ratelimit-limit': String(tightest.limit),
    'x-ratelimit-remaining': String(tightest.remaining),
    'x-ratelimit-reset': String(Math.ceil((now + tightest.full_in_ms) / 1000)),
    'ratelimit-policy': states.map((s) => `"${s.name}";q=${s.limit};w=${s.window_seconds}`).join(', '),
    ratelimit: states.map((s) => `"${s.name}";r=${s.remaining};t=${seconds(s.full_in_ms)}`).join(', '),
  };
}
