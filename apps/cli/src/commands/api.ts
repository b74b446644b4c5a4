import { Command, InvalidArgumentError } from 'commander';
import { Budget, Keyledger, KeyledgerError, SpendStatus } from '@keyledger/sdk';
import { wholeNumber } from './options';
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
const SPEND_COLUMNS = ['id', 'agent_id', 'amount', 'captured_amount', 'currency', 'status', 'merchant', 'created_at'];
const BUDGET_INTERVALS = ['per_transaction', 'daily', 'weekly', 'monthly', 'all_time'] as const;

/** `--limit daily=500` (repeatable): one interval limit of a budget. */
function intervalLimit(value: string, previous: { interval: (typeof BUDGET_INTERVALS)[number]; amount: number }[] = []) {
  const [interval, amount] = value.split('=');
  if (!BUDGET_INTERVALS.includes(interval as never) || !/^\d+$/.test(amount ?? '')) {
    throw new InvalidArgumentError(`expected <interval>=<amount> with interval one of ${BUDGET_INTERVALS.join(', ')}`);
  }
  return [...previous, { interval: interval as (typeof BUDGET_INTERVALS)[number], amount: Number(amount) }];
}

const minorUnits = wholeNumber('minor units');

function percent(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number from 0 to 100');
  return n;
}

/** A budget for people: one line of totals, then each component and what is left of it. */
function printBudget(budget: Budget, options: { json?: boolean }): void {
  if (jsonWanted(options)) return print(budget, options);
  const currency = budget.currency ?? '';
  process.stdout.write(
    `agent ${budget.agent_id}: ${budget.remaining} ${currency} remaining (limited by ${budget.limiting_factor ?? '-'}); ` +
      `spent ${budget.spent}, held ${budget.held}, wallet available ${budget.wallet_available}\n`,
  );
  const rows = Object.entries(budget.components).map(([component, c]) => ({ component, ...c }));
  print(rows, options, ['component', 'limit', 'used', 'remaining']);
}

/**
 * The API commands of the `keyledger` CLI: `orgs`, `keys`, `agents`, `budget`, `spends`. Connection settings come from
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

  const budget = program.command('budget').description("agents' budgets");
  budget
    .command('set <agent_id>')
    .description('replace the agent’s budget (settings left out are removed)')
    .requiredOption('--currency <code>', 'e.g. usd')
    .option('--fixed-limit <amount>', 'most the agent may spend in total (minor units)', minorUnits)
    .option('--percent <p>', "at most this percent (0-100) of the wallet's available balance", percent)
    .option('--max-position <amount>', 'cap on open holds (minor units)', minorUnits)
    .option('--limit <interval=amount>', `per window, repeatable: ${BUDGET_INTERVALS.join(' | ')}`, intervalLimit)
    .option('--require-attestation', 'every spend must carry an attestation')
    .action(
      async (
        agentId: string,
        o: { currency: string; fixedLimit?: number; percent?: number; maxPosition?: number; limit?: { interval: (typeof BUDGET_INTERVALS)[number]; amount: number }[]; requireAttestation?: boolean },
      ) => {
        const set = await client().budgets.set(agentId, {
          currency: o.currency,
          ...(o.fixedLimit !== undefined ? { fixed_limit: o.fixedLimit } : {}),
          ...(o.percent !== undefined ? { budget_percent: o.percent } : {}),
          ...(o.maxPosition !== undefined ? { max_position_value: o.maxPosition } : {}),
          ...(o.limit ? { limits: o.limit } : {}),
          ...(o.requireAttestation ? { require_attestation: true } : {}),
        });
        printBudget(set, out());
      },
    );
  budget
    .command('show [agent_id]')
    .description('what the agent may still spend; without an agent id, the budget of the agent the API key belongs to')
    .action(async (agentId: string | undefined) => printBudget(agentId ? await client().budgets.get(agentId) : await client().budgets.mine(), out()));

  const spends = program.command('spends').description('spend history');
  spends
    .command('list')
    .option('--agent <agent_id>')
    .option('--status <status>', 'authorized | captured | released | refunded | expired')
    .option('--limit <n>', 'page size (1-100)', '100')
    .option('--cursor <cursor>', 'next_cursor of the previous page')
    .action(async (o: { agent?: string; status?: SpendStatus; limit: string; cursor?: string }) => {
      const page = await client().spends.list({ agent_id: o.agent, status: o.status, limit: Number(o.limit), cursor: o.cursor });
      print(jsonWanted(out()) ? page : page.items, out(), SPEND_COLUMNS);
    });
}

/** One line for an API error: its code and message, and the request id to quote to support. */
export function describeError(error: unknown): string {
  if (error instanceof KeyledgerError) return `${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`;
  return (error as Error)?.message ?? String(error);
}
