import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { readConfig } from '@keyledger/config';
import { grants } from '@keyledger/contracts';
import { hashApiKey, SecretSealer } from '@keyledger/secrets';
import { ApiError } from './api-error';
import { KeyCache } from './key-cache';
import { ROUTE_AUTH, RouteAuth } from './principal';
import { checkSignature } from './request-signature';
import { KeyUsageReporter } from './key-usage-reporter';

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

/**
 * Authenticates every request from its route's single declaration (`@Auth.…`). Order of checks
 * follows API.md's table: unknown → revoked (key or agent) → expired → signature → scope → paused.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly operatorDigest: Buffer | null;
  private readonly sealer: SecretSealer | null;

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: KeyCache,
    private readonly usage: KeyUsageReporter,
  ) {
    const config = readConfig(['KEYLEDGER_OPERATOR_TOKEN', 'KEYLEDGER_SECRETS_KEY']);
    this.operatorDigest = config.KEYLEDGER_OPERATOR_TOKEN ? sha256(config.KEYLEDGER_OPERATOR_TOKEN) : null;
    this.sealer = config.KEYLEDGER_SECRETS_KEY ? new SecretSealer(config.KEYLEDGER_SECRETS_KEY) : null;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const auth = this.reflector.getAllAndOverride<RouteAuth | undefined>(ROUTE_AUTH, [context.getHandler(), context.getClass()]);
    // A route that forgot to declare its authentication is closed, not open.
    const required: RouteAuth = auth ?? { kind: 'key', scope: null, anonymous: false };
    if (required.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const presented = presentedKey(request);
    if (presented === null) {
      if (required.kind === 'key' && required.anonymous) return true;
      throw new ApiError('UNAUTHORIZED', 'missing API key');
    }

    if (required.kind === 'operator') {
      // Digests have equal length, so the comparison is constant-time whatever was sent.
      if (this.operatorDigest === null || !timingSafeEqual(sha256(presented), this.operatorDigest)) {
        throw new ApiError('UNAUTHORIZED', 'invalid operator token');
      }
      request.principal = { kind: 'operator' };
      return true;
    }

    if (!PLAUSIBLE_KEY.test(presented)) throw new ApiError('UNAUTHORIZED', 'unknown API key');
    // Looked up by SHA-256: the index compares digests, which tells an attacker nothing about keys.
    const found = await this.keys.lookup(hashApiKey(presented));
    if (found === null) throw new ApiError('UNAUTHORIZED', 'unknown API key');
    const { key, org, agent } = found.credential;
    if (key.status === 'revoked') throw new ApiError('KEY_REVOKED', 'this API key has been revoked');
    if (agent?.status === 'revoked') throw new ApiError('KEY_REVOKED', "this API key's agent has been revoked");
    if (key.expires_at !== null && new Date(key.expires_at) <= new Date()) throw new ApiError('KEY_EXPIRED', 'this API key has expired');

    if (key.signing) {
      found.entry.signingSecret ??= this.unsealSigningSecret(found.credential.signingSecretSealed);
      const problem = checkSignature(
        found.entry.signingSecret,
        { timestamp: header(request, 'x-timestamp'), signature: header(request, 'x-signature') },
        request.rawBody?.toString('utf8') ?? '',
        Math.floor(Date.now() / 1000),
      );
      if (problem !== null) {
        throw new ApiError('SIGNATURE_INVALID', `request signature ${problem}`, { reason: problem });
      }
    }

    if (required.scope !== null && !grants(key.scopes, required.scope)) {
      throw new ApiError('PERMISSION_DENIED', `this key lacks the ${required.scope} scope`, { required_scope: required.scope });
    }
    if (agent?.status === 'paused' && (agent.paused_until === null || new Date(agent.paused_until) > new Date())) {
      throw new ApiError('AGENT_PAUSED', 'the agent this key belongs to is paused', {
        paused_until: agent.paused_until === null ? null : new Date(agent.paused_until).toISOString(),
      });
    }
    request.principal = { kind: 'key', key, org, agent };
    this.usage.used(key.id);
    return true;
  }

  private unsealSigningSecret(sealed: string | null): string {
    // A signing key whose secret this gateway cannot read: refuse rather than skip the check.
    if (this.sealer === null) {
      throw new ApiError('SERVICE_UNAVAILABLE', 'request signing is not configured on this gateway (KEYLEDGER_SECRETS_KEY)');
    }
    if (sealed === null) throw new ApiError('SERVICE_UNAVAILABLE', "this signing key's secret is not on record; roll the key to get a new one");
    return this.sealer.unseal(sealed);
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}
