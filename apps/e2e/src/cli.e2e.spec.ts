import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, Stack } from '@keyledger/testing';
import { ApiClient } from './client';

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'dist/apps/cli/main.js');

/** The `keyledger` CLI as an operator or a script runs it: a separate process, env or flags for config. */
describe('keyledger CLI (e2e)', () => {
  let stack: Stack;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    stack = await Stack.start({ label: 'cli' });
    env = { ...process.env, KEYLEDGER_URL: stack.gatewayUrl(), KEYLEDGER_OPERATOR_TOKEN: stack.operatorToken };
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    const { stdout } = await run(process.execPath, [CLI, ...args], { env: { ...env, ...extraEnv } });
    return JSON.parse(stdout);
  }

  it('creates an org, keys and agents, pauses and revokes, printing JSON for scripts', async () => {
    const org = await cli(['orgs', 'create', 'CLI Co', '--json']);
    expect(org.api_key.key).toMatch(/^kl_test_/);
    const asOrg = { KEYLEDGER_API_KEY: org.api_key.key };

    const agent = await cli(['agents', 'create', 'cli-bot', '--metadata', '{"owner":"ops"}'], asOrg);
    expect(agent).toMatchObject({ name: 'cli-bot', metadata: { owner: 'ops' }, status: 'active' });
    const paused = await cli(['agents', 'pause', agent.id, '--for', '1h'], asOrg);
    expect(paused.status).toBe('paused');
    expect((await cli(['agents', 'resume', agent.id], asOrg)).status).toBe('active');

    const key = await cli(['keys', 'create', '--name', 'ci', '--scopes', 'keys:read,agents:read', '--agent', agent.id], asOrg);
    expect(key).toMatchObject({ name: 'ci', scopes: ['keys:read', 'agents:read'], agent_id: agent.id });
    const listed = await cli(['keys', 'list', '--agent', agent.id], asOrg);
    expect(listed.items.map((k: { id: string }) => k.id)).toEqual([key.id]);
    const rolled = await cli(['keys', 'roll', key.id, '--grace', '0'], asOrg);
    expect(rolled.previous.status).toBe('expired');
    expect((await cli(['keys', 'revoke', rolled.api_key.id], asOrg)).status).toBe('revoked');
    expect((await cli(['agents', 'revoke', agent.id], asOrg)).status).toBe('revoked');
    const agents = await cli(['agents', 'list'], asOrg);
    expect(agents.items).toEqual([expect.objectContaining({ id: agent.id, status: 'revoked' })]);
  });

  it('prints a table on a terminal and an API error in one line with its code', async () => {
    const org = await cli(['orgs', 'create', 'Table Co']);
    // `script` gives the CLI a real pseudo-terminal, as when a person runs it.
    const { stdout } = await run('script', ['-qec', `${process.execPath} ${CLI} agents list`, '/dev/null'], {
      env: { ...env, KEYLEDGER_API_KEY: org.api_key.key },
    });
    expect(stdout).toContain('(none)');
    await cli(['agents', 'create', 'tabled'], { KEYLEDGER_API_KEY: org.api_key.key });
    const table = await run('script', ['-qec', `${process.execPath} ${CLI} agents list`, '/dev/null'], {
      env: { ...env, KEYLEDGER_API_KEY: org.api_key.key },
    });
    expect(table.stdout).toMatch(/ID\s+NAME\s+ENVIRONMENT\s+STATUS/);
    expect(table.stdout).toMatch(/agt_\w+\s+tabled\s+test\s+active/);

    const failed = await run(process.execPath, [CLI, 'agents', 'pause', 'agt_nope'], { env: { ...env, KEYLEDGER_API_KEY: org.api_key.key } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(/^keyledger: NOT_FOUND: .* \(request req_\w+\)\n$/);
  });

  it('sets and shows budgets and lists spends, as JSON for scripts and as tables on a terminal', async () => {
    const org = await cli(['orgs', 'create', 'Budget Co']);
    const asOrg = { KEYLEDGER_API_KEY: org.api_key.key };
    const agent = await cli(['agents', 'create', 'shopper'], asOrg);
    const api = new ApiClient(stack.gatewayUrl(), { 'x-api-key': org.api_key.key });
    expect((await api.post('/v1/wallet/deposits', { amount: 10_000, currency: 'usd' })).status).toBe(201);

    const set = await cli(['budget', 'set', agent.id, '--currency', 'usd', '--fixed-limit', '1000', '--limit', 'daily=300', '--limit', 'per_transaction=250'], asOrg);
    expect(set).toMatchObject({ agent_id: agent.id, currency: 'usd', remaining: 250, limiting_factor: 'per_transaction' });
    expect(set.policy).toMatchObject({ fixed_limit: 1000, limits: [{ interval: 'daily', amount: 300 }, { interval: 'per_transaction', amount: 250 }] });

    const spent = await api.post('/v1/spends', { agent_id: agent.id, amount: 200, currency: 'usd', merchant: 'books' });
    expect(spent.status).toBe(201);
    expect((await api.post('/v1/spends', { agent_id: agent.id, amount: 200, currency: 'usd' })).body.error.code).toBe('BUDGET_EXCEEDED');

    // Config from flags instead of the environment: the agent's own key shows its own budget.
    const agentKey = await cli(['keys', 'create', '--agent', agent.id, '--scopes', 'spend:read'], asOrg);
    const own = await cli(['budget', 'show', '--api-key', agentKey.key, '--url', stack.gatewayUrl(), '--json'], { KEYLEDGER_API_KEY: '', KEYLEDGER_URL: 'http://127.0.0.1:1' });
    expect(own).toMatchObject({ agent_id: agent.id, remaining: 100, limiting_factor: 'daily', spent: 200 });
    expect(own.components.daily).toEqual({ limit: 300, used: 200, remaining: 100 });
    expect(await cli(['budget', 'show', agent.id], asOrg)).toEqual(own);

    const listed = await cli(['spends', 'list', '--agent', agent.id], asOrg);
    expect(listed.items).toEqual([expect.objectContaining({ id: spent.body.data.id, amount: 200, status: 'captured', merchant: 'books' })]);
    expect((await cli(['spends', 'list', '--status', 'authorized'], asOrg)).items).toEqual([]);

    const tty = (args: string) => run('script', ['-qec', `${process.execPath} ${CLI} ${args}`, '/dev/null'], { env: { ...env, ...asOrg } });
    const budgetTable = (await tty(`budget show ${agent.id}`)).stdout;
    expect(budgetTable).toContain(`agent ${agent.id}: 100 usd remaining (limited by daily)`);
    expect(budgetTable).toMatch(/COMPONENT\s+LIMIT\s+USED\s+REMAINING/);
    expect(budgetTable).toMatch(/daily\s+300\s+200\s+100/);
    expect(budgetTable).toMatch(/fixed_limit\s+1000\s+200\s+800/);
    const spendTable = (await tty('spends list')).stdout;
    expect(spendTable).toMatch(/ID\s+AGENT_ID\s+AMOUNT\s+CAPTURED_AMOUNT\s+CURRENCY\s+STATUS\s+MERCHANT/);
    expect(spendTable).toMatch(new RegExp(`${spent.body.data.id}\\s+${agent.id}\\s+200\\s+200\\s+usd\\s+captured\\s+books`));

    const bad = await run(process.execPath, [CLI, 'budget', 'set', agent.id, '--currency', 'usd', '--limit', 'hourly=5'], { env: { ...env, ...asOrg } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad).toMatchObject({ code: 1 });
    expect((bad as { stderr: string }).stderr).toContain('expected <interval>=<amount>');
  });
});
