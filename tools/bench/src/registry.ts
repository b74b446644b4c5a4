import type { Bench } from './bench';
import { authBench } from './benches/auth.bench';
import { eventStoreBench } from './benches/event-store.bench';
import { auditBench } from './benches/audit.bench';
import { rateLimitBench } from './benches/ratelimit.bench';
import { spendBench } from './benches/spend.bench';

/** Every bench `main.ts <name>` can run. A new bench is one file in `benches/` and one line here. */
export const benches: readonly Bench[] = [eventStoreBench, authBench, rateLimitBench, spendBench, auditBench];

export function findBench(name: string): Bench | undefined {
  return benches.find((bench) => bench.name === name);
}
