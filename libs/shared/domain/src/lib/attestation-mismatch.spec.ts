import { attestationMismatches } from './attestation-mismatch';

describe('attestationMismatches', () => {
  const claim = { purpose: 'buy GPU hours', expected_amount: 1200, merchant: 'gpu.example' };

  it('names an amount over the expected one and another merchant, with what was claimed and what happened', () => {
    expect(attestationMismatches(claim, { amount: 1201, merchant: 'cloud.example' })).toEqual([
      { field: 'amount', claimed: 1200, actual: 1201 },
      { field: 'merchant', claimed: 'gpu.example', actual: 'cloud.example' },
    ]);
  });

  it('finds nothing when the spend is as claimed: at or under the expected amount, the merchant up to case and blanks', () => {
    expect(attestationMismatches(claim, { amount: 1200, merchant: 'gpu.example' })).toEqual([]);
    expect(attestationMismatches(claim, { amount: 1, merchant: ' GPU.Example ' })).toEqual([]);
  });

  it('a claimed merchant and a spend naming none differ; a claim that names nothing cannot be contradicted', () => {
    expect(attestationMismatches({ merchant: 'gpu.example' }, { amount: 5, merchant: null })).toEqual([{ field: 'merchant', claimed: 'gpu.example', actual: null }]);
    expect(attestationMismatches({}, { amount: 5, merchant: 'anything' })).toEqual([]);
    expect(attestationMismatches({ expected_amount: '10', merchant: 42 }, { amount: 5000, merchant: 'x' })).toEqual([]);
  });
});
