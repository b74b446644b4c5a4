import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ErrorBody, ERROR_STATUS, isErrorBody } from '@keyledger/contracts';
import { LOGGER } from '@keyledger/nest';
import { ApiError } from './api-error';
import { errorEnvelope } from './envelope';
import { IdempotentReplay } from './idempotency.interceptor';

/**
 * One envelope for every failure: our ApiErrors, business errors from services, framework and
 * fastify errors (bad JSON, too large, unknown route), and anything unexpected — which is logged
 * with the request id and answered as INTERNAL_ERROR without internals.
 */
export function toApiError(error: unknown, logger: Logger, requestId: string): ApiError {
  if (error instanceof ApiError) return error;
  if (isErrorBody(error)) return ApiError.from(error as ErrorBody);
  const fastifyCode = (error as { code?: string })?.code;
  const statusCode = (error as { statusCode?: number })?.statusCode;
  switch (fastifyCode) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PAYLOAD_TOO_LARGE', 'request body exceeds 1 MiB');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('VALIDATION_ERROR', 'request body must be application/json', {
        fields: [{ field: 'content-type', message: 'must be application/json' }],
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('VALIDATION_ERROR', 'request body is not valid JSON', {
        fields: [{ field: 'body', message: 'must be valid JSON' }],
      });
  }
  if (error instanceof SyntaxError && statusCode === 400) {
    return new ApiError('VALIDATION_ERROR', 'request body is not valid JSON', {
      fields: [{ field: 'body', message: 'must be valid JSON' }],
    });
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === 404 || status === 405) return new ApiError('NOT_FOUND', 'no such route');
    if (status === 413) return new ApiError('PAYLOAD_TOO_LARGE', 'request body exceeds 1 MiB');
    if (status === 400 && /JSON/i.test(error.message)) {
      return new ApiError('VALIDATION_ERROR', 'request body is not valid JSON', {
        fields: [{ field: 'body', message: 'must be valid JSON' }],
      });
    }
    if (status === 400) return new ApiError('VALIDATION_ERROR', 'invalid request');
  }
  if (statusCode === 413) return new ApiError('PAYLOAD_TOO_LARGE', 'request body exceeds 1 MiB');
  if (statusCode === 415 || statusCode === 400) return new ApiError('VALIDATION_ERROR', 'invalid request');
  if (isDatabaseUnavailable(error)) {
    // Postgres restarting or unreachable is a dependency down, like a service: 503 and retry, not a fault of ours.
    logger.warn({ err: error, request_id: requestId }, 'database unavailable');
    return new ApiError('SERVICE_UNAVAILABLE', 'the database is unavailable; retry shortly', undefined, { 'retry-after': '1' });
  }
  logger.error({ err: error, request_id: requestId }, 'unexpected error');
  return new ApiError('INTERNAL_ERROR', 'internal error');
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
/** SQLSTATEs of a server going away: connection exceptions (08…), admin/crash shutdown, starting up. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03']);

/** A failure to reach Postgres (or a session it ended while shutting down), as node-postgres reports it. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && (CONNECTION_ERRORS.has(code) || UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  const message = (error as { message?: unknown })?.message;
  return typeof message === 'string' && /^(Connection terminated( unexpectedly| due to connection timeout)?|timeout exceeded when trying to connect)$/.test(message);
}

export function sendError(reply: FastifyReply, requestId: string, error: ApiError): void {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  reply
    .status(ERROR_STATUS[error.code])
    .header('content-type', 'application/json; charset=utf-8')
    .send(errorEnvelope({ code: error.code, message: error.message, details: error.details }, requestId));
}

@Catch()
export class ErrorEnvelopeFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (error instanceof IdempotentReplay) return error.send(reply);
    sendError(reply, request.id, toApiError(error, this.logger, request.id));
  }
}
