import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { readConfig } from '@keyledger/config';
import { DB } from '@keyledger/nest';
import { findKeyByHash, ReadModels } from '@keyledger/read-models';
import { ApiError } from './api-error';
import { ROUTE_AUTH, RouteAuth } from './principal';

/** The presented key: `X-Api-Key`, `Api-Key`, or `Authorization: Bearer`. */
export function presentedKey(request: FastifyRequest): string | null {
  const header = request.headers['x-api-key'] ?? request.headers['api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^Bearer\s+\S/i.test(authorization)) {
    return authorization.replace(/^Bearer\s+/i, '').trim();
  }
  return null;
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Keys are 32–128 characters of `[A-Za-z0-9_-]`: anything else is unknown without a lookup. */
const PLAUSIBLE_KEY = /^[A-Za-z0-9_-]{32,128}$/;

@Injectable()
export class AuthGuard implements CanActivate {
  private readonly operatorDigest: Buffer | null;

  constructor(
    private readonly reflector: Reflector,
    @Inject(DB) private readonly db: Kysely<ReadModels>,
  ) {
    const { KEYLEDGER_OPERATOR_TOKEN } = readConfig(['KEYLEDGER_OPERATOR_TOKEN']);
    this.operatorDigest = KEYLEDGER_OPERATOR_TOKEN ? sha256(KEYLEDGER_OPERATOR_TOKEN) : null;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const auth = this.reflector.getAllAndOverride<RouteAuth | undefined>(ROUTE_AUTH, [
      context.getHandler(),
      context.getClass(),
    ]);
    // A route that forgot to declare its authentication is closed, not open.
    const required: RouteAuth = auth ?? { kind: 'key', scope: null };
    if (required.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const presented = presentedKey(request);
    if (presented === null) throw new ApiError('UNAUTHORIZED', 'missing API key');

    if (required.kind === 'operator') {
      // Digests have equal length, so the comparison is constant-time whatever was sent.
      if (this.operatorDigest === null || !timingSafeEqual(sha256(presented), this.operatorDigest)) {
        throw new ApiError('UNAUTHORIZED', 'invalid operator token');
      }
      request.principal = { kind: 'operator' };
      return true;
    }

    if (!PLAUSIBLE_KEY.test(presented)) throw new ApiError('UNAUTHORIZED', 'unknown API key');
    // The lookup is by SHA-256: equality of digests of a secret, which leaks nothing about the key.
    const found = await findKeyByHash(this.db, createHash('sha256').update(presented, 'utf8').digest('hex'));
    if (found === null) throw new ApiError('UNAUTHORIZED', 'unknown API key');
    if (found.key.status === 'revoked') throw new ApiError('KEY_REVOKED', 'this API key has been revoked');
    if (found.key.expires_at !== null && new Date(found.key.expires_at) <= new Date()) {
      throw new ApiError('KEY_EXPIRED', 'this API key has expired');
    }
    if (required.scope !== null && !found.key.scopes.includes('*') && !found.key.scopes.includes(required.scope)) {
      throw new ApiError('PERMISSION_DENIED', `this key lacks the ${required.scope} scope`, {
        required_scope: required.scope,
      });
    }
    request.principal = { kind: 'key', key: found.key, org: found.org };
    return true;
  }
}
