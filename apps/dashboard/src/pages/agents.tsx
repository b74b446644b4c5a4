import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, describeError, withQuery, type ApiList } from '../api';
import { ConfirmDialog, ErrorText, Notice, StatusBadge, useAction, useLoad } from '../components';
import { FACTOR_LABELS, formatDate, formatMoney, parseMoney, usedPercent } from '../format';
import type { AgentView, BudgetView } from '../types';

const PAUSES = [
  { duration: '15m', label: '15 minutes' },
  { duration: '30m', label: '30 minutes' },
  { duration: '1h', label: '1 hour' },
  { duration: '4h', label: '4 hours' },
  { duration: 'indefinite', label: 'Until resumed' },
] as const;

interface AgentRow {
  agent: AgentView;
  budget: BudgetView | null;
  budgetError: unknown;
}

export function AgentsPage() {
  const agents = useLoad(loadAgents, []);
  const [notice, setNotice] = useState<string | null>(null);
  const done = (message: string) => {
    setNotice(message);
    agents.reload();
  };
  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Manage agents</h1>
      {notice && <Notice>{notice}</Notice>}
      <CreateAgent onCreated={(agent) => done(`Created agent ${agent.name}. Set a budget before it can spend.`)} />
      <div class="toolbar">
        <button type="button" onClick={agents.reload} disabled={agents.loading}>
          Refresh
        </button>
      </div>
      <ErrorText error={agents.error} />
      {agents.data && agents.data.length === 0 && <p class="empty">No agents yet.</p>}
      <ul class="cards" aria-label="Agents" aria-busy={agents.loading}>
        {agents.data?.map((row) => (
          <AgentCard key={row.agent.id} row={row} onChanged={done} />
        ))}
      </ul>
    </section>
  );
}

async function loadAgents(): Promise<AgentRow[]> {
  const list = await api<ApiList<AgentView>>('GET', withQuery('/v1/agents', { limit: 100 }));
  return Promise.all(
    list.items.map(async (agent) => {
      try {
        return { agent, budget: await api<BudgetView>('GET', `/v1/agents/${agent.id}/budget`), budgetError: null };
      } catch (error) {
        return { agent, budget: null, budgetError: error };
      }
    }),
  );
}

function AgentCard({ row, onChanged }: { row: AgentRow; onChanged: (message: string) => void }) {
  const { agent, budget } = row;
  const [pause, setPause] = useState<string>('15m');
  const [editing, setEditing] = useState(false);
  const [revoking, setRevoking] = useState(false);
  const action = useAction();
  const headingId = `agent-${agent.id}`;

  const doPause = () =>
    action.run(async () => {
      const paused = await api<AgentView>('POST', `/v1/agents/${agent.id}/pause`, { duration: pause });
      onChanged(paused.paused_until ? `Paused ${agent.name} until ${formatDate(paused.paused_until)}.` : `Paused ${agent.name} until you resume it.`);
    });
  const doResume = () =>
    action.run(async () => {
      await api<AgentView>('POST', `/v1/agents/${agent.id}/resume`);
      onChanged(`Resumed ${agent.name}.`);
    });
  const doRevoke = () =>
    action.run(async () => {
      await api<AgentView>('POST', `/v1/agents/${agent.id}/revoke`);
      setRevoking(false);
      onChanged(`Revoked ${agent.name}: its keys are revoked and its open holds released.`);
    });

  return (
    <li class="card" aria-labelledby={headingId} data-agent-id={agent.id}>
      <div class="card-head">
        <h2 id={headingId}>{agent.name}</h2>
        <StatusBadge status={agent.status} />
      </div>
      <p class="sub">
        <code>{agent.id}</code> · created {formatDate(agent.created_at)}
        {agent.status === 'paused' && <> · paused {agent.paused_until ? `until ${formatDate(agent.paused_until)}` : 'until resumed'}</>}
      </p>
      <BudgetUsage budget={budget} error={row.budgetError} />
      <ErrorText error={action.error} />
      {agent.status !== 'revoked' && (
        <div class="agent-actions">
          {agent.status === 'active' ? (
            <div class="inline">
              <label>
                Pause for
                <select value={pause} onChange={(e) => setPause((e.target as HTMLSelectElement).value)}>
                  {PAUSES.map((p) => (
                    <option key={p.duration} value={p.duration}>
                      {p.label}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" onClick={doPause} disabled={action.busy} aria-label={`Pause ${agent.name}`}>
                Pause
              </button>
            </div>
          ) : (
            <button type="button" onClick={doResume} disabled={action.busy} aria-label={`Resume ${agent.name}`}>
              Resume
            </button>
          )}
          <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing} aria-label={`Set budget of ${agent.name}`}>
            Set budget
          </button>
          <button type="button" class="danger" onClick={() => setRevoking(true)} aria-label={`Revoke ${agent.name}`}>
            Revoke
          </button>
        </div>
      )}
      {editing && <BudgetForm agent={agent} budget={budget} onSaved={() => (setEditing(false), onChanged(`Saved the budget of ${agent.name}.`))} />}
      {revoking && (
        <ConfirmDialog title={`Revoke ${agent.name}?`} confirmLabel="Revoke agent" danger busy={action.busy} error={action.error} onConfirm={doRevoke} onCancel={() => setRevoking(false)}>
          <p>The agent is revoked for good: every key bound to it is revoked and its open holds are released.</p>
        </ConfirmDialog>
      )}
    </li>
  );
}

function BudgetUsage({ budget, error }: { budget: BudgetView | null; error: unknown }) {
  if (error) return <p class="error">Budget: {describeError(error)}</p>;
  if (!budget) return null;
  if (!budget.policy || budget.limiting_factor === 'no_budget') {
    return <p class="sub">No budget set: this agent cannot spend.</p>;
  }
  const currency = budget.currency;
  return (
    <div class="budget">
      <p>
        <strong>{formatMoney(budget.remaining, currency)}</strong> left · limited by{' '}
        <strong data-testid="limiting-factor">{FACTOR_LABELS[budget.limiting_factor ?? ''] ?? budget.limiting_factor ?? '—'}</strong> · spent{' '}
        {formatMoney(budget.spent, currency)}, held {formatMoney(budget.held, currency)}
      </p>
      <ul class="bars">
        {Object.entries(budget.components).map(([factor, component]) => {
          if (!component) return null;
          const percent = usedPercent(component);
          const label = FACTOR_LABELS[factor] ?? factor;
          return (
            <li key={factor} class={factor === budget.limiting_factor ? 'limiting' : ''}>
              <span class="bar-label">
                {label}: {formatMoney(component.used, currency)} of {formatMoney(component.limit, currency)}
              </span>
              <div
                class="bar"
                role="meter"
                aria-label={`${label} used`}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={percent}
                aria-valuetext={`${percent}% used`}
              >
                <div class={`fill ${percent >= 90 ? 'high' : ''}`} style={{ width: `${percent}%` }} />
              </div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

const LIMIT_FIELDS = [
  ['fixed_limit', 'Total limit'],
  ['per_transaction', 'Per transaction'],
  ['daily', 'Per day (UTC)'],
  ['weekly', 'Per week'],
  ['monthly', 'Per month'],
  ['max_position_value', 'Open holds at most'],
] as const;

function BudgetForm({ agent, budget, onSaved }: { agent: AgentView; budget: BudgetView | null; onSaved: () => void }) {
  const policy = budget?.policy ?? null;
  const initialCurrency = policy?.currency ?? 'usd';
  const initial = (field: string): string => {
    const minor = field === 'fixed_limit' ? policy?.fixed_limit : field === 'max_position_value' ? policy?.max_position_value : policy?.limits.find((l) => l.interval === field)?.amount;
    return minor ? formatMoney(minor, initialCurrency).split(' ')[0].replace(/,/g, '') : '';
  };
  const [currency, setCurrency] = useState(initialCurrency);
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(LIMIT_FIELDS.map(([f]) => [f, initial(f)])));
  const [percent, setPercent] = useState(policy?.budget_percent != null ? String(policy.budget_percent) : '');
  const [attestation, setAttestation] = useState(policy?.require_attestation ?? false);
  const action = useAction();
  const prefix = `budget-${agent.id}`;

  const submit = (e: Event) => {
    e.preventDefault();
    return action.run(async () => {
      const amounts: Record<string, number | null> = {};
      const bad: string[] = [];
      for (const [field, label] of LIMIT_FIELDS) {
        const text = values[field].trim();
        if (!text) continue;
        const minor = parseMoney(text, currency);
        if (minor === null) bad.push(label);
        else amounts[field] = minor;
      }
      if (bad.length) throw new ApiError(400, 'VALIDATION_ERROR', `enter a positive amount such as 25.00 for: ${bad.join(', ')}`);
      const body: Record<string, unknown> = {
        currency: currency.trim().toLowerCase(),
        fixed_limit: amounts['fixed_limit'] ?? null,
        max_position_value: amounts['max_position_value'] ?? null,
        budget_percent: percent.trim() ? Number(percent) : null,
        limits: (['per_transaction', 'daily', 'weekly', 'monthly'] as const).filter((i) => amounts[i] !== undefined).map((interval) => ({ interval, amount: amounts[interval] })),
        require_attestation: attestation,
      };
      await api('PUT', `/v1/agents/${agent.id}/budget`, body);
      onSaved();
    });
  };

  return (
    <form class="budget-form" onSubmit={submit} aria-label={`Budget of ${agent.name}`}>
      <label for={`${prefix}-currency`}>Currency</label>
      <input id={`${prefix}-currency`} value={currency} required pattern="[A-Za-z]{3,10}" onInput={(e) => setCurrency((e.target as HTMLInputElement).value)} />
      {LIMIT_FIELDS.map(([field, label]) => (
        <Fragment key={field}>
          <label for={`${prefix}-${field}`}>{label}</label>
          <input
            id={`${prefix}-${field}`}
            inputMode="decimal"
            placeholder="no limit"
            value={values[field]}
            onInput={(e) => setValues({ ...values, [field]: (e.target as HTMLInputElement).value })}
          />
        </Fragment>
      ))}
      <label for={`${prefix}-percent`}>Share of wallet (%)</label>
      <input id={`${prefix}-percent`} inputMode="decimal" placeholder="no limit" value={percent} onInput={(e) => setPercent((e.target as HTMLInputElement).value)} />
      <label class="check wide">
        <input type="checkbox" checked={attestation} onChange={(e) => setAttestation((e.target as HTMLInputElement).checked)} />
        Require an attestation with every spend
      </label>
      <div class="wide">
        <ErrorText error={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
          Save budget
        </button>
      </div>
    </form>
  );
}

function CreateAgent({ onCreated }: { onCreated: (agent: AgentView) => void }) {
  const [name, setName] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    return action.run(async () => {
      const agent = await api<AgentView>('POST', '/v1/agents', { name: name.trim() });
      setName('');
      onCreated(agent);
    });
  };
  return (
    <form class="panel inline-form" onSubmit={submit} aria-labelledby="create-agent-title">
      <h2 id="create-agent-title">Create an agent</h2>
      <label>
        Agent name
        <input name="agent_name" required maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <ErrorText error={action.error} />
      <button type="submit" class="primary" disabled={action.busy}>
        Create agent
      </button>
    </form>
  );
}
