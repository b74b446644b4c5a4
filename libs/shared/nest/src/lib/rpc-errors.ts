import { ArgumentsHost, Catch, Inject, RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { Observable, throwError } from 'rxjs';
import type { Logger } from 'pino';
import { ErrorBody, isErrorBody } from '@keyledger/contracts';
import { LOGGER } from './tokens';

/** Anything with a public error code (domain errors) crosses NATS as that code; nothing else does. */
export function toErrorBody(error: unknown): ErrorBody | null {
  if (error instanceof RpcException) {
    const payload = error.getError();
    return isErrorBody(payload) ? payload : null;
  }
  if (isErrorBody(error)) {
    const { code, message, details } = error;
    return details === undefined ? { code, message } : { code, message, details };
  }
  return null;
}

/**
 * Every failure of a message handler leaves as `{code, message, details}`: business errors as
 * themselves, anything unexpected as INTERNAL_ERROR (logged here, never sent with internals).
 */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): Observable<never> {
    const body = toErrorBody(error);
    if (body) return throwError(() => body);
    const pattern = host.switchToRpc().getContext()?.getSubject?.();
    this.logger.error({ err: error, subject: pattern }, 'command failed unexpectedly');
    return throwError(() => ({ code: 'INTERNAL_ERROR', message: 'internal error' }) satisfies ErrorBody);
  }
}
