import { BadRequestException, NotFoundException } from '@nestjs/common';
import pino from 'pino';
import { ApiError } from './api-error';
import { errorEnvelope } from './envelope';
import { toApiError } from './error.filter';

describe('toApiError: every failure becomes a public error code', () => {
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });

  beforeEach(() => lines.splice(0));

  it.each([
    [{ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }, 'PAYLOAD_TOO_LARGE', 413],
    [{ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }, 'VALIDATION_ERROR', 400],
    [{ code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }, 'VALIDATION_ERROR', 400],
    [new BadRequestException('Unexpected token } in JSON at position 3'), 'VALIDATION_ERROR', 400],
    [new NotFoundException('Cannot GET /x'), 'NOT_FOUND', 404],
    [{ code: 'BUDGET_EXCEEDED', message: 'over budget', details: { remaining: 0 } }, 'BUDGET_EXCEEDED', 402],
  ])('maps %j to %s', (error, code, status) => {
    const mapped = toApiError(error, logger, 'req_1');
    expect(mapped.code).toBe(code);
    expect(mapped.status).toBe(status);
    expect(lines).toHaveLength(0);
  });

  it('answers anything unexpected as INTERNAL_ERROR without internals, and logs it with the request id', () => {
    const mapped = toApiError(new TypeError("Cannot read properties of undefined (reading 'secret')"), logger, 'req_42');
    expect(mapped).toMatchObject({ code: 'INTERNAL_ERROR', message: 'internal error' });
    expect(mapped.details).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ request_id: 'req_42', msg: 'unexpected error' });
  });

  it.each([
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    [Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    [Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
    [new Error('Connection terminated unexpectedly')],
  ])('answers Postgres going away (%s) as 503 SERVICE_UNAVAILABLE with Retry-After, not 500', (error) => {
    const mapped = toApiError(error, logger, 'req_1');
    expect(mapped).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, headers: { 'retry-after': '1' } });
    expect(lines).toHaveLength(0);
  });

  it('keeps ApiErrors as they are', () => {
    const error = new ApiError('RATE_LIMITED', 'slow down', { retry_after: 3 }, { 'retry-after': '3' });
    expect(toApiError(error, logger, 'req_1')).toBe(error);
  });

  it('always gives details an object in the envelope', () => {
    expect(errorEnvelope({ code: 'NOT_FOUND', message: 'no' }, 'req_1')).toEqual({
      success: false,
      error: { code: 'NOT_FOUND', message: 'no', details: {} },
      request_id: 'req_1',
    });
  });
});
