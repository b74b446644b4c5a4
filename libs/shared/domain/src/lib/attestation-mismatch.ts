/** Where a spend differed from what the agent claimed about it (API.md: `mismatches`). */
export interface AttestationMismatch {
  field: 'amount' | 'merchant';
  claimed: unknown;
  actual: unknown;
}

/** The parts of a claim a spend can contradict; anything else in a statement is free-form. */
export interface ClaimedSpend {
  expected_amount?: unknown;
  merchant?: unknown;
}

export interface ActualSpend {
  amount: number;
  merchant: string | null;
}

const sameMerchant = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * The mismatches between a claim and the spend made under it: an amount over `expected_amount`
 * (spending less than expected is not a mismatch) and another merchant (compared without case or
 * surrounding blanks; a spend naming no merchant differs from a claimed one). Claim fields that are
 * absent, or not a number / a string, claim nothing.
 */
export function attestationMismatches(claim: ClaimedSpend, actual: ActualSpend): AttestationMismatch[] {
  const mismatches: AttestationMismatch[] = [];
  if (typeof claim.expected_amount === 'number' && actual.amount > claim.expected_amount) {
    mismatches.push({ field: 'amount', claimed: claim.expected_amount, actual: actual.amount });
  }
  if (typeof claim.merchant === 'string' && (actual.merchant === null || !sameMerchant(claim.merchant, actual.merchant))) {
    mismatches.push({ field: 'merchant', claimed: claim.merchant, actual: actual.merchant });
  }
  return mismatches;
}
