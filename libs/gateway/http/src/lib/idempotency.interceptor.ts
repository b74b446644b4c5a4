import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { from, mergeMap, Observable } from 'rxjs';
import { GatewayDatabase, IdempotencyRecordWriter } from '@keyledger/gateway-data-access';
import { readConfig } from '@keyledger/config';
import { DB } from '@keyledger/nest';
import { SecretSealer } from '@keyledger/secrets';
import { ApiError, validationError } from './api-error';
// The request fields this file reads (principal, rawBody) are declared there.
import './principal';


declare module 'fastify' {
  interface FastifyRequest {
    idempotencyClaim?: { scope: string; key: string };
  }
}

/** A stored answer to send again exactly as it was (status and body), marked as a replay. */
export class IdempotentReplay {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {}

  send(reply: FastifyReply): void {
    reply.status(this.status).header('content-type', 'application/json; charset=utf-8').header('idempotent-replayed', 'true').send(this.body);
  }
}

/** Idempotency keys are scoped to the organization, or to the client IP when unauthenticated. */
export function idempotencyScope(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal?.kind === 'key') return `org:${principal.org.id}`;
  if (principal?.kind === 'operator') return 'operator';
  return `ip:${request.ip}`;
}

const SECRET_FIELDS = /"(key|signing_secret|device_code)":"[^"]*"/g;
const HAS_SECRET_FIELD = /"(key|signing_secret|device_code)":"/;

/** One writer per gateway process, so concurrent requests' records are written together. */
export const IdempotencyRecordWriterProvider = {
  provide: IdempotencyRecordWriter,
  useFactory: (db: Kysely<GatewayDatabase>) =>
    new IdempotencyRecordWriter(db, readConfig(['KEYLEDGER_IDEMPOTENCY_LEASE_SECONDS']).KEYLEDGER_IDEMPOTENCY_LEASE_SECONDS),
  inject: [DB],
};

/**
 * Stored answers may hold a secret shown once (a new key's plaintext): those are sealed with the
 * deployment's secrets key, or, without one, stored with those fields blanked — never in the clear.
 * An answer without such a field (a spend, a list) is stored as sent: a cipher per answer would be
 * a good share of a spend's cost in the gateway, and protect nothing.
 */
@Injectable()
export class StoredAnswers {
  private readonly sealer: SecretSealer | null;
  constructor() {
    const { KEYLEDGER_SECRETS_KEY } = readConfig(['KEYLEDGER_SECRETS_KEY']);
    this.sealer = KEYLEDGER_SECRETS_KEY ? new SecretSealer(KEYLEDGER_SECRETS_KEY) : null;
  }
  close(body: string): string {
    if (!HAS_SECRET_FIELD.test(body)) return body;
    return this.sealer ? `sealed:${this.sealer.seal(body)}` : body.replace(SECRET_FIELDS, (_m, field: string) => `"${field}":null`);
  }
  open(stored: string): string {
    return stored.startsWith('sealed:') && this.sealer ? this.sealer.unseal(stored.slice('sealed:'.length)) : stored;
  }
}

/**
 * `Idempotency-Key` on any POST: the first request runs; for 24 hours a retry with the same key,
 * method, path and body gets the same status and body with `Idempotent-Replayed: true`; another
 * request with the key is `422 IDEMPOTENCY_KEY_REUSED`; one arriving while the first still runs is
 * `409 IDEMPOTENCY_IN_PROGRESS`. The answer is stored by `storeIdempotentAnswer` as it is sent.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly records: IdempotencyRecordWriter,
    private readonly bodies: StoredAnswers,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || key === undefined) return next.handle();
    if (typeof key !== 'string' || key.length < 1 || key.length > 255) {
      throw validationError([{ field: 'Idempotency-Key', message: 'must be 1–255 characters' }]);
    }
    const scope = idempotencyScope(request);
    const fingerprint = createHash('sha256')
      .update(`${request.method} ${request.url}\n`)
      .update(request.rawBody ?? Buffer.alloc(0))
      .digest('hex');
    return from(this.records.claim(scope, key, fingerprint)).pipe(
      mergeMap((outcome) => {
        switch (outcome.kind) {
          case 'claimed':
            request.idempotencyClaim = { scope, key };
            return next.handle();
          case 'replay':
            throw new IdempotentReplay(outcome.status, this.bodies.open(outcome.body));
          case 'in_progress':
            throw new ApiError('IDEMPOTENCY_IN_PROGRESS', 'a request with this Idempotency-Key is still being processed', {}, { 'retry-after': '1' });
          case 'reused':
            throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request (method, path or body)');
        }
      }),
    );
  }
}

/**
 * The answer to a claimed request, stored as it leaves (fastify `onSend`, awaited before sending),
 * so a retry can never see the effect without the answer. A 5xx gives the key back instead: the
 * request may be retried (services deduplicate by the same key).
 */
export async function storeIdempotentAnswer(
  records: IdempotencyRecordWriter,
  answers: StoredAnswers,
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
) {
  const claim = request.idempotencyClaim;
  if (!claim) return payload;
  if (reply.statusCode >= 500) await records.release(claim.scope, claim.key);
  else await records.complete(claim.scope, claim.key, reply.statusCode, answers.close(typeof payload === 'string' ? payload : String(payload)));
  return payload;
}
