import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, Stack } from '@keyledger/testing';

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
});
