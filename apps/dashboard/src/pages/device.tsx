import { useState } from 'preact/hooks';
import { api, ApiError, withQuery, type ApiList } from '../api';
import { ErrorText, Notice, useAction, useLoad } from '../components';
import { normalizeUserCode } from '../format';
import type { AgentView } from '../types';

/**
 * The `verification_uri` of the device flow (RFC 8628): a person confirms the code their agent
 * shows (prefilled from `verification_uri_complete`) and approves or denies it.
 */
export function DevicePage() {
  const [code, setCode] = useState(() => new URLSearchParams(location.search).get('user_code') ?? '');
  const [agentId, setAgentId] = useState('');
  const [outcome, setOutcome] = useState<string | null>(null);
  const agents = useLoad(() => api<ApiList<AgentView>>('GET', withQuery('/v1/agents', { limit: 100 })), []);
  const action = useAction();

  const decide = (decision: 'approve' | 'deny') =>
    action.run(async () => {
      setOutcome(null);
      const userCode = normalizeUserCode(code);
      if (!userCode) throw new ApiError(400, 'VALIDATION_ERROR', 'a user code is 8 letters, shown as XXXX-XXXX');
      if (decision === 'approve') {
        const { agent } = await api<{ agent: AgentView }>('POST', '/v1/auth/device/approve', { user_code: userCode, ...(agentId ? { agent_id: agentId } : {}) });
        setOutcome(`Approved ${userCode}. The device is linked as agent “${agent.name}” and receives its key the next time it asks.`);
      } else {
        await api('POST', '/v1/auth/device/deny', { user_code: userCode });
        setOutcome(`Denied ${userCode}. The device will be told it was refused.`);
      }
      setCode('');
      history.replaceState(null, '', location.pathname);
    });

  return (
    <section aria-labelledby="device-title">
      <h1 id="device-title">Approve a device</h1>
      <p>An agent that links itself shows a code and this address. Check that the code matches the one on the agent's screen before approving.</p>
      {outcome && <Notice>{outcome}</Notice>}
      <form
        class="panel device"
        onSubmit={(e) => {
          e.preventDefault();
          void decide('approve');
        }}
      >
        <label for="user-code">Code shown by the device</label>
        <input
          id="user-code"
          class="user-code"
          autoComplete="off"
          autoCapitalize="characters"
          spellcheck={false}
          required
          placeholder="XXXX-XXXX"
          value={code}
          onInput={(e) => setCode((e.target as HTMLInputElement).value)}
        />
        <label for="device-agent">Link as</label>
        <select id="device-agent" value={agentId} onChange={(e) => setAgentId((e.target as HTMLSelectElement).value)}>
          <option value="">New agent, named as the device asked</option>
          {agents.data?.items
            .filter((a) => a.status !== 'revoked')
            .map((a) => (
              <option key={a.id} value={a.id}>
                Existing agent: {a.name}
              </option>
            ))}
        </select>
        <ErrorText error={action.error ?? agents.error} />
        <div class="actions">
          <button type="button" class="danger" disabled={action.busy} onClick={() => decide('deny')}>
            Deny
          </button>
          <button type="submit" class="primary" disabled={action.busy}>
            Approve
          </button>
        </div>
      </form>
    </section>
  );
}
