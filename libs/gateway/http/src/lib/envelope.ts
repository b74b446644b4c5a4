import { randomBytes } from 'node:crypto';
import type { ErrorBody } from '@keyledger/contracts';

export interface SuccessEnvelope<T> {
  success: true;
  data: T;
  request_id: string;
}

export interface ErrorEnvelope {
  success: false;
  error: ErrorBody;
  request_id: string;
}

/** Server-generated request id: `req_` and 20 hex characters. */
export function newRequestId(): string {
  return `req_${randomBytes(10).toString('hex')}`;
}

export function successEnvelope<T>(data: T, requestId: string): SuccessEnvelope<T> {
  return { success: true, data, request_id: requestId };
}

export function errorEnvelope(error: ErrorBody, requestId: string): ErrorEnvelope {
  const body: ErrorBody = { code: error.code, message: error.message, details: error.details ?? {} };
  return { success: false, error: body, request_id: requestId };
}
