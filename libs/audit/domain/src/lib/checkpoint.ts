import { KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/** A signed statement that the chain's head at `position` has hash `root`. */
export interface Checkpoint {
  position: number;
  root: Buffer;
  signature: Buffer;
  /** Raw 32-byte Ed25519 public key that made the signature. */
  public_key: Buffer;
  signed_at: Date;
}

/** What the public API and the export show: hex hashes, base64 key and signature. */
export interface CheckpointView {
  position: number;
  root: string;
  signature: string;
  public_key: string;
  signed_at: string;
}

export const CHECKPOINT_KIND = 'keyledger.audit.checkpoint.v1';

/** The exact bytes signed: canonical JSON of kind, position, root (hex) and signed_at (ISO). */
export function checkpointMessage(position: number, root: Buffer, signedAt: Date): Buffer {
  return Buffer.from(canonicalJson({ kind: CHECKPOINT_KIND, position, root: root.toString('hex'), signed_at: signedAt.toISOString() }), 'utf8');
}

// DER prefixes that wrap a raw 32-byte Ed25519 key as PKCS8 (private) and SPKI (public).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export class SigningKeyError extends Error {}

/** The audit signing key: a PKCS8 PEM, or a raw 32-byte seed as 64 hex characters or base64. */
export function parseSigningKey(text: string): KeyObject {
  const value = text.trim();
  let key: KeyObject;
  if (value.includes('-----BEGIN')) {
    key = createPrivateKey(value.replace(/\\n/g, '\n'));
  } else {
    const seed = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
    if (seed.length !== 32) throw new SigningKeyError('must be an Ed25519 PKCS8 PEM or a 32-byte seed (64 hex characters or base64)');
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new SigningKeyError(`must be an Ed25519 key, not ${key.asymmetricKeyType}`);
  return key;
}

/** A fresh seed (hex), for tests and for `keyledger audit keygen`-style setup. */
export function generateSigningSeed(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length).toString('hex');
}

export function rawPublicKey(privateOrPublic: KeyObject): Buffer {
  const pub = privateOrPublic.type === 'private' ? createPublicKey(privateOrPublic) : privateOrPublic;
  return pub.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** A pinned public key: raw 32 bytes as base64 or hex, or an SPKI PEM. */
export function parsePublicKey(text: string): Buffer {
  const value = text.trim();
  if (value.includes('-----BEGIN')) return rawPublicKey(createPublicKey(value.replace(/\\n/g, '\n')));
  const raw = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (raw.length !== 32) throw new SigningKeyError('a public key is 32 bytes: base64, 64 hex characters or an SPKI PEM');
  return raw;
}

export function publicKeyPem(raw: Buffer): string {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
}

export function signCheckpoint(privateKey: KeyObject, position: number, root: Buffer, signedAt: Date): Checkpoint {
  const signature = sign(null, checkpointMessage(position, root, signedAt), privateKey);
  return { position, root, signature, public_key: rawPublicKey(privateKey), signed_at: signedAt };
}

/** True when `checkpoint.signature` is the given key's signature over its position, root and time. */
export function checkpointSignatureValid(checkpoint: Checkpoint, publicKey: Buffer): boolean {
  if (publicKey.length !== 32 || checkpoint.signature.length !== 64) return false;
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return verify(null, checkpointMessage(checkpoint.position, checkpoint.root, checkpoint.signed_at), key, checkpoint.signature);
}

export function checkpointView(checkpoint: Checkpoint): CheckpointView {
  return {
    position: checkpoint.position,
    root: checkpoint.root.toString('hex'),
    signature: checkpoint.signature.toString('base64'),
    public_key: checkpoint.public_key.toString('base64'),
    signed_at: checkpoint.signed_at.toISOString(),
  };
}

export function checkpointFromView(view: CheckpointView): Checkpoint {
  return {
    position: view.position,
    root: Buffer.from(view.root, 'hex'),
    signature: Buffer.from(view.signature, 'base64'),
    public_key: Buffer.from(view.public_key, 'base64'),
    signed_at: new Date(view.signed_at),
  };
}
