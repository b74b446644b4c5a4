import { Client } from 'pg';
import { Stack } from '@keyledger/testing';
import { Bench, BenchContext, measure, PhaseResult, positiveInt, round } from '../bench';
import { HttpLoad } from '../http-load';

function phase(result: PhaseResult) {
  return { requests_per_s: result.operationsPerSecond, requests: result.operations, seconds: result.seconds, latency_ms: result.latencyMs };
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0, 3);
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

/**
 * Authenticated `GET /v1/whoami` through the whole stack beside `GET /healthz` — a route on the same
 * gateway process, same Nest + fastify stack and envelope, without authentication — in the same run;
 * then how long a revocation through one gateway takes to be enforced by another.
 */
export const authBench: Bench = {
  name: 'auth',
  description: 'whoami throughput vs a bare route on the same HTTP stack, and revocation propagation between two gateways',
  options: { concurrency: { type: 'string' }, revocations: { type: 'string' } },
  async run(context: BenchContext) {
    const concurrency = positiveInt(context.flags, 'concurrency', 32);
    const revocations = positiveInt(context.flags, 'revocations', 200);
    context.log('starting the stack (two gateways) from dist/ — build it first: npm run build');
    const stack = await Stack.start({ label: 'bench_auth', instances: { gateway: 2 }, env: { LOG_LEVEL: 'warn' } });
    const load = new HttpLoad(concurrency);
    try {
      const gateway = stack.gatewayUrl(0);
      const created = await fetch(`${gateway}/v1/orgs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.operatorToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench' }),
      });
      const { data } = (await created.json()) as { data: { org: { id: string }; api_key: { key: string } } };
      const key = data.api_key.key;
      // Authentication is measured here, not rate limiting: the org gets limits it never meets.
      const unlimited = { per_minute: 10_000_000, burst: 1_000_000 };
      const plan = await fetch(`${gateway}/v1/orgs/${data.org.id}/plan`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${stack.operatorToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ plan: 'enterprise', overrides: { read: unlimited, write: unlimited, key_create: unlimited, per_hour: null } }),
      });
      if (plan.status !== 200) throw new Error(`plan change answered ${plan.status}`);
      const options = { workers: concurrency, seconds: context.durationSeconds, warmupSeconds: context.warmupSeconds };
      const expect200 = async (url: string, headers?: Record<string, string>) => {
        const status = await load.send(url, { headers });
        if (status !== 200) throw new Error(`${url} answered ${status}`);
      };

      context.log(`bare route GET /healthz, ${concurrency} concurrent, ${context.durationSeconds}s`);
      const bare = await measure(options, () => expect200(`${gateway}/healthz`));
      context.log(`GET /v1/whoami with a key, ${concurrency} concurrent, ${context.durationSeconds}s`);
      const whoami = await measure(options, () => expect200(`${gateway}/v1/whoami`, { 'x-api-key': key }));

      context.log(`${revocations} revocations through gateway 0, watched on gateway 1`);
      const propagation: number[] = [];
      const revokeCall: number[] = [];
      const rejectedWallClock = new Map<string, number>();
      let acceptedAfterReturn = 0;
      const second = stack.gatewayUrl(1);
      const json = (body: unknown) => ({ method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      for (let i = 0; i < revocations; i++) {
        const res = await fetch(`${gateway}/v1/api-keys`, json({ name: `revoke ${i}` }));
        const victim = ((await res.json()) as { data: { id: string; key: string } }).data;
        await expect200(`${second}/v1/whoami`, { 'x-api-key': victim.key }); // now cached on gateway 1
        const sent = performance.now();
        let returned = Infinity;
        const revoke = fetch(`${gateway}/v1/api-keys/${victim.id}/revoke`, json({})).then(async (r) => {
          await r.arrayBuffer();
          returned = performance.now();
        });
        let rejectedAt = 0;
        while (rejectedAt === 0) {
          const before = performance.now();
          const status = await load.send(`${second}/v1/whoami`, { headers: { 'x-api-key': victim.key } });
          if (status === 401) {
            rejectedAt = performance.now();
            rejectedWallClock.set(victim.id, Date.now());
          }
          else if (before > returned) acceptedAfterReturn++;
        }
        await revoke;
        propagation.push(rejectedAt - sent);
        revokeCall.push(returned - sent);
      }
      // From the revocation's commit (its event's recorded_at; same machine, same clock) until gateway 1
      // refused the key: how long the news took to reach the other gateway.
      const db = new Client({ connectionString: stack.databaseUrl });
      await db.connect();
      const afterCommit: number[] = [];
      try {
        const { rows } = await db.query<{ key_id: string; at: Date }>(
          `select data->>'key_id' as key_id, recorded_at as at from events where type = 'KeyRevoked'`,
        );
        for (const row of rows) {
          const rejected = rejectedWallClock.get(row.key_id);
          if (rejected !== undefined) afterCommit.push(Math.max(0, rejected - row.at.getTime()));
        }
      } finally {
        await db.end();
      }
      return {
        config: { concurrency, duration_s: context.durationSeconds, revocations, gateways: 2, cpus: (await import('node:os')).cpus().length },
        bare_route: phase(bare),
        whoami: phase(whoami),
        ratio_whoami_to_bare: round(whoami.operationsPerSecond / bare.operationsPerSecond, 3),
        revocation: {
          // propagation_ms: from sending the revoke to gateway 0 until gateway 1 first refuses the key.
          propagation_after_commit_ms: percentiles(afterCommit),
          propagation_ms: percentiles(propagation),
          revoke_call_ms: percentiles(revokeCall),
          // Polls of gateway 1 sent after the revoke call had returned and still accepted: should be 0.
          accepted_by_other_gateway_after_revoke_returned: acceptedAfterReturn,
        },
      };
    } finally {
      load.close();
      await stack.stop();
    }
  },
};
