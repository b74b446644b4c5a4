/** RFC 8785 (JCS) canonical JSON: the exact bytes an event's hash covers. */
export type Canonicalize = (value: unknown) => string;

/**
 * STOPGAP until the `canonicalize` package (RFC 8785 reference implementation) is added to the
 * workspace: then this becomes `export const canonicalJson: Canonicalize = canonicalize`.
 * For JSON read back from Postgres (no undefined, NaN, functions or lone surrogates) this is what
 * RFC 8785 prescribes: members sorted by UTF-16 code units, ECMAScript number and string
 * serialization (JSON.stringify), no whitespace. The RFC's test vectors in the spec pin it down.
 */
export const canonicalJson: Canonicalize = function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
    }
    return JSON.stringify(value);
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((item) => canonical(item)).join(',')}]`;
  const entries = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
};
