import { Counter } from 'prom-client';
import type { OperationClass, RateLimitCheckReply } from '@keyledger/contracts';

/** Rate-limit decisions the gateway enforced, on prom-client's default registry (merged into /metrics). */
export const rateLimitDecisions = new Counter({
  name: 'keyledger_rate_limit_decisions_total',
  help: 'Rate-limit decisions by limit (class or per_hour) and outcome: allowed, limited, failed_open or failed_closed (limiter unreachable)',
  labelNames: ['class', 'outcome'] as const,
});

/** One count per class the request was checked in; a refusal counts once, against the limit that refused. */
export function countRateLimitDecision(classes: readonly OperationClass[], reply: RateLimitCheckReply | null, failsOpen: boolean): void {
  if (reply === null) for (const c of classes) rateLimitDecisions.inc({ class: c, outcome: failsOpen ? 'failed_open' : 'failed_closed' });
  else if (reply.allowed) for (const c of classes) rateLimitDecisions.inc({ class: c, outcome: 'allowed' });
  else rateLimitDecisions.inc({ class: reply.denied_by ?? 'unknown', outcome: 'limited' });
}
