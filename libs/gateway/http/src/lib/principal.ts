import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { CommandMeta, Scope } from '@keyledger/contracts';
import type { ApiKeyRow, OrgRow } from '@keyledger/read-models';

/** Who is calling: the authenticated key and its org (or the operator). */
export type Principal =
  | { kind: 'key'; key: ApiKeyRow; org: OrgRow }
  | { kind: 'operator' };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** How a route authenticates: an API key (optionally needing a scope), the operator token, or none. */
export type RouteAuth = { kind: 'key'; scope: Scope | null } | { kind: 'operator' } | { kind: 'public' };
export const ROUTE_AUTH = 'keyledger:route-auth';

/** One declaration per route: `@Auth.key('keys:read')`, `@Auth.operator()`, `@Auth.none()`. */
export const Auth = {
  key: (scope: Scope | null = null) => SetMetadata(ROUTE_AUTH, { kind: 'key', scope } satisfies RouteAuth),
  operator: () => SetMetadata(ROUTE_AUTH, { kind: 'operator' } satisfies RouteAuth),
  none: () => SetMetadata(ROUTE_AUTH, { kind: 'public' } satisfies RouteAuth),
};

export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext) => {
  return context.switchToHttp().getRequest<FastifyRequest>().principal;
});

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
