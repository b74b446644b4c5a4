import { canonicalJson } from './canonical-json';
import { generateSigningSeed, parsePublicKey, parseSigningKey, rawPublicKey, signCheckpoint, Checkpoint } from './checkpoint';
import { ChainLookup, VerifyOptions, verifyChain } from './chain-verifier';
import { ChainRow, GENESIS_HASH, chainHash } from './event-hash';

function chained(count: number): ChainRow[] {
  const rows: ChainRow[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= count; i++) {
    const row: ChainRow = {
      position: i,
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      stream: `key-key_${i % 3}`,
      stream_version: Math.ceil(i / 3),
      type: 'KeyCreated',
      schema_version: 1,
      data: { key_id: `key_${i}`, scopes: ['*'], amount: i * 100 },
      metadata: { request_id: `req_${i}`, actor_key_id: null, agent_id: null, ip: '127.0.0.1' },
      org_id: 'org_1',
      recorded_at: new Date(Date.UTC(2026, 10, 22, 10, 0, i)),
      transaction_id: String(1000 + i),
      hash: null,
      prev_hash: prev,
    };
    row.hash = chainHash(prev, row);
    prev = row.hash;
    rows.push(row);
  }
  return rows;
}

function inLog(rows: ChainRow[]): ChainRow[] {
  return [...rows].sort((a, b) => Number(BigInt(a.transaction_id) - BigInt(b.transaction_id)) || a.position - b.position);
}

function lookupOver(rows: ChainRow[]): ChainLookup {
  return {
    successorOf: async (hash) => rows.find((r) => r.prev_hash?.equals(hash)) ?? null,
    rowWithHash: async (hash) => rows.find((r) => r.hash?.equals(hash)) ?? null,
    missingPositionBetween: async (after, before) => {
      for (let p = after + 1; p < before; p++) if (!rows.some((r) => r.position === p)) return p;
      return null;
    },
  };
}

async function* iterate(rows: ChainRow[]) {
  yield* inLog(rows);
}

async function verify(rows: ChainRow[], checkpoints: Checkpoint[] = [], publicKey?: Buffer, options: Partial<VerifyOptions> = {}) {
  return verifyChain(iterate(rows), { checkpoints, publicKey, lookup: lookupOver(rows), ...options });
}

describe('canonical JSON (RFC 8785)', () => {
  it('sorts members by UTF-16 code units and serializes numbers the ECMAScript way', () => {
    expect(canonicalJson({ b: [1e21, 0.000001, -0, 1.5e-7], a: { z: null, y: 'é\n' } })).toBe('{"a":{"y":"é\\n","z":null},"b":[1e+21,0.000001,0,1.5e-7]}');
    // RFC 8785 §3.2.3 sorting example.
    expect(canonicalJson({ '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' })).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });
});

describe('verifyChain', () => {
  it('verifies an untouched chain and reports its head', async () => {
    const rows = chained(20);
    const result = await verify(rows);
    expect(result).toMatchObject({ ok: true, events_verified: 20, head: { position: 20, hash: rows[19].hash?.toString('hex') } });
  });

  it('counts unchained events at the end as pending, not as tampering', async () => {
    const rows = chained(10);
    rows[9].hash = null;
    rows[9].prev_hash = null;
    expect(await verify(rows)).toMatchObject({ ok: true, events_verified: 9, events_pending: 1 });
  });

  it('names an altered event', async () => {
    const rows = chained(10);
    rows[4].data = { key_id: 'key_5', scopes: ['*'], amount: 1 };
    expect(await verify(rows)).toMatchObject({ ok: false, first_bad_position: 5, reason: 'altered' });
  });

  it('names a removed event', async () => {
    const rows = chained(10).filter((r) => r.position !== 6);
    expect(await verify(rows)).toMatchObject({ ok: false, first_bad_position: 6, reason: 'removed' });
  });

  it('names an inserted event, chained or not', async () => {
    const rows = chained(10);
    const forged: ChainRow = { ...rows[3], position: 11, id: 'forged', transaction_id: rows[3].transaction_id, hash: null, prev_hash: null };
    expect(await verify([...rows, forged])).toMatchObject({ ok: false, first_bad_position: 11, reason: 'inserted' });
    forged.prev_hash = rows[3].hash;
    forged.hash = chainHash(rows[3].hash as Buffer, forged);
    expect(await verify([...rows, forged])).toMatchObject({ ok: false, first_bad_position: 11, reason: 'inserted' });
  });

  it('names two swapped events', async () => {
    const rows = chained(10);
    [rows[2].transaction_id, rows[6].transaction_id] = [rows[6].transaction_id, rows[2].transaction_id];
    expect(await verify(rows)).toMatchObject({ ok: false, first_bad_position: 3, reason: 'reordered' });
  });

  it('checks checkpoints against the pinned key', async () => {
    const rows = chained(10);
    const key = parseSigningKey(generateSigningSeed());
    const good = signCheckpoint(key, 8, rows[7].hash as Buffer, new Date());
    expect(await verify(rows, [good], rawPublicKey(key))).toMatchObject({ ok: true, checkpoint: { position: 8 } });

    const forged = { ...good, signature: Buffer.alloc(64, 7) };
    expect(await verify(rows, [forged], rawPublicKey(key))).toMatchObject({ ok: false, first_bad_position: 8, reason: 'bad_signature' });

    const other = parseSigningKey(generateSigningSeed());
    const impostor = signCheckpoint(other, 8, rows[7].hash as Buffer, new Date());
    expect(await verify(rows, [impostor], parsePublicKey(rawPublicKey(key).toString('base64')))).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(await verify(rows.slice(0, 7), [good])).toMatchObject({ ok: false, first_bad_position: 8, reason: 'removed' });
  });

  it('with a signature required, fails a chain that no checkpoint signed by the pinned key covers, naming its first event', async () => {
    // Anyone can rechain made-up events from the genesis: only a signature by the pinned key vouches for them.
    const forged = chained(3);
    const unrelated = rawPublicKey(parseSigningKey(generateSigningSeed()));
    expect(await verify(forged, [], unrelated)).toMatchObject({ ok: true });
    const result = await verify(forged, [], unrelated, { requireSignature: true });
    expect(result).toMatchObject({ ok: false, first_bad_position: 1, reason: 'unsigned', events_verified: 3 });
    expect(result.ok === false && result.detail).toContain('no checkpoint signed by the pinned key covers any event');

    expect(await verify([], [], unrelated, { requireSignature: true })).toMatchObject({ ok: false, first_bad_position: 0, reason: 'unsigned', detail: expect.stringContaining('no events and no checkpoint') });

    const key = parseSigningKey(generateSigningSeed());
    const rows = chained(10);
    const signed = signCheckpoint(key, 8, rows[7].hash as Buffer, new Date());
    expect(await verify(rows, [signed], rawPublicKey(key), { requireSignature: true })).toMatchObject({ ok: true, checkpoint: { position: 8 } });
  });

  it('counts the chained events after the latest checkpoint, which no signature covers yet', async () => {
    const key = parseSigningKey(generateSigningSeed());
    const rows = chained(10);
    rows[9].hash = null;
    rows[9].prev_hash = null;
    const at = (p: number) => signCheckpoint(key, p, rows[p - 1].hash as Buffer, new Date());
    expect(await verify(rows, [at(4), at(7)], rawPublicKey(key))).toMatchObject({ ok: true, events_verified: 9, events_pending: 1, events_after_checkpoint: 2, checkpoint: { position: 7 } });
    expect(await verify(rows, [at(9)], rawPublicKey(key))).toMatchObject({ ok: true, events_after_checkpoint: 0 });
    expect(await verify(rows, [], rawPublicKey(key))).toMatchObject({ ok: true, events_after_checkpoint: 9, checkpoint: null });
  });

  it('with a bound on the unsigned tail, fails a chain with more events after its latest checkpoint, naming the first of them', async () => {
    const key = parseSigningKey(generateSigningSeed());
    const rows = chained(10);
    const at = (p: number) => signCheckpoint(key, p, rows[p - 1].hash as Buffer, new Date());
    // Checkpoints after the one at 4 dropped and events rechained after it: 6 events no signature covers.
    expect(await verify(rows, [at(4)], rawPublicKey(key), { maxUnsignedEvents: 6 })).toMatchObject({ ok: true, events_after_checkpoint: 6 });
    expect(await verify(rows, [at(4)], rawPublicKey(key), { maxUnsignedEvents: 5 })).toMatchObject({ ok: false, reason: 'unsigned', first_bad_position: 5 });
    expect(await verify(rows, [at(4), at(8)], rawPublicKey(key), { maxUnsignedEvents: 2 })).toMatchObject({ ok: true, events_after_checkpoint: 2 });
    expect(await verify(rows, [at(4), at(8)], rawPublicKey(key), { maxUnsignedEvents: 1 })).toMatchObject({ ok: false, reason: 'unsigned', first_bad_position: 9 });
    expect(await verify(rows, [at(10)], rawPublicKey(key), { maxUnsignedEvents: 0 })).toMatchObject({ ok: true, events_after_checkpoint: 0 });
  });

  it('an incremental walk starts from a checkpoint already verified: it counts as signed', async () => {
    const key = parseSigningKey(generateSigningSeed());
    const rows = chained(12);
    const start = { checkpoint: signCheckpoint(key, 8, rows[7].hash as Buffer, new Date()), transaction_id: rows[7].transaction_id, events_verified: 8 };
    const after = rows.slice(8);
    const result = await verifyChain(iterate(after), { checkpoints: [], start, publicKey: rawPublicKey(key), requireSignature: true, lookup: lookupOver(rows) });
    expect(result).toMatchObject({ ok: true, events_verified: 12, events_after_checkpoint: 4, checkpoint: { position: 8 } });
  });
});
