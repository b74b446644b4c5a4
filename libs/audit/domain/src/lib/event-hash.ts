import { hash } from 'node:crypto';
import { Canonicalize, canonicalJson } from './canonical-json';

/** prev_hash of the first event of the chain. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/** The columns of an events row that its hash covers (everything but the chain's own bookkeeping). */
export interface HashedEventFields {
  position: number;
  id: string;
  stream: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  org_id: string | null;
  recorded_at: Date | string;
}

/** An events row as the chain sees it. `transaction_id` only orders it (log order), it is not hashed. */
export interface ChainRow extends HashedEventFields {
  transaction_id: string;
  hash: Buffer | null;
  prev_hash: Buffer | null;
}

/**
 * The document hashed for an event: exactly these ten members, `recorded_at` as an ISO 8601 UTC
 * string with milliseconds. `transaction_id`, `hash` and `prev_hash` are not part of it.
 */
export function hashedDocument(event: HashedEventFields): Record<string, unknown> {
  return {
    position: event.position,
    id: event.id,
    stream: event.stream,
    stream_version: event.stream_version,
    type: event.type,
    schema_version: event.schema_version,
    data: event.data,
    metadata: event.metadata,
    org_id: event.org_id,
    recorded_at: new Date(event.recorded_at).toISOString(),
  };
}

/**
 * The RFC 8785 canonical JSON of the hashed document, byte for byte what `canonicalize(hashedDocument(event))`
 * gives (a property test holds the two equal), in a third of the time: the ten member names are
 * fixed, so their order is too, and only the members' values go through `canonicalize` — above all
 * `data` and `metadata`, the only ones that nest.
 */
export function canonicalEventJson(event: HashedEventFields, canonicalize: Canonicalize = canonicalJson): string {
  return documentJson(event, canonicalize(event.data), canonicalize(event.metadata), new Date(event.recorded_at).toISOString(), canonicalize);
}

/** The document's text around the canonical JSON of its two nesting members and its timestamp. */
function documentJson(
  event: Omit<HashedEventFields, 'data' | 'metadata' | 'recorded_at'>,
  data: string,
  metadata: string,
  recordedAtIso: string,
  canonicalize: Canonicalize,
): string {
  return (
    `{"data":${data},"id":${canonicalize(event.id)},"metadata":${metadata},` +
    `"org_id":${canonicalize(event.org_id)},"position":${canonicalize(event.position)},` +
    `"recorded_at":${canonicalize(recordedAtIso)},"schema_version":${canonicalize(event.schema_version)},` +
    `"stream":${canonicalize(event.stream)},"stream_version":${canonicalize(event.stream_version)},"type":${canonicalize(event.type)}}`
  );
}

/** hash = SHA-256(prev_hash ‖ UTF-8 of the RFC 8785 canonical JSON of the hashed document). */
export function chainHash(prevHash: Buffer, event: HashedEventFields, canonicalize: Canonicalize = canonicalJson): Buffer {
  return linkHash(prevHash, canonicalEventJson(event, canonicalize));
}

/**
 * An event as the chainer reads it: `data` and `metadata` as the JSON text Postgres gives for them
 * (parsed only as far as hashing needs), `recorded_at` already the document's ISO 8601 string
 * (milliseconds, truncated, UTC — formatted by Postgres).
 */
export interface StoredEventText extends Omit<HashedEventFields, 'data' | 'metadata' | 'recorded_at'> {
  data_json: string;
  metadata_json: string;
  recorded_at_iso: string;
}

/**
 * Hashes events in log order from their stored text: the same hash as `chainHash` of the parsed row
 * (tests hold the two equal over random events and over rows as Postgres returns them), for the
 * chainer, which hashes every event. The events of one append share their metadata, so the
 * canonical JSON of the last metadata seen is kept and reused while its text repeats.
 */
export class ChainHasher {
  private lastMetadataJson: string | null = null;
  private lastMetadataCanonical = '';

  constructor(private readonly canonicalize: Canonicalize = canonicalJson) {}

  canonicalJson(event: StoredEventText): string {
    if (event.metadata_json !== this.lastMetadataJson) {
      this.lastMetadataCanonical = this.canonicalize(JSON.parse(event.metadata_json));
      this.lastMetadataJson = event.metadata_json;
    }
    return documentJson(event, this.canonicalize(JSON.parse(event.data_json)), this.lastMetadataCanonical, event.recorded_at_iso, this.canonicalize);
  }

  hash(prevHash: Buffer, event: StoredEventText): Buffer {
    return linkHash(prevHash, this.canonicalJson(event));
  }
}

// SHA-256 over prev_hash ‖ document, written into one reused buffer and hashed in one call: no hash
// object and no encoded copy of the document per event.
let linkInput = Buffer.allocUnsafe(16 * 1024);

function linkHash(prevHash: Buffer, document: string): Buffer {
  // UTF-8 takes at most three bytes per UTF-16 code unit. (A stored prev_hash read back for
  // verification may have any length if someone tampered with it; it is hashed as it is.)
  const room = prevHash.length + document.length * 3;
  if (room > linkInput.length) linkInput = Buffer.allocUnsafe(room);
  prevHash.copy(linkInput, 0);
  const length = prevHash.length + linkInput.write(document, prevHash.length, 'utf8');
  return hash('sha256', linkInput.subarray(0, length), 'buffer');
}

export const hex = (buffer: Buffer | null): string | null => (buffer === null ? null : buffer.toString('hex'));
