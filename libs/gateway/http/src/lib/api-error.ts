import { ERROR_STATUS, ErrorBody, ErrorCode } from '@keyledger/contracts';

/** An answer of the public API that is not a success: a code from API.md, a message, details. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  static from(body: ErrorBody, headers: Record<string, string> = {}): ApiError {
    return new ApiError(body.code, body.message, body.details, headers);
  }
}

export interface FieldProblem {
  field: string;
  message: string;
}

export function validationError(fields: FieldProblem[]): ApiError {
  const summary = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  return new ApiError('VALIDATION_ERROR', `invalid request: ${summary}`, { fields });
}
