import { Counter } from 'prom-client';

/** Spend decisions of this ledger instance, on prom-client's default registry (KEYLEDGER_METRICS_PORT). */
export const spendDecisions = new Counter({
  name: 'keyledger_spend_decisions_total',
  help: 'Spend decisions committed: outcome authorized (a hold), captured or declined; declines by reason (code) and limiting factor',
  labelNames: ['outcome', 'reason', 'limiting_factor'] as const,
});

export function countSpendDecision(
  outcome: { spend: { status: string }; replayed?: boolean } | { declined: { code: string; limiting_factor?: string | null } },
): void {
  if ('declined' in outcome) {
    spendDecisions.inc({ outcome: 'declined', reason: outcome.declined.code, limiting_factor: outcome.declined.limiting_factor ?? '' });
  } else if (!outcome.replayed) {
    spendDecisions.inc({ outcome: outcome.spend.status, reason: '', limiting_factor: '' });
  }
}
