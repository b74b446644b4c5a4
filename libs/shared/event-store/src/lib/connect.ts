import { Kysely, PostgresDialect } from 'kysely';
import { Pool, types } from 'pg';

// Decided once, here: bigint (int8) columns arrive as JS numbers, and a value beyond 2^53 is an
// error rather than a silently rounded amount. xid8 stays a string (it can exceed 2^53).
types.setTypeParser(types.builtins.INT8, (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${value} exceeds the safe integer range`);
  return n;
});

export interface DbOptions {
  poolSize?: number;
  applicationName?: string;
}

export function createDb<DB>(connectionString: string, options: DbOptions = {}): Kysely<DB> {
  const pool = new Pool({
    connectionString,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'keyledger',
    connectionTimeoutMillis: 5_000,
  });
  // An idle client dying (Postgres restarted) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor may a checked-out one between queries (a processor's lease connection, a held transaction):
  // pg emits 'error' on the client with no listener there. Its next query fails instead, and the
  // pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}
