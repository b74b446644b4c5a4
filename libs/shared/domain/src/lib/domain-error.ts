import type { ErrorCode } from '@keyledger/contracts';

/** A rule of the domain said no; the code is one of API.md's, the gateway maps it to a status. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
