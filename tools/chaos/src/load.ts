import { Keyledger } from '@keyledger/sdk';
import type { RateLimitOverrides } from '@keyledger/contracts';
import { OrgClient, Recorder, sleep } from './recorder';

/** What a main organization is given: money, agents with budgets tight enough to be met. */
export const WALLET_DEPOSIT = 400_000;
export const AGENT_BUDGET = {
  currency: 'usd',
  fixed_limit: 60_000,
  max_position_value: 4_000,
  limits: [
    { interval: 'per_transaction', amount: 600 },
    { interval: 'daily', amount: 50_000 },
  ],
} as const;

/** The organization whose limits the load presses against on purpose (the rate-limit check). */
export const LIMITED_OVERRIDES: RateLimitOverrides = {
  read: { per_minute: 30, burst: 5 },
  write: { per_minute: 20, burst: 3 },
  key_create: { per_minute: 6, burst: 2 },
};
/** Main organizations: limits the load never meets, so every other check sees real work. */
export const ROOMY_OVERRIDES: RateLimitOverrides = {
  read: { per_minute: 600_000, burst: 100_000 },
  write: { per_minute: 600_000, burst: 100_000 },
  key_create: { per_minute: 600_000, burst: 100_000 },
  per_hour: 100_000_000,
};

interface AgentState {
  id: string;
  /** What the load knows: 'unknown' after a pause or resume whose answer was lost. */
  status: 'active' | 'paused' | 'unknown';
  busy: boolean;
  budget: typeof AGENT_BUDGET;
}

export interface RevokedKey {
  org: string;
  keyId: string;
  key: string;
  /** When the revoke call returned 2xx (ms since the run's start). */
  revokedAt: number;
}

export interface RevocationProbe {
  keyId: string;
  gateway: number;
  started: number;
  status: number;
  revokedAt: number;
}

export class MainOrg {
  agents: AgentState[] = [];
  /** Holds the load placed and has not resolved yet. */
  holds: string[] = [];
  /** Holds resolved with a 2xx, and how: a second resolution must be refused. */
  resolved: string[] = [];
  constructor(readonly client: OrgClient) {}
}

export interface LoadOptions {
  gatewayUrls: string[];
  operatorToken: string;
  orgs: number;
  agentsPerOrg: number;
  workers: number;
}

/** The mixed load: setup, workers, the revoked-key prober and the rate-limit hammer. */
export class Load {
  readonly recorder = new Recorder();
  readonly mainOrgs: MainOrg[] = [];
  limited!: OrgClient;
  readonly revoked: RevokedKey[] = [];
  readonly probes: RevocationProbe[] = [];
  /** Budgets as set, by agent id (the money check compares the log with them). */
  readonly budgets = new Map<string, typeof AGENT_BUDGET>();
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly options: LoadOptions) {}

  async setup(): Promise<void> {
    const operator = new Keyledger({ baseUrl: this.options.gatewayUrls[0], operatorToken: this.options.operatorToken, maxRetries: 10 });
    const makeOrg = async (name: string, overrides: RateLimitOverrides, sdkRetries?: number) => {
      const created = await operator.orgs.create({ name });
      await operator.request('PUT', `/v1/orgs/${created.org.id}/plan`, { plan: null, overrides }, { operator: true });
      return new OrgClient(name, created.org.id, created.api_key.key, this.options.gatewayUrls, this.recorder, sdkRetries);
    };
    for (let o = 0; o < this.options.orgs; o++) {
      const org = new MainOrg(await makeOrg(`chaos-${o}`, ROOMY_OVERRIDES));
      await this.must(org.client.perform('setup', 'POST', '/v1/wallet/deposits', { amount: WALLET_DEPOSIT, currency: 'usd' }, { expectEvent: true }));
      for (let a = 0; a < this.options.agentsPerOrg; a++) {
        const agent = await this.must(org.client.perform('setup', 'POST', '/v1/agents', { name: `agent-${a}` }, { expectEvent: true }));
        await this.must(org.client.perform('setup', 'PUT', `/v1/agents/${agent.data.id}/budget`, AGENT_BUDGET));
        org.agents.push({ id: agent.data.id, status: 'active', busy: false, budget: AGENT_BUDGET });
        this.budgets.set(agent.data.id, AGENT_BUDGET);
      }
      this.mainOrgs.push(org);
    }
    // No SDK retries for the limited org: its 429s are the point.
    this.limited = await makeOrg('chaos-limited', LIMITED_OVERRIDES, 0);
  }

  start(): void {
    this.running = true;
    for (let w = 0; w < this.options.workers; w++) this.loops.push(this.worker(w));
    // Two hammers: the limits are met even when a busy machine slows each one down.
    this.loops.push(this.prober(), this.hammer(), this.hammer());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async must(outcome: Promise<import('./recorder').Outcome>) {
    const o = await outcome;
    if (o.status !== 200) throw new Error(`setup step ${o.op} failed: ${o.status} ${o.code}`);
    return o;
  }

  private async worker(w: number): Promise<void> {
    let i = 0;
    while (this.running) {
      const org = this.mainOrgs[(w + i++) % this.mainOrgs.length];
      try {
        await this.step(org);
      } catch (error) {
        // A bug in the load itself must not pass silently as "no failures".
        this.recorder.outcomes.push({ op: 'load-error', org: org.client.name, idempotencyKey: null, status: -1, code: String(error), data: null, started: this.recorder.now(), ended: this.recorder.now(), attempts: 0, expectEvent: false });
      }
    }
  }

  private async step(org: MainOrg): Promise<void> {
    const c = org.client;
    const roll = Math.random();
    const agent = org.agents[Math.floor(Math.random() * org.agents.length)];
    if (roll < 0.3) {
      await c.perform('spend', 'POST', '/v1/spends', { agent_id: agent.id, amount: amount(), currency: 'usd', capture: true }, { expectEvent: true });
    } else if (roll < 0.45) {
      const o = await c.perform('hold', 'POST', '/v1/spends', { agent_id: agent.id, amount: amount(), currency: 'usd', capture: false }, { expectEvent: true });
      if (o.status === 200 && o.data.status === 'authorized') org.holds.push(o.data.id);
    } else if (roll < 0.6) {
      const hold = org.holds.shift();
      if (!hold) return;
      const capture = Math.random() < 0.6;
      const o = capture
        ? await c.perform('capture', 'POST', `/v1/spends/${hold}/capture`, Math.random() < 0.5 ? {} : { amount: 1 }, { expectEvent: true })
        : await c.perform('release', 'POST', `/v1/spends/${hold}/release`, {}, { expectEvent: true });
      if (o.status === 200 && Math.random() < 0.3) {
        // A hold resolves exactly once: a second resolution (another Idempotency-Key) must be refused.
        await c.perform('second-resolution', 'POST', `/v1/spends/${hold}/${Math.random() < 0.5 ? 'capture' : 'release'}`, {}, { expectEvent: false });
      }
    } else if (roll < 0.68) {
      await this.keyLifecycle(org);
    } else if (roll < 0.73) {
      await this.pauseOrResume(org, agent);
    } else if (roll < 0.75) {
      await c.perform('deposit', 'POST', '/v1/wallet/deposits', { amount: 2_000, currency: 'usd' }, { expectEvent: true });
    } else {
      const reads = [
        () => c.perform('read', 'GET', '/v1/wallet'),
        () => c.perform('read', 'GET', '/v1/spends?limit=20'),
        () => c.perform('read', 'GET', `/v1/agents/${agent.id}/budget`),
        () => c.perform('read', 'GET', '/v1/api-keys?limit=5'),
        () => c.perform('read', 'GET', `/v1/agents/${agent.id}`),
      ];
      await reads[Math.floor(Math.random() * reads.length)]();
    }
  }

  /** Creates a key, uses it on every gateway (so each caches it), revokes it, then probes it. */
  private async keyLifecycle(org: MainOrg): Promise<void> {
    const c = org.client;
    const created = await c.perform('key-create', 'POST', '/v1/api-keys', { name: 'chaos', scopes: ['agents:read'] }, { expectEvent: true });
    if (created.status !== 200) return;
    const key = created.data.key as string;
    for (let g = 0; g < this.options.gatewayUrls.length; g++) {
      await fetch(`${this.options.gatewayUrls[g]}/v1/whoami`, { headers: { 'x-api-key': key }, signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    }
    const revoked = await c.perform('key-revoke', 'POST', `/v1/api-keys/${created.data.id}/revoke`, {}, { expectEvent: true });
    if (revoked.status === 200) this.revoked.push({ org: c.name, keyId: created.data.id, key, revokedAt: revoked.ended });
  }

  private async pauseOrResume(org: MainOrg, agent: AgentState): Promise<void> {
    if (agent.busy) return;
    agent.busy = true;
    try {
      if (agent.status === 'active') {
        const o = await org.client.perform('pause', 'POST', `/v1/agents/${agent.id}/pause`, { duration: '15m' }, { expectEvent: true });
        agent.status = o.status === 200 ? 'paused' : 'unknown';
      } else {
        // Resuming an agent that is already active is a no-op answered 200: an event is owed only when we know it was paused.
        const o = await org.client.perform('resume', 'POST', `/v1/agents/${agent.id}/resume`, {}, { expectEvent: agent.status === 'paused' });
        agent.status = o.status === 200 ? 'active' : 'unknown';
      }
    } finally {
      agent.busy = false;
    }
  }

  /** Keeps trying revoked keys on every gateway: any acceptance after the revoke returned is a failure. */
  private async prober(): Promise<void> {
    let n = 0;
    while (this.running) {
      const recent = this.revoked.slice(-30);
      if (recent.length === 0) {
        await sleep(100);
        continue;
      }
      const target = recent[n % recent.length];
      const gateway = n++ % this.options.gatewayUrls.length;
      const started = this.recorder.now();
      let status = 0;
      try {
        const response = await this.recorder.fetchFor(target.org, gateway, true)(`${this.options.gatewayUrls[gateway]}/v1/whoami`, { headers: { 'x-api-key': target.key } });
        status = response.status;
        await response.body?.cancel();
      } catch {
        status = 0;
      }
      this.probes.push({ keyId: target.keyId, gateway, started, status, revokedAt: target.revokedAt });
      await sleep(20);
    }
  }

  /** Presses on the limited organization's read, write and key-creation limits through both gateways. */
  private async hammer(): Promise<void> {
    let n = 0;
    const c = this.limited;
    while (this.running) {
      n++;
      // No SDK retries here, so a 429 is final; no answer or a 5xx is still retried.
      if (n % 2 === 0) await c.perform('limited-read', 'GET', '/v1/wallet');
      else if (n % 7 === 0) {
        const created = await c.perform('limited-key-create', 'POST', '/v1/api-keys', { name: 'limited', scopes: ['agents:read'] }, { expectEvent: true });
        if (created.status === 200) await c.perform('limited-key-revoke', 'POST', `/v1/api-keys/${created.data.id}/revoke`, {}, { expectEvent: true });
      } else await c.perform('limited-deposit', 'POST', '/v1/wallet/deposits', { amount: 1, currency: 'usd' }, { expectEvent: true });
      await sleep(25);
    }
  }
}

/** Mostly small, sometimes over the per-transaction limit (a decline is a decision too). */
function amount(): number {
  return Math.random() < 0.05 ? 700 + Math.floor(Math.random() * 300) : 1 + Math.floor(Math.random() * 300);
}
