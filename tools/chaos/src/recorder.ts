import { randomUUID } from 'node:crypto';
import { Keyledger, KeyledgerError } from '@keyledger/sdk';

/** One HTTP exchange as the client saw it (a retry is another attempt). */
export interface Attempt {
  org: string;
  method: string;
  path: string;
  gateway: number;
  /** ms since the run's start */
  started: number;
  ended: number;
  /** 0: no answer (connection refused or reset, or our own 30 s give-up) */
  status: number;
  probe: boolean;
}

/** The end of one logical operation, after every retry. */
export interface Outcome {
  op: string;
  org: string;
  idempotencyKey: string | null;
  status: number;
  code: string | null;
  data: any;
  started: number;
  ended: number;
  attempts: number;
  /** A 2xx of this operation must show in the log as an event of its own (see checks). */
  expectEvent: boolean;
}

/** Longest any single HTTP attempt may take before the client gives up on it (a hang). */
export const ATTEMPT_TIMEOUT_MS = 30_000;

/** Everything the load saw, for the checks afterwards. */
export class Recorder {
  readonly attempts: Attempt[] = [];
  readonly outcomes: Outcome[] = [];
  readonly t0 = Date.now();

  now(): number {
    return Date.now() - this.t0;
  }

  /** A fetch for the SDK that records every attempt it makes through gateway `gateway`. */
  fetchFor(org: string, gateway: number, probe = false): typeof fetch {
    return async (input, init) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      const started = this.now();
      const record = (status: number) =>
        this.attempts.push({ org, method: init?.method ?? 'GET', path: url.pathname, gateway, started, ended: this.now(), status, probe });
      try {
        const response = await fetch(input, { ...init, signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
        record(response.status);
        return response;
      } catch (error) {
        record(0);
        throw error;
      }
    };
  }
}

/** An organization as the load drives it: one SDK client per gateway, all recording. */
export class OrgClient {
  private next = 0;
  readonly clients: Keyledger[];

  constructor(
    readonly name: string,
    readonly id: string,
    readonly apiKey: string,
    gatewayUrls: string[],
    private readonly recorder: Recorder,
    sdkRetries = 3,
  ) {
    this.clients = gatewayUrls.map(
      (baseUrl, i) => new Keyledger({ baseUrl, apiKey, maxRetries: sdkRetries, maxRetryDelayMs: 2_000, fetch: recorder.fetchFor(name, i) }),
    );
  }

  /**
   * Runs one operation the way a careful SDK user does: every POST with one Idempotency-Key kept
   * across retries; the SDK itself retries 429/503 after Retry-After; beyond that, no answer, a 5xx
   * or 409 IDEMPOTENCY_IN_PROGRESS is retried (on the other gateway, as a load balancer would) with
   * backoff for up to `budgetMs`. Returns the final outcome, recorded.
   */
  async perform(
    op: string,
    method: string,
    path: string,
    body?: unknown,
    options: { expectEvent?: boolean; budgetMs?: number; retry?: boolean } = {},
  ): Promise<Outcome> {
    const idempotencyKey = method === 'POST' ? randomUUID() : null;
    const started = this.recorder.now();
    const budgetMs = options.budgetMs ?? 90_000;
    let attempts = 0;
    for (;;) {
      const client = this.clients[this.next++ % this.clients.length];
      attempts++;
      let status: number;
      let code: string | null = null;
      let data: any = null;
      try {
        data = await client.request(method, path, body, idempotencyKey ? { idempotencyKey } : {});
        status = 200; // any 2xx: the SDK hands back only the data (each attempt's exact status is in `attempts`)
      } catch (error) {
        if (error instanceof KeyledgerError) {
          status = error.status;
          code = error.code;
          data = error.details;
        } else {
          status = 0;
          code = (error as Error).name;
        }
      }
      const retryable = status === 0 || status >= 500 || code === 'IDEMPOTENCY_IN_PROGRESS';
      if (options.retry !== false && retryable && this.recorder.now() - started < budgetMs) {
        await sleep(Math.min(2_000, 100 * 2 ** Math.min(attempts, 5)) * (0.5 + Math.random() / 2));
        continue;
      }
      const outcome: Outcome = {
        op,
        org: this.name,
        idempotencyKey,
        status,
        code,
        data,
        started,
        ended: this.recorder.now(),
        attempts,
        expectEvent: options.expectEvent ?? false,
      };
      this.recorder.outcomes.push(outcome);
      return outcome;
    }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
