import fc from 'fast-check';
import { Kysely, sql } from 'kysely';
import { createDb, migrateToLatest, ProjectedEvent } from '@keyledger/event-store';
import { createTestDatabase, projectInChunks as projectChunks, TestDatabase } from '@keyledger/testing';
import { KEYS_READ_MODEL_TABLES, projectKeyEvents } from './keys.projection';
import { keysMigrations } from './migrations';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');

const step = fc.oneof(
  fc.record({ kind: fc.constant('org' as const), plan: fc.constantFrom('free', 'growth', 'scale') }),
  fc.record({ kind: fc.constant('agent' as const), pick: fc.nat(), change: fc.constantFrom('create', 'update', 'pause', 'resume', 'revoke', 'transfer') }),
  fc.record({ kind: fc.constant('key' as const), pick: fc.nat(), change: fc.constantFrom('create', 'update', 'roll', 'revoke', 'link') }),
  fc.record({ kind: fc.constant('device' as const), pick: fc.nat(), change: fc.constantFrom('request', 'approve', 'deny', 'slow', 'complete') }),
);
type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

/** A key-registry log: every step names an existing org, agent, key or device (or creates one). */
function keysLog(steps: readonly Step[]): ProjectedEvent[] {
  const orgs: string[] = [];
  const agents: string[] = [];
  const keys: string[] = [];
  const devices: string[] = [];
  const events: ProjectedEvent[] = [];
  const emit = (type: string, data: Record<string, unknown>) => events.push({ type, data: JSON.parse(JSON.stringify(data)), position: events.length + 1 });
  const of = <T>(list: T[], n: number) => list[n % list.length];
  steps.forEach((s, i) => {
    const at = new Date(T0 + i * 1_000).toISOString();
    if (s.kind === 'org' || orgs.length === 0) {
      const org_id = `org_${i}`;
      orgs.push(org_id);
      emit('OrgCreated', { org_id, name: `Org ${i}`, plan: s.kind === 'org' ? s.plan : 'free', sandbox: i % 2 === 0, created_at: at });
      if (i % 3 === 0) emit('OrgPlanChanged', { org_id, plan: 'scale', overrides: i % 2 ? null : { per_hour: 100 + i }, changed_at: at });
      return;
    }
    if (s.kind === 'agent') {
      if (s.change === 'create' || agents.length === 0) {
        const agent_id = `agt_${i}`;
        agents.push(agent_id);
        return emit('AgentCreated', { agent_id, org_id: of(orgs, s.pick), environment: i % 2 ? 'live' : 'test', name: `agent ${i}`, metadata: { n: i }, created_at: at });
      }
      const agent_id = of(agents, s.pick);
      if (s.change === 'update') return emit('AgentUpdated', { agent_id, ...(i % 2 ? { name: `renamed ${i}` } : { metadata: { team: 'ops', i } }), updated_at: at });
      if (s.change === 'pause') return emit('AgentPaused', { agent_id, duration: '1h', paused_until: new Date(T0 + i * 1_000 + 3_600_000).toISOString(), paused_at: at });
      if (s.change === 'resume') return emit('AgentResumed', { agent_id, automatic: false, resumed_at: at });
      if (s.change === 'revoke') return emit('AgentRevoked', { agent_id, revoked_at: at });
      return emit('AgentTransferred', { agent_id, from_org_id: orgs[0], to_org_id: of(orgs, s.pick + 1), transferred_at: at });
    }
    if (s.kind === 'key') {
      if (s.change === 'create' || keys.length === 0) {
        const key_id = `key_${i}`;
        keys.push(key_id);
        return emit('KeyCreated', {
          key_id,
          org_id: of(orgs, s.pick),
          name: i % 2 ? `key ${i}` : null,
          key_hash: `hash_${i}`,
          key_prefix: 'kl_test',
          last4: String(1000 + i).slice(-4),
          environment: 'test',
          scopes: ['keys:read', 'agents:write'].slice(0, 1 + (i % 2)),
          agent_id: agents.length > 0 && i % 2 ? of(agents, s.pick) : null,
          expires_at: i % 3 ? null : new Date(T0 + 86_400_000).toISOString(),
          signing: i % 2 === 0,
          ...(i % 4 === 0 ? { signing_secret_sealed: `sealed_${i}` } : {}),
          claimed: true,
          rolled_from: null,
          created_at: at,
        });
      }
      const key_id = of(keys, s.pick);
      if (s.change === 'update') return emit('KeyUpdated', { key_id, name: `key ${i}`, ...(i % 2 ? { scopes: ['*'] } : { expires_at: null }), updated_at: at });
      if (s.change === 'roll') return emit('KeyRolled', { key_id, new_key_id: `key_new_${i}`, expires_at: new Date(T0 + i * 1_000 + 86_400_000).toISOString(), rolled_at: at });
      if (s.change === 'revoke') return emit('KeyRevoked', { key_id, reason: 'requested', revoked_at: at });
      return emit('KeyLinked', { key_id, from_org_id: orgs[0], to_org_id: of(orgs, s.pick + 1), linked_at: at });
    }
    if (s.change === 'request' || devices.length === 0) {
      const device_id = `dev_${i}`;
      devices.push(device_id);
      return emit('DeviceAuthorizationRequested', {
        device_id,
        device_code_hash: `code_${i}`,
        user_code: `UC-${i}`,
        agent_name: `device ${i}`,
        scopes: ['spend:write'],
        interval: 5,
        expires_at: new Date(T0 + 900_000).toISOString(),
        requested_at: at,
      });
    }
    const device_id = of(devices, s.pick);
    if (s.change === 'approve') return emit('DeviceAuthorizationApproved', { device_id, org_id: of(orgs, s.pick), environment: 'test', agent_id: agents[0] ?? null, approved_at: at });
    if (s.change === 'deny') return emit('DeviceAuthorizationDenied', { device_id, org_id: of(orgs, s.pick), denied_at: at });
    if (s.change === 'slow') return emit('DevicePollingSlowed', { device_id, interval: 10, slowed_at: at });
    return emit('DeviceAuthorizationCompleted', { device_id, key_id: keys[0] ?? null, completed_at: at });
  });
  return events;
}

describe('keys projection: a batch of N events equals N single-event projections (real Postgres)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;

  beforeAll(async () => {
    database = await createTestDatabase('keys_projection_int');
    db = createDb(database.url, { poolSize: 2 });
    await migrateToLatest(db, [keysMigrations]);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const projection = { tables: KEYS_READ_MODEL_TABLES, project: projectKeyEvents, orderBy: 'id' };
  const projectInChunks = (events: readonly ProjectedEvent[], sizes: readonly number[], options: { lockRows: boolean }) =>
    projectChunks(db, projection, events, sizes, options);

  it('gives the same rows whether the events come one by one (live, rows locked), all at once, or in any chunks (replay)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 8 }), async (steps, sizes) => {
        const events = keysLog(steps);
        const single = await projectInChunks(events, events.map(() => 1), { lockRows: true });
        expect(await projectInChunks(events, [], { lockRows: false })).toEqual(single);
        expect(await projectInChunks(events, sizes, { lockRows: false })).toEqual(single);
        expect(single['orgs']).toHaveLength(events.filter((e) => e.type === 'OrgCreated').length);
        expect(single['api_keys']).toHaveLength(events.filter((e) => e.type === 'KeyCreated').length);
      }),
      { numRuns: 15 },
    );
  }, 300_000);

  it('writes parents before children in one statement: an org, its agent and the agent’s key in one batch, with foreign keys', async () => {
    const events = keysLog([{ kind: 'org', plan: 'growth' }, { kind: 'agent', pick: 0, change: 'create' }, { kind: 'key', pick: 0, change: 'create' }, { kind: 'key', pick: 0, change: 'create' }]);
    await db.transaction().execute((trx) => projectKeyEvents(trx, events));
    const keys = await sql<{ id: string; agent_id: string | null; org_id: string }>`select id, agent_id, org_id from api_keys order by id`.execute(db);
    expect(keys.rows).toEqual([
      { id: 'key_2', agent_id: null, org_id: 'org_0' },
      { id: 'key_3', agent_id: 'agt_1', org_id: 'org_0' },
    ]);
  });
});
