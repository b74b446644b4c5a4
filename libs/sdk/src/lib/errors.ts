/** An answer of the API that is not a success: its status, stable code, message and details. */
export class KeyledgerError extends Error {
  override readonly name = 'KeyledgerError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
    readonly requestId: string | null,
  ) {
    super(`${code}: ${message}`);
  }
}
