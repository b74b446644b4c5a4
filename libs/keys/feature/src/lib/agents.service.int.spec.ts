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

describe('automatic resume of paused agents (real Postgres and NATS)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  let nats: NatsConnection;
  let agents: AgentsService;
  let keys: KeyRegistryService;

  beforeAll(async () => {
    database = await createTestDatabase('auto_resume');
    db = createDb(database.url);
    await migrateToLatest(db, [eventStoreMigrations, keysMigrations]);
    nats = await connect({ servers: testNatsUrl() });
    const runner = new CommandRunner(db, new EventStore(db), nats, pino({ level: 'silent' }), projectKeyEvents);
    agents = new AgentsService(runner);
    keys = new KeyRegistryService(runner);
  });

  afterAll(async () => {
    await nats?.close();
    await db?.destroy();
    await database?.drop();
  });

  it('records AgentResumed when the pause time has passed, once, and not before', async () => {
    const t0 = new Date('2026-11-22T10:00:00.000Z');
    const { org, api_key } = await keys.createOrg({ name: 'Clockwork', environment: 'test' }, meta, t0);
    const caller = { org_id: org.id, key_id: api_key.id, environment: 'test' as const, scopes: ['*' as const], agent_id: null };
    const agent = await agents.createAgent({ caller, name: 'sleeper' }, meta, t0);
    const paused = await agents.pauseAgent({ caller, agent_id: agent.id, duration: '15m' }, meta, t0);
    expect(paused.paused_until).toBe('2026-11-22T10:15:00.000Z');

    expect(await agents.resumeDuePauses(new Date('2026-11-22T10:14:59.000Z'))).toBe(0);
    expect(await agents.resumeDuePauses(new Date('2026-11-22T10:15:01.000Z'))).toBe(1);
    expect(await agents.resumeDuePauses(new Date('2026-11-22T10:16:00.000Z'))).toBe(0);

    const events = await db.selectFrom('events').select(['type', 'data']).where('stream', '=', `agent-${agent.id}`).orderBy('stream_version').execute();
    expect(events.map((e) => e.type)).toEqual(['AgentCreated', 'AgentPaused', 'AgentResumed']);
    expect(events[2].data).toMatchObject({ automatic: true, resumed_at: '2026-11-22T10:15:01.000Z' });
    const row = await db.selectFrom('agents').select(['status', 'paused_until']).where('id', '=', agent.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'active', paused_until: null });
  });

  it('never resumes an indefinite pause', async () => {
    const t0 = new Date('2026-11-22T10:00:00.000Z');
    const { org, api_key } = await keys.createOrg({ name: 'Forever', environment: 'test' }, meta, t0);
    const caller = { org_id: org.id, key_id: api_key.id, environment: 'test' as const, scopes: ['*' as const], agent_id: null };
    const agent = await agents.createAgent({ caller, name: 'held' }, meta, t0);
    await agents.pauseAgent({ caller, agent_id: agent.id, duration: 'indefinite' }, meta, t0);
    await agents.resumeDuePauses(new Date('2099-01-01T00:00:00.000Z'));
    const row = await db.selectFrom('agents').select(['status']).where('id', '=', agent.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('paused');
  });
});

describe('a retried command whose answer was lost (real Postgres and NATS)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  let nats: NatsConnection;
  let agents: AgentsService;
  let keys: KeyRegistryService;

  beforeAll(async () => {
    database = await createTestDatabase('retried_command');
    db = createDb(database.url);
    await migrateToLatest(db, [eventStoreMigrations, keysMigrations]);
    nats = await connect({ servers: testNatsUrl() });
    const runner = new CommandRunner(db, new EventStore(db), nats, pino({ level: 'silent' }), projectKeyEvents);
    agents = new AgentsService(runner);
    keys = new KeyRegistryService(runner);
  });

  afterAll(async () => {
    await nats?.close();
    await db?.destroy();
    await database?.drop();
  });

  it('is not carried out twice: the same Idempotency-Key in the same org is refused with CONFLICT', async () => {
    const { org, api_key } = await keys.createOrg({ name: 'Retry Inc', environment: 'test' }, meta);
    const caller = { org_id: org.id, key_id: api_key.id, environment: 'test' as const, scopes: ['*' as const], agent_id: null };
    const retried = { ...meta, idempotency_key: 'create-agent-once' };
    await agents.createAgent({ caller, name: 'once' }, retried);
    await expect(agents.createAgent({ caller, name: 'once' }, { ...retried, request_id: 'req_retry' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(keys.createKey({ caller, name: 'once' }, { ...meta, idempotency_key: 'create-key-once' })).resolves.toMatchObject({ name: 'once' });
    await expect(keys.createKey({ caller, name: 'once' }, { ...meta, idempotency_key: 'create-key-once' })).rejects.toMatchObject({ code: 'CONFLICT' });
    const counts = await db
      .selectFrom('events')
      .select(['type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('org_id', '=', org.id)
      .groupBy('type')
      .execute();
    expect(Object.fromEntries(counts.map((c) => [c.type, Number(c.n)]))).toEqual({ OrgCreated: 1, KeyCreated: 2, AgentCreated: 1 });

    // Another org may use the same key for its own request.
    const other = await keys.createOrg({ name: 'Other Inc', environment: 'test' }, meta);
    const otherCaller = { ...caller, org_id: other.org.id, key_id: other.api_key.id };
    await expect(agents.createAgent({ caller: otherCaller, name: 'theirs' }, retried)).resolves.toMatchObject({ name: 'theirs' });
  });
});
