import { Command } from 'commander';
import { Keyledger, KeyledgerError } from '@keyledger/sdk';
import { jsonWanted, print } from './output';

interface GlobalOptions {
  url: string;
  apiKey?: string;
  operatorToken?: string;
  signingSecret?: string;
  json?: boolean;
}

const KEY_COLUMNS = ['id', 'name', 'key_prefix', 'last4', 'environment', 'scopes', 'status', 'agent_id', 'expires_at', 'last_used_at'];
const AGENT_COLUMNS = ['id', 'name', 'environment', 'status', 'paused_until', 'created_at'];

/**
 * The API commands of the `keyledger` CLI: `orgs`, `keys`, `agents`. Connection settings come from
 * flags or the environment (KEYLEDGER_URL, KEYLEDGER_API_KEY, KEYLEDGER_OPERATOR_TOKEN,
 * KEYLEDGER_SIGNING_SECRET); every call goes through the SDK, so POSTs are idempotent and retried.
 */
export function registerApiCommands(program: Command): void {
  program
    .option('--url <url>', 'gateway URL (KEYLEDGER_URL)', process.env['KEYLEDGER_URL'] ?? 'http://127.0.0.1:3000')
    .option('--api-key <key>', 'API key (KEYLEDGER_API_KEY)', process.env['KEYLEDGER_API_KEY'])
    .option('--operator-token <token>', 'operator token (KEYLEDGER_OPERATOR_TOKEN)', process.env['KEYLEDGER_OPERATOR_TOKEN'])
    .option('--signing-secret <secret>', 'signing secret of a signing key (KEYLEDGER_SIGNING_SECRET)', process.env['KEYLEDGER_SIGNING_SECRET'])
    .option('--json', 'print JSON (the default when stdout is not a terminal)');

  const client = () => {
    const o = program.opts<GlobalOptions>();
    return new Keyledger({ baseUrl: o.url, apiKey: o.apiKey, operatorToken: o.operatorToken, signingSecret: o.signingSecret });
  };
  const out = () => program.opts<GlobalOptions>();

  const orgs = program.command('orgs').description('organizations (operator)');
  orgs
    .command('create <name>')
    .option('--plan <plan>', 'starter | growth | business | enterprise')
    .option('--live', 'make the first key a live key')
    .action(async (name: string, o: { plan?: 'starter' | 'growth' | 'business' | 'enterprise'; live?: boolean }) => {
      const created = await client().orgs.create({ name, ...(o.plan ? { plan: o.plan } : {}) }, { environment: o.live ? 'live' : undefined });
      print(created, out());
      if (!jsonWanted(out())) process.stderr.write('The key is shown this once: store it now.\n');
    });

  const keys = program.command('keys').description('API keys');
  keys
    .command('create')
    .option('--name <name>')
    .option('--scopes <scopes>', 'comma-separated, e.g. keys:read,agents:read')
    .option('--agent <agent_id>')
    .option('--expires-at <iso>')
    .option('--env <environment>', 'live | test')
    .option('--signing', 'require signed requests')
    .action(async (o: { name?: string; scopes?: string; agent?: string; expiresAt?: string; env?: 'live' | 'test'; signing?: boolean }) => {
      const created = await client().apiKeys.create({
        name: o.name,
        scopes: o.scopes ? (o.scopes.split(',') as never) : undefined,
        agent_id: o.agent,
        expires_at: o.expiresAt,
        environment: o.env,
        signing: o.signing,
      });
      print(created, out());
    });
  keys
    .command('list')
    .option('--status <status>')
    .option('--agent <agent_id>')
    .option('--limit <n>', 'page size (1-100)', '100')
    .action(async (o: { status?: 'active' | 'expired' | 'revoked'; agent?: string; limit: string }) => {
      const page = await client().apiKeys.list({ status: o.status, agent_id: o.agent, limit: Number(o.limit) });
      print(jsonWanted(out()) ? page : page.items, out(), KEY_COLUMNS);
    });
  keys.command('revoke <key_id>').action(async (id: string) => print(await client().apiKeys.revoke(id), out(), KEY_COLUMNS));
  keys
    .command('roll <key_id>')
    .option('--grace <seconds>', 'seconds the old key keeps working', '86400')
    .action(async (id: string, o: { grace: string }) => print(await client().apiKeys.roll(id, { grace_period_seconds: Number(o.grace) }), out()));

  const agents = program.command('agents').description('agents');
  agents
    .command('create <name>')
    .option('--metadata <json>', 'JSON object')
    .action(async (name: string, o: { metadata?: string }) => {
      print(await client().agents.create({ name, ...(o.metadata ? { metadata: JSON.parse(o.metadata) } : {}) }), out(), AGENT_COLUMNS);
    });
  agents
    .command('list')
    .option('--limit <n>', 'page size (1-100)', '100')
    .action(async (o: { limit: string }) => {
      const page = await client().agents.list({ limit: Number(o.limit) });
      print(jsonWanted(out()) ? page : page.items, out(), AGENT_COLUMNS);
    });
  agents
    .command('pause <agent_id>')
    .option('--for <duration>', '15m | 30m | 1h | 4h | indefinite', 'indefinite')
    .action(async (id: string, o: { for: '15m' | '30m' | '1h' | '4h' | 'indefinite' }) => print(await client().agents.pause(id, o.for), out(), AGENT_COLUMNS));
  agents.command('resume <agent_id>').action(async (id: string) => print(await client().agents.resume(id), out(), AGENT_COLUMNS));
  agents.command('revoke <agent_id>').action(async (id: string) => print(await client().agents.revoke(id), out(), AGENT_COLUMNS));
}

/** One line for an API error: its code and message, and the request id to quote to support. */
export function describeError(error: unknown): string {
  if (error instanceof KeyledgerError) return `${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`;
  return (error as Error)?.message ?? String(error);
}
