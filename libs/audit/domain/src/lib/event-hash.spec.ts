import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson } from './canonical-json';
import { ChainHasher, GENESIS_HASH, HashedEventFields, StoredEventText, canonicalEventJson, chainHash, hashedDocument } from './event-hash';

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

/** The event as the chainer reads it: JSON text laid out otherwise than canonical (as Postgres lays it out), the ISO timestamp. */
function asStoredText({ data, metadata, recorded_at, ...rest }: HashedEventFields): StoredEventText {
  return { ...rest, data_json: JSON.stringify(data, null, 1), metadata_json: JSON.stringify(metadata, null, 1), recorded_at_iso: new Date(recorded_at).toISOString() };
}

describe('ChainHasher (the chainer hashing events from their stored text)', () => {
  it('gives chainHash of the parsed event, run after run, whether the metadata repeats or not', () => {
    const run = fc.array(fc.record({ event: anyEvent, sameMetadataAsBefore: fc.boolean() }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), run, (start, steps) => {
        const hasher = new ChainHasher();
        let expected: Buffer = Buffer.from(start);
        let actual: Buffer = Buffer.from(start);
        let metadata: unknown = null;
        for (const { event, sameMetadataAsBefore } of steps) {
          // The events of one append share their metadata; a hasher that kept a stale one would differ here.
          const current = { ...event, metadata: sameMetadataAsBefore ? metadata : event.metadata };
          metadata = current.metadata;
          expected = chainHash(expected, current);
          actual = hasher.hash(actual, asStoredText(current));
          expect(actual.toString('hex')).toBe(expected.toString('hex'));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('hashes a prev_hash of any length as it is (a tampered link read back for verification)', () => {
    const event: HashedEventFields = { position: 1, id: 'i', stream: 's', stream_version: 1, type: 't', schema_version: 1, data: { a: 1 }, metadata: {}, org_id: null, recorded_at: new Date(0) };
    for (const prev of [Buffer.alloc(0), Buffer.alloc(31, 7), Buffer.alloc(33, 7), Buffer.alloc(40_000, 7)]) {
      const expected = createHash('sha256').update(prev).update(canonicalEventJson(event), 'utf8').digest('hex');
      expect(chainHash(prev, event).toString('hex')).toBe(expected);
      expect(new ChainHasher().hash(prev, asStoredText(event)).toString('hex')).toBe(expected);
    }
  });
});

// Computed once with canonicalJson(hashedDocument(event)), the way every chain so far was hashed.
const PINNED = '1d1297d39d758ef34ca602f6fbd8fde7b412e4b0409427f67467493214db068f';
