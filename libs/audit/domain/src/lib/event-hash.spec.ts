import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson } from './canonical-json';
import { GENESIS_HASH, HashedEventFields, canonicalEventJson, chainHash, hashedDocument } from './event-hash';

/** Any events row as Postgres hands it over: JSONB data and metadata of any shape, any strings. */
const anyEvent: fc.Arbitrary<HashedEventFields> = fc.record({
  position: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  id: fc.uuid(),
  stream: fc.string({ unit: 'binary' }),
  stream_version: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  type: fc.string({ unit: 'binary' }),
  schema_version: fc.integer({ min: 1, max: 32767 }),
  data: fc.jsonValue(),
  metadata: fc.jsonValue(),
  org_id: fc.option(fc.string({ unit: 'binary' }), { nil: null }),
  recorded_at: fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
});

describe('the hashed document of an event', () => {
  it('is, byte for byte, the canonical JSON the RFC 8785 library makes of the whole document', () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        expect(canonicalEventJson(event)).toBe(canonicalJson(hashedDocument(event)));
      }),
      { numRuns: 2000 },
    );
  });

  it('names exactly the members of hashedDocument, in RFC 8785 order', () => {
    const event: HashedEventFields = { position: 1, id: 'i', stream: 's', stream_version: 1, type: 't', schema_version: 1, data: {}, metadata: {}, org_id: null, recorded_at: new Date(0) };
    const names = Object.keys(hashedDocument(event));
    expect(Object.keys(JSON.parse(canonicalEventJson(event)))).toEqual([...names].sort());
  });

  it('gives the hash chains were built with (a pinned vector)', () => {
    const event: HashedEventFields = {
      position: 42,
      id: '00000000-0000-4000-8000-000000000042',
      stream: 'agent-agt_1',
      stream_version: 3,
      type: 'AgentUpdated',
      schema_version: 1,
      data: { name: 'é €', agent_id: 'agt_1', n: 1.5e-7, nested: { b: [1, null, true], a: '\u0001' }, '10': 'x', '9': 'y' },
      metadata: { request_id: 'req_1', actor_key_id: null, agent_id: null, ip: '127.0.0.1', environment: 'test' },
      org_id: 'org_1',
      recorded_at: new Date('2026-11-22T10:00:00.123Z'),
    };
    const expected = createHash('sha256').update(GENESIS_HASH).update(canonicalJson(hashedDocument(event)), 'utf8').digest('hex');
    expect(chainHash(GENESIS_HASH, event).toString('hex')).toBe(expected);
    expect(expected).toBe(PINNED);
  });
});

// Computed once with canonicalJson(hashedDocument(event)), the way every chain so far was hashed.
const PINNED = '1d1297d39d758ef34ca602f6fbd8fde7b412e4b0409427f67467493214db068f';
