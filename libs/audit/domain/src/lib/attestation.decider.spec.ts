import { DomainError } from '@keyledger/domain';
import { attestationDecider, AttestedSpend, newAttestationId, RecordAttestation } from './attestation.decider';

const record = (statement: Record<string, unknown>, spend: AttestedSpend | null = null): RecordAttestation => ({
  type: 'RecordAttestation',
  data: { attestation_id: 'att_1', org_id: 'org_1', environment: 'test', agent_id: 'agt_1', spend, statement, now: '2026-11-22T10:00:00.000Z' },
});

describe('attestation decider', () => {
  it('records what the agent claimed, once', () => {
    const events = attestationDecider.decide(record({ purpose: 'buy GPU hours', expected_amount: 1200 }), attestationDecider.initialState());
    expect(events).toEqual([
      {
        type: 'AttestationRecorded',
        data: { attestation_id: 'att_1', org_id: 'org_1', environment: 'test', agent_id: 'agt_1', spend_id: null, statement: { purpose: 'buy GPU hours', expected_amount: 1200 }, mismatches: [], recorded_at: '2026-11-22T10:00:00.000Z' },
      },
    ]);
    const state = attestationDecider.evolve(attestationDecider.initialState(), events[0]);
    expect(() => attestationDecider.decide(record({ purpose: 'again' }), state)).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  });

  it('attesting an existing spend names it and records where the spend differed from the claim', () => {
    const claim = { purpose: 'buy GPU hours', expected_amount: 1200, merchant: 'gpu.example' };
    const [over] = attestationDecider.decide(record(claim, { id: 'spd_1', amount: 1500, merchant: 'cloud.example' }), attestationDecider.initialState());
    expect(over.data).toMatchObject({
      spend_id: 'spd_1',
      mismatches: [
        { field: 'amount', claimed: 1200, actual: 1500 },
        { field: 'merchant', claimed: 'gpu.example', actual: 'cloud.example' },
      ],
    });
    const [within] = attestationDecider.decide(record(claim, { id: 'spd_2', amount: 900, merchant: 'GPU.example' }), attestationDecider.initialState());
    expect(within.data).toMatchObject({ spend_id: 'spd_2', mismatches: [] });
    const [vague] = attestationDecider.decide(record({ purpose: 'anything' }, { id: 'spd_3', amount: 10_000, merchant: null }), attestationDecider.initialState());
    expect(vague.data.mismatches).toEqual([]);
    const [noMerchant] = attestationDecider.decide(record({ merchant: 'gpu.example' }, { id: 'spd_4', amount: 1, merchant: null }), attestationDecider.initialState());
    expect(noMerchant.data.mismatches).toEqual([{ field: 'merchant', claimed: 'gpu.example', actual: null }]);
  });

  it('refuses a statement that is not an object or is over 16 KiB', () => {
    expect(() => attestationDecider.decide(record([] as never), attestationDecider.initialState())).toThrow(DomainError);
    expect(() => attestationDecider.decide(record({ blob: 'x'.repeat(17_000) }), attestationDecider.initialState())).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
  });

  it('makes att_ ids of 22 base62 characters', () => {
    expect(newAttestationId()).toMatch(/^att_[0-9A-Za-z]{22}$/);
  });
});
