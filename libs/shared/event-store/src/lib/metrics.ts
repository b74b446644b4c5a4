import { Gauge, Histogram } from 'prom-client';

/**
 * Event-store metrics, on prom-client's default registry so every process that appends or follows
 * the log exposes them (services serve that registry on KEYLEDGER_METRICS_PORT, the gateway merges
 * it into its own /metrics).
 */
export const appendDuration = new Histogram({
  name: 'keyledger_event_store_append_duration_seconds',
  help: 'Time to append events to one stream (with its commit when the append has a transaction of its own), by stream category',
  labelNames: ['category'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
});

export interface ProcessorLag {
  /** Committed events after the processor's checkpoint. */
  events: number;
  /** Age of the oldest of them: how long the processor is behind the log (0 when caught up). */
  seconds: number;
}

/** A log follower that can say how far behind it is (null while it is not the one running). */
export interface LagSource {
  readonly name: string;
  lag(): Promise<ProcessorLag | null>;
}

const sources = new Set<LagSource>();
// Both gauges are filled by one query per processor per scrape.
let snapshot: { at: number; lags: Promise<Map<string, ProcessorLag>> } | null = null;

/** Reports a processor's lag in the gauges below until the returned function is called. */
export function watchProcessorLag(source: LagSource): () => void {
  sources.add(source);
  snapshot = null;
  return () => {
    sources.delete(source);
    snapshot = null;
  };
}
function currentLags(): Promise<Map<string, ProcessorLag>> {
  if (snapshot === null || Date.now() - snapshot.at > 250) {
    const lags = Promise.all(
      [...sources].map(async (s) => [s.name, await s.lag().catch(() => null)] as const),
    ).then((entries) => new Map(entries.filter((e): e is readonly [string, ProcessorLag] => e[1] !== null)));
    snapshot = { at: Date.now(), lags };
  }
  return snapshot.lags;
}

new Gauge({
  name: 'keyledger_processor_lag_events',
  help: 'Committed events a log processor has not handled yet (reported by the instance holding its lease)',
  labelNames: ['processor'] as const,
  async collect() {
    this.reset();
    for (const [processor, lag] of await currentLags()) this.set({ processor }, lag.events);
  },
});

new Gauge({
  name: 'keyledger_processor_lag_seconds',
  help: 'Age of the oldest event a log processor has not handled yet, 0 when caught up',
  labelNames: ['processor'] as const,
  async collect() {
    this.reset();
    for (const [processor, lag] of await currentLags()) this.set({ processor }, lag.seconds);
  },
});
