import { Kysely } from 'kysely';
import { connect, NatsConnection } from 'nats';
import pino from 'pino';
import type { CommandMeta } from '@keyledger/contracts';
import { createDb, EventStore, eventStoreMigrations, migrateToLatest } from '@keyledger/event-store';
import { keysMigrations, projectKeyEvents } from '@keyledger/keys-data-access';
import { CommandRunner } from '@keyledger/nest';
import { createTestDatabase, TestDatabase, testNatsUrl } from '@keyledger/testing';
import { AgentsService } from './agents.service';
import { KeyRegistryService } from './key-registry.service';

const meta: CommandMeta = { request_id: 'req_test', actor_key_id: null, agent_id: null, ip: null, idempotency_key: null };

/** The key-registry's services over a fresh database and real NATS, for one describe block. */
function keyRegistry(label: string) {
  const ctx = {} as { database: TestDatabase; db: Kysely<any>; nats: NatsConnection; agents: AgentsService; keys: KeyRegistryService };
  beforeAll(async () => {
    ctx.database = await createTestDatabase(label);
    ctx.db = createDb(ctx.database.url);
    await migrateToLatest(ctx.db, [eventStoreMigrations, keysMigrations]);
    ctx.nats = await connect({ servers: testNatsUrl() });
    const runner = new CommandRunner(ctx.db, new EventStore(ctx.db), ctx.nats, pino({ level: 'silent' }), projectKeyEvents);
    ctx.agents = new AgentsService(runner);
    ctx.keys = new KeyRegistryService(runner);
  });
  afterAll(async () => {
    await ctx.nats?.close();
    await ctx.db?.destroy();
    await ctx.database?.drop();
  });
  return ctx;
}

describe('automatic resume of paused agents (real Postgres and NATS)', () => {
  const ctx = keyRegistry('auto_resume');

  it('records AgentResumed when the pause time has passed, once, and not before', async () => {
    const t0 = new Date('2026-11-22T10:00:00.000Z');
    const { org, api_key } = await ctx.keys.createOrg({ name: 'Clockwork', environment: 'test' }, meta, t0);
    const caller = { org_id: org.id, key_id: api_key.id, environment: 'test' as const, scopes: ['*' as const], agent_id: null };
    const agent = await ctx.agents.createAgent({ caller, name: 'sleeper' }, meta, t0);
    const paused = await ctx.agents.pauseAgent({ caller, agent_id: agent.id, duration: '15m' }, meta, t0);
    expect(paused.paused_until).toBe('2026-11-22T10:15:00.000Z');

    expect(await ctx.agents.resumeDuePauses(new Date('2026-11-22T10:14:59.000Z'))).toBe(0);
    expect(await ctx.agents.resumeDuePauses(new Date('2026-11-22T10:15:01.000Z'))).toBe(1);
    expect(await ctx.agents.resumeDuePauses(new Date('2026-11-22T10:16:00.000Z'))).toBe(0);

    const events = await ctx.db.selectFrom('events').select(['type', 'data']).where('stream', '=', `agent-${agent.id}`).orderBy('stream_version').execute();
    expect(events.map((e) => e.type)).toEqual(['AgentCreated', 'AgentPaused', 'AgentResumed']);
    expect(events[2].data).toMatchObject({ automatic: true, resumed_at: '2026-11-22T10:15:01.000Z' });
    const row = await ctx.db.selectFrom('agents').select(['status', 'paused_until']).where('id', '=', agent.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'active', paused_until: null });
  });

  it('never resumes an indefinite pause', async () => {
    const t0 = new Date('2026-11-22T10:00:00.000Z');
    const { org, api_key } = await ctx.keys.createOrg({ name: 'Forever', environment: 'test' }, meta, t0);
    const caller = { org_id: org.id, key_id: api_key.id, environment: 'test' as const, scopes: ['*' as const], agent_id: null };
    const agent = await ctx.agents.createAgent({ caller, name: 'held' }, meta, t0);
    await ctx.agents.pauseAgent({ caller, agent_id: agent.id, duration: 'indefinite' }, meta, t0);
    await ctx.agents.resumeDuePauses(new Date('2099-01-01T00:00:00.000Z'));
    const row = await ctx.db.selectFrom('agents').select(['status']).where('id', '=', agent.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('paused');
  });
});

describe('a retried command whose answer was lost (real Postgres and NATS)', () => {
  const ctx = keyRegistry('retried_command');

  it("is not carried out twice: an agent's creation answers the first agent, a key's (plaintext lost) CONFLICT", async () => {
    const { org, api_key } = await ctx.keys.createOrg({ name: 'Retry Inc', environment: 'test' }, meta);
    const caller = { org_id: org.id, key_id: api_key.id, environment: 'test' as const, scopes: ['*' as const], agent_id: null };
    const retried = { ...meta, idempotency_key: 'create-agent-once' };
    const first = await ctx.agents.createAgent({ caller, name: 'once' }, retried);
    await expect(ctx.agents.createAgent({ caller, name: 'once' }, { ...retried, request_id: 'req_retry' })).resolves.toEqual(first);
    await expect(ctx.keys.createKey({ caller, name: 'once' }, { ...meta, idempotency_key: 'create-key-once' })).resolves.toMatchObject({ name: 'once' });
    await expect(ctx.keys.createKey({ caller, name: 'once' }, { ...meta, idempotency_key: 'create-key-once' })).rejects.toMatchObject({ code: 'CONFLICT' });
    const counts = await ctx.db
      .selectFrom('events')
      .select(['type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('org_id', '=', org.id)
      .groupBy('type')
      .execute();
    expect(Object.fromEntries(counts.map((c) => [c.type, Number(c.n)]))).toEqual({ OrgCreated: 1, KeyCreated: 2, AgentCreated: 1 });

    // Another org may use the same key for its own request.
    const other = await ctx.keys.createOrg({ name: 'Other Inc', environment: 'test' }, meta);
    const otherCaller = { ...caller, org_id: other.org.id, key_id: other.api_key.id };
    await expect(ctx.agents.createAgent({ caller: otherCaller, name: 'theirs' }, retried)).resolves.toMatchObject({ name: 'theirs' });
  });

  it('a retried pause does not pause again (which would move paused_until): refused with CONFLICT', async () => {
    const { org, api_key } = await ctx.keys.createOrg({ name: 'Pause Retry Inc', environment: 'test' }, meta);
    const caller = { org_id: org.id, key_id: api_key.id, environment: 'test' as const, scopes: ['*' as const], agent_id: null };
    const agent = await ctx.agents.createAgent({ caller, name: 'pausable' }, meta);
    const retried = { ...meta, idempotency_key: 'pause-once' };
    const t0 = new Date('2026-11-22T10:00:00.000Z');
    const paused = await ctx.agents.pauseAgent({ caller, agent_id: agent.id, duration: '15m' }, retried, t0);
    await expect(ctx.agents.pauseAgent({ caller, agent_id: agent.id, duration: '15m' }, retried, new Date(t0.getTime() + 60_000))).rejects.toMatchObject({ code: 'CONFLICT' });
    const pauses = await ctx.db.selectFrom('events').select(['type', 'data']).where('org_id', '=', org.id).where('type', '=', 'AgentPaused').execute();
    expect(pauses.map((e) => (e.data as { paused_until: string }).paused_until)).toEqual([paused.paused_until]);
  });

  it('a retried key update is not applied again over a later change: it answers the key as it is', async () => {
    const { org, api_key } = await ctx.keys.createOrg({ name: 'Update Retry Inc', environment: 'test' }, meta);
    const caller = { org_id: org.id, key_id: api_key.id, environment: 'test' as const, scopes: ['*' as const], agent_id: null };
    const key = await ctx.keys.createKey({ caller, name: 'first' }, meta);
    const retried = { ...meta, idempotency_key: 'update-key-once' };
    await ctx.keys.updateKey({ caller, key_id: key.id, name: 'second' }, retried);
    await ctx.keys.updateKey({ caller, key_id: key.id, name: 'third' }, meta);
    await expect(ctx.keys.updateKey({ caller, key_id: key.id, name: 'second' }, { ...retried, request_id: 'req_retry' })).resolves.toMatchObject({ id: key.id, name: 'third' });
    const updates = await ctx.db.selectFrom('events').select('data').where('org_id', '=', org.id).where('type', '=', 'KeyUpdated').orderBy('position').execute();
    expect(updates.map((e) => (e.data as { name: string }).name)).toEqual(['second', 'third']);
    // The same Idempotency-Key on another key is another request.
    await expect(ctx.keys.updateKey({ caller, key_id: api_key.id, name: 'root' }, retried)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('a retried link answers the key the first run linked, instead of "no unclaimed key"', async () => {
    const { org, api_key } = await ctx.keys.createOrg({ name: 'Link Retry Inc', environment: 'test' }, meta);
    const caller = { org_id: org.id, key_id: api_key.id, environment: 'test' as const, scopes: ['*' as const], agent_id: null };
    const unclaimed = await ctx.keys.createSelfServeKey({ name: 'found on a laptop' }, meta);
    const retried = { ...meta, idempotency_key: 'link-key-once' };
    const linked = await ctx.keys.linkKey({ caller, key: unclaimed.key }, retried);
    expect(linked).toMatchObject({ id: unclaimed.id });
    expect((await ctx.db.selectFrom('api_keys').select('org_id').where('id', '=', unclaimed.id).executeTakeFirstOrThrow()).org_id).toBe(org.id);
    await expect(ctx.keys.linkKey({ caller, key: unclaimed.key }, { ...retried, request_id: 'req_retry' })).resolves.toEqual(linked);
    // Without the key, the retry is a new request and the key is no longer unclaimed.
    await expect(ctx.keys.linkKey({ caller, key: unclaimed.key }, meta)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const links = await ctx.db.selectFrom('events').select('type').where('type', '=', 'KeyLinked').where('org_id', '=', org.id).execute();
    expect(links).toHaveLength(1);
  });
});
