/** Every error code of the public API with its HTTP status: the one place the mapping lives. */
export const ERROR_STATUS = {
  UNAUTHORIZED: 401,
  KEY_EXPIRED: 401,
  KEY_REVOKED: 401,
  SIGNATURE_INVALID: 401,
  PERMISSION_DENIED: 403,
  AGENT_PAUSED: 403,
  AGENT_REVOKED: 403,
  PLAN_LIMIT_REACHED: 403,
  NOT_FOUND: 404,
  VALIDATION_ERROR: 400,
  ATTESTATION_REQUIRED: 400,
  AUTHORIZATION_PENDING: 400,
  SLOW_DOWN: 400,
  ACCESS_DENIED: 400,
  EXPIRED_TOKEN: 400,
  CONFLICT: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  BUDGET_EXCEEDED: 402,
  INSUFFICIENT_FUNDS: 402,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A business error as it travels over NATS (inside an RpcException) and out to the client. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorBody).code === 'string' &&
    (value as ErrorBody).code in ERROR_STATUS &&
    typeof (value as ErrorBody).message === 'string'
  );
}
