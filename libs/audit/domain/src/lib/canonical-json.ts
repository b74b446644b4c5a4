import canonicalize from 'canonicalize';

/** RFC 8785 (JCS) canonical JSON: the exact bytes an event's hash covers. */
export type Canonicalize = (value: unknown) => string;

/**
 * The `canonicalize` package, the RFC 8785 reference implementation: members sorted by UTF-16 code
 * units, ECMAScript number and string serialization, no whitespace. Values JSON cannot hold
 * (undefined at the top, NaN, functions, bigint) are refused rather than silently dropped.
 */
export const canonicalJson: Canonicalize = (value: unknown): string => {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  }
  const text = canonicalize(value instanceof Date ? value.toISOString() : value);
  if (text === undefined) throw new TypeError('canonical JSON cannot encode this value');
  return text;
};
