import { useState } from 'preact/hooks';
import { api, withQuery, type ApiList } from '../api';
import { ConfirmDialog, ErrorText, Notice, SecretOnce, StatusBadge, useAction, useLoad } from '../components';
import { formatDate, keyDisplay } from '../format';
import { SCOPES, type AgentView, type ApiKeyView, type CreatedApiKeyView, type Whoami } from '../types';

const GRACE_PERIODS = [
  { seconds: 0, label: 'None: the old key stops now' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '24 hours' },
  { seconds: 604_800, label: '7 days' },
];

type Revealed = { title: string; key: CreatedApiKeyView };

export function KeysPage({ me }: { me: Whoami }) {
  const [status, setStatus] = useState('');
  const [pages, setPages] = useState(1);
  const keys = useLoad(() => loadKeys(status, pages), [status, pages]);
  const agents = useLoad(() => api<ApiList<AgentView>>('GET', '/v1/agents?limit=100').catch(() => ({ items: [], next_cursor: null })), []);
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const [revoking, setRevoking] = useState<ApiKeyView | null>(null);
  const [rolling, setRolling] = useState<ApiKeyView | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const reveal = (title: string, key: CreatedApiKeyView) => {
    setRevealed({ title, key });
    setNotice(null);
    keys.reload();
  };

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      {revealed && (
        <SecretOnce
          title={revealed.title}
          secrets={[
            { label: 'API key', value: revealed.key.key },
            ...(revealed.key.signing_secret ? [{ label: 'Signing secret', value: revealed.key.signing_secret }] : []),
          ]}
          onDone={() => setRevealed(null)}
        />
      )}
      {notice && <Notice>{notice}</Notice>}
      <div class="panels">
        <CreateKey me={me} agents={agents.data?.items ?? []} onCreated={(key) => reveal(`New key “${key.name ?? key.id}”`, key)} />
        <LinkKey onLinked={(key) => (setNotice(`Linked ${keyDisplay(key)} to this organization.`), keys.reload())} />
      </div>

      <div class="toolbar">
        <label>
          Status
          <select value={status} onChange={(e) => (setStatus((e.target as HTMLSelectElement).value), setPages(1))}>
            <option value="">All</option>
            <option value="active">Active</option>
            <option value="expired">Expired</option>
            <option value="revoked">Revoked</option>
          </select>
        </label>
        <button type="button" onClick={keys.reload} disabled={keys.loading}>
          Refresh
        </button>
      </div>
      <ErrorText error={keys.error} />
      <table class="list" aria-label="API keys" aria-busy={keys.loading}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Environment</th>
            <th scope="col">Scopes</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.data?.items.map((key) => (
            <tr key={key.id} data-key-id={key.id}>
              <td data-label="Name">
                {key.name ?? <em>unnamed</em>}
                {key.id === me.api_key.id && <span class="you"> (this session)</span>}
                {key.agent_id && <div class="sub">agent {agentName(agents.data?.items, key.agent_id)}</div>}
              </td>
              <td data-label="Key">
                <code class="nowrap">{keyDisplay(key)}</code>
              </td>
              <td data-label="Environment">{key.environment}</td>
              <td data-label="Scopes">
                <span class="scopes">{key.scopes.join(' ')}</span>
              </td>
              <td data-label="Status">
                <StatusBadge status={key.status} />
              </td>
              <td data-label="Created">{formatDate(key.created_at)}</td>
              <td data-label="Last used">{formatDate(key.last_used_at)}</td>
              <td data-label="Expires">{key.expires_at ? formatDate(key.expires_at) : 'never'}</td>
              <td class="row-actions">
                {key.status === 'active' && (
                  <>
                    <button type="button" onClick={() => setRolling(key)} aria-label={`Roll key ${key.name ?? keyDisplay(key)}`}>
                      Roll
                    </button>
                    <button type="button" class="danger" onClick={() => setRevoking(key)} aria-label={`Revoke key ${key.name ?? keyDisplay(key)}`}>
                      Revoke
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {keys.data && keys.data.items.length === 0 && <p class="empty">No keys.</p>}
      {keys.data?.next_cursor && (
        <button type="button" onClick={() => setPages(pages + 1)}>
          Show more
        </button>
      )}

      {revoking && (
        <RevokeKey
          apiKey={revoking}
          isSession={revoking.id === me.api_key.id}
          onClose={() => setRevoking(null)}
          onRevoked={(key) => (setRevoking(null), setNotice(`Revoked ${keyDisplay(key)}. Every gateway now refuses it.`), keys.reload())}
        />
      )}
      {rolling && (
        <RollKey
          apiKey={rolling}
          onClose={() => setRolling(null)}
          onRolled={(next, previous) => (setRolling(null), reveal(`Rolled “${previous.name ?? previous.id}”: the new key`, next))}
        />
      )}
    </section>
  );
}

async function loadKeys(status: string, pages: number): Promise<ApiList<ApiKeyView>> {
  const items: ApiKeyView[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < pages; page++) {
    const list: ApiList<ApiKeyView> = await api('GET', withQuery('/v1/api-keys', { limit: 100, status, cursor }));
    items.push(...list.items);
    cursor = list.next_cursor;
    if (!cursor) break;
  }
  return { items, next_cursor: cursor };
}

function agentName(agents: AgentView[] | undefined, id: string): string {
  return agents?.find((a) => a.id === id)?.name ?? id;
}

function CreateKey({ me, agents, onCreated }: { me: Whoami; agents: AgentView[]; onCreated: (key: CreatedApiKeyView) => void }) {
  const mine = me.scopes.includes('*') ? [...SCOPES] : SCOPES.filter((s) => me.scopes.includes(s));
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [agentId, setAgentId] = useState('');
  const [expires, setExpires] = useState('');
  const [signing, setSigning] = useState(false);
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    return action.run(async () => {
      const body: Record<string, unknown> = { name: name.trim() || undefined };
      if (scopes.length) body['scopes'] = scopes;
      if (agentId) body['agent_id'] = agentId;
      if (expires) body['expires_at'] = new Date(expires).toISOString();
      if (signing) body['signing'] = true;
      const key = await api<CreatedApiKeyView>('POST', '/v1/api-keys', body);
      setName('');
      setScopes([]);
      setAgentId('');
      setExpires('');
      setSigning(false);
      onCreated(key);
    });
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <label>
        Name
        <input name="name" value={name} maxLength={200} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <fieldset>
        <legend>Scopes (none ticked: the same as your key's)</legend>
        <div class="checks">
          {mine.map((scope) => (
            <label key={scope} class="check">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(e) => setScopes((e.target as HTMLInputElement).checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))}
              />
              {scope}
            </label>
          ))}
        </div>
      </fieldset>
      <label>
        Bound to agent
        <select value={agentId} onChange={(e) => setAgentId((e.target as HTMLSelectElement).value)}>
          <option value="">No agent: acts for the organization</option>
          {agents
            .filter((a) => a.status !== 'revoked')
            .map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
        </select>
      </label>
      <label>
        Expires (optional)
        <input type="datetime-local" value={expires} onInput={(e) => setExpires((e.target as HTMLInputElement).value)} />
      </label>
      <label class="check">
        <input type="checkbox" checked={signing} onChange={(e) => setSigning((e.target as HTMLInputElement).checked)} />
        Require signed requests (returns a signing secret)
      </label>
      <p class="hint">The key is created in the {me.environment} environment, like the key you signed in with.</p>
      <ErrorText error={action.error} />
      <button type="submit" class="primary" disabled={action.busy}>
        Create key
      </button>
    </form>
  );
}

function LinkKey({ onLinked }: { onLinked: (key: ApiKeyView) => void }) {
  const [key, setKey] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    return action.run(async () => {
      const linked = await api<ApiKeyView>('POST', '/v1/api-keys/link', { key: key.trim() });
      setKey('');
      onLinked(linked);
    });
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="link-key-title">
      <h2 id="link-key-title">Link an existing key</h2>
      <p class="hint">Moves an unclaimed self-serve key, and its sandbox's agents and spends, into this organization.</p>
      <label>
        Unclaimed key
        <input type="password" autoComplete="off" required value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
      </label>
      <ErrorText error={action.error} />
      <button type="submit" disabled={action.busy}>
        Link key
      </button>
    </form>
  );
}

function RevokeKey(props: { apiKey: ApiKeyView; isSession: boolean; onClose: () => void; onRevoked: (key: ApiKeyView) => void }) {
  const action = useAction();
  const confirm = () =>
    action.run(async () => {
      const key = await api<ApiKeyView>('POST', `/v1/api-keys/${props.apiKey.id}/revoke`);
      props.onRevoked(key);
    });
  return (
    <ConfirmDialog title="Revoke this key?" confirmLabel="Revoke key" danger busy={action.busy} error={action.error} onConfirm={confirm} onCancel={props.onClose}>
      <p>
        <code>{keyDisplay(props.apiKey)}</code> {props.apiKey.name ? `(${props.apiKey.name}) ` : ''}will be refused by every gateway as soon as you confirm. This
        cannot be undone.
      </p>
      {props.isSession && <p class="warning">This is the key you are signed in with: the dashboard will stop working.</p>}
    </ConfirmDialog>
  );
}

function RollKey(props: { apiKey: ApiKeyView; onClose: () => void; onRolled: (next: CreatedApiKeyView, previous: ApiKeyView) => void }) {
  const [grace, setGrace] = useState(86_400);
  const action = useAction();
  const confirm = () =>
    action.run(async () => {
      const rolled = await api<{ api_key: CreatedApiKeyView; previous: ApiKeyView }>('POST', `/v1/api-keys/${props.apiKey.id}/roll`, { grace_period_seconds: grace });
      props.onRolled(rolled.api_key, rolled.previous);
    });
  return (
    <ConfirmDialog title="Roll this key?" confirmLabel="Roll key" busy={action.busy} error={action.error} onConfirm={confirm} onCancel={props.onClose}>
      <p>
        A new key replaces <code>{keyDisplay(props.apiKey)}</code> with the same name, scopes, agent and expiry. The old key keeps working for the grace period.
      </p>
      <label>
        Grace period
        <select value={grace} onChange={(e) => setGrace(Number((e.target as HTMLSelectElement).value))}>
          {GRACE_PERIODS.map((g) => (
            <option key={g.seconds} value={g.seconds}>
              {g.label}
            </option>
          ))}
        </select>
      </label>
    </ConfirmDialog>
  );
}
