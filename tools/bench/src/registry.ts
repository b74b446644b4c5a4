import type { Bench } from './bench';
import { eventStoreBench } from './benches/event-store.bench';
import { auditBench } from './benches/audit.bench';

/** Every bench `main.ts <name>` can run. A new bench is one file in `benches/` and one line here. */
export const benches: readonly Bench[] = [eventStoreBench, auditBench];

export function findBench(name: string): Bench | undefined {
  return benches.find((bench) => bench.name === name);
}
