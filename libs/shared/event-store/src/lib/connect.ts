import { Kysely, PostgresDialect } from 'kysely';
import { Pool, PoolClient, QueryResult, types } from 'pg';

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
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    prepareStatements(client);
  });
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}

/** Distinct statements a connection keeps prepared; beyond that they run unnamed, as before. */
const MAX_PREPARED_PER_CONNECTION = 200;

/**
 * Result columns taken from `*` (`select * …` as the statement's own select, after a `with` or a
 * `union`, `returning *`, `t.*`): a migration may change them under a prepared statement. A `*`
 * inside a subquery the statement wraps (`to_jsonb(r) … from (select * …) r`) changes nothing.
 */
const STAR_RESULT = /^\s*select\s+\*|\)\s*select\s+\*|\bunion(\s+all)?\s+select\s+\*|\breturning\s+\*|\.\*/i;

/**
 * Every statement with parameters runs as a named prepared statement of its connection, one per
 * distinct text: Postgres then parses it once per connection instead of once per execution, and
 * plans it once when a generic plan serves (half of what the group-committed spends cost Postgres
 * was parsing and planning the same dozen statements again). Statements whose result columns come
 * from `*` stay unnamed, so an added column can never fail a prepared statement with "cached plan
 * must not change result type". Needs a session per connection (no transaction-pooling proxy).
 */
function prepareStatements(client: PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<QueryResult>;
  const names = new Map<string, string>();
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const [text, values, callback] = args;
    if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0 || callback !== undefined || STAR_RESULT.test(text)) {
      return query(...args);
    }
    let name = names.get(text);
    if (name === undefined) {
      if (names.size >= MAX_PREPARED_PER_CONNECTION) return query(text, values);
      name = `kl_${names.size + 1}`;
      names.set(text, name);
    }
    return query({ name, text, values });
  };
}
