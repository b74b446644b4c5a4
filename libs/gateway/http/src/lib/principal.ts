import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Caller, CommandMeta, Scope } from '@keyledger/contracts';
import type { AgentRow, ApiKeyRow, OrgRow, Visibility } from '@keyledger/read-models';
import { ApiError } from './api-error';

/** Who is calling: an authenticated key (with its org and agent) or the operator. */
export type Principal = { kind: 'key'; key: ApiKeyRow; org: OrgRow; agent: AgentRow | null } | { kind: 'operator' };
export type KeyPrincipal = Extract<Principal, { kind: 'key' }>;

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    rawBody?: Buffer;
  }
}

/**
 * How a route authenticates: an API key needing a scope (or none), optionally allowing anonymous
 * callers (self-serve); the operator token; or nothing at all.
 */
export type RouteAuth =
  | { kind: 'key'; scope: Scope | null; anonymous: boolean }
  | { kind: 'operator' }
  | { kind: 'public' };
export const ROUTE_AUTH = 'keyledger:route-auth';

/** One declaration per route: `@Auth.key('keys:read')`, `@Auth.operator()`, `@Auth.none()`. */
export const Auth = {
  key: (scope: Scope | null = null) => SetMetadata(ROUTE_AUTH, { kind: 'key', scope, anonymous: false } satisfies RouteAuth),
  keyOrAnonymous: (scope: Scope | null = null) => SetMetadata(ROUTE_AUTH, { kind: 'key', scope, anonymous: true } satisfies RouteAuth),
  operator: () => SetMetadata(ROUTE_AUTH, { kind: 'operator' } satisfies RouteAuth),
  none: () => SetMetadata(ROUTE_AUTH, { kind: 'public' } satisfies RouteAuth),
};

export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext) => {
  return context.switchToHttp().getRequest<FastifyRequest>().principal;
});

/** The authenticated key of a key route (the guard has made sure there is one). */
export const CurrentKey = createParamDecorator((_: unknown, context: ExecutionContext): KeyPrincipal => {
  const principal = context.switchToHttp().getRequest<FastifyRequest>().principal;
  if (principal?.kind !== 'key') throw new ApiError('UNAUTHORIZED', 'an API key is required');
  return principal;
});

export function callerOf(principal: KeyPrincipal): Caller {
  return {
    org_id: principal.org.id,
    key_id: principal.key.id,
    environment: principal.key.environment,
    scopes: principal.key.scopes,
    agent_id: principal.key.agent_id,
  };
}

export function visibilityOf(principal: KeyPrincipal): Visibility {
  return { orgId: principal.org.id, environment: principal.key.environment, agentId: principal.key.agent_id };
}

/** The command metadata for a request: request id, actor, ip, idempotency key. */
export function commandMetaOf(request: FastifyRequest): CommandMeta {
  const principal = request.principal;
  const idempotency = request.headers['idempotency-key'];
  return {
    request_id: request.id,
    actor_key_id: principal?.kind === 'key' ? principal.key.id : null,
    agent_id: principal?.kind === 'key' ? principal.key.agent_id : null,
    ip: request.ip ?? null,
    idempotency_key: typeof idempotency === 'string' ? idempotency : null,
  };
}

export const RequestMeta = createParamDecorator((_: unknown, context: ExecutionContext) =>
  commandMetaOf(context.switchToHttp().getRequest<FastifyRequest>()),
);
