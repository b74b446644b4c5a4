/** The stream was not at the version the caller expected: someone else appended first. */
export class WrongExpectedVersionError extends Error {
  override readonly name = 'WrongExpectedVersionError';
  constructor(
    readonly stream: string,
    readonly expectedVersion: number,
    readonly actualVersion: number | null,
  ) {
    super(
      `stream ${stream}: expected version ${expectedVersion}, found ${actualVersion ?? 'a concurrent append'}`,
    );
  }
}
