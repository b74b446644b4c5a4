import { useState } from 'preact/hooks';
import { api, withQuery, type ApiList } from '../api';
import { ErrorText, useLoad } from '../components';
import { formatDate } from '../format';
import type { AuditEvent, AuditVerifyView } from '../types';

const PAGE = 50;

export function AuditPage() {
  const verify = useLoad(() => api<AuditVerifyView>('GET', '/v1/audit/verify'), []);
  const [type, setType] = useState('');
  const [agentId, setAgentId] = useState('');
  const [pages, setPages] = useState(1);
  const events = useLoad(() => loadEvents({ type, agent_id: agentId }, pages), [type, agentId, pages]);

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <Verification verify={verify.data} error={verify.error} loading={verify.loading} onVerify={verify.reload} />
      <form
        class="toolbar"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          const form = new FormData(e.target as HTMLFormElement);
          setType(String(form.get('type') ?? '').trim());
          setAgentId(String(form.get('agent_id') ?? '').trim());
          setPages(1);
        }}
      >
        <label>
          Event type
          <input name="type" placeholder="e.g. SpendCaptured" defaultValue={type} />
        </label>
        <label>
          Agent id
          <input name="agent_id" placeholder="agt_…" defaultValue={agentId} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorText error={events.error} />
      <table class="list" aria-label="Audit events" aria-busy={events.loading}>
        <thead>
          <tr>
            <th scope="col">Position</th>
            <th scope="col">Type</th>
            <th scope="col">Stream</th>
            <th scope="col">Recorded</th>
            <th scope="col">Actor</th>
            <th scope="col">Hash</th>
          </tr>
        </thead>
        <tbody>
          {events.data?.items.map((e) => (
            <tr key={e.position}>
              <td data-label="Position">{e.position}</td>
              <td data-label="Type">{e.type}</td>
              <td data-label="Stream">
                <code>{e.stream}</code>
              </td>
              <td data-label="Recorded">{formatDate(e.recorded_at)}</td>
              <td data-label="Actor">
                <code>{e.metadata.actor_key_id ?? e.metadata.agent_id ?? '—'}</code>
              </td>
              <td data-label="Hash">{e.hash ? <code class="nowrap" title={e.hash}>{e.hash.slice(0, 12)}…</code> : <em>not chained yet</em>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {events.data && events.data.items.length === 0 && <p class="empty">No events match.</p>}
      {events.data?.next_cursor && (
        <button type="button" onClick={() => setPages(pages + 1)}>
          Show more
        </button>
      )}
    </section>
  );
}

async function loadEvents(filters: { type: string; agent_id: string }, pages: number): Promise<ApiList<AuditEvent>> {
  const items: AuditEvent[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < pages; page++) {
    const list: ApiList<AuditEvent> = await api('GET', withQuery('/v1/audit/events', { ...filters, limit: PAGE, cursor }));
    items.push(...list.items);
    cursor = list.next_cursor;
    if (!cursor) break;
  }
  return { items, next_cursor: cursor };
}

function Verification(props: { verify: AuditVerifyView | null; error: unknown; loading: boolean; onVerify: () => void }) {
  const { verify } = props;
  return (
    <section class="panel verify" aria-labelledby="verify-title" aria-busy={props.loading}>
      <h2 id="verify-title">Chain verification</h2>
      <ErrorText error={props.error} />
      {verify &&
        (verify.ok ? (
          <>
            <p class="ok" data-testid="verify-status">
              Intact: {verify.events_verified} events verified{verify.events_pending ? `, ${verify.events_pending} not chained yet` : ''}.
            </p>
            <dl>
              <dt>Head</dt>
              <dd>{verify.head ? <>position {verify.head.position}, hash <code>{verify.head.hash.slice(0, 16)}…</code></> : 'no events yet'}</dd>
              <dt>Last signed checkpoint</dt>
              <dd data-testid="checkpoint">
                {verify.checkpoint ? (
                  <>
                    position {verify.checkpoint.position}, signed {formatDate(verify.checkpoint.signed_at)}
                    <br />
                    root <code>{verify.checkpoint.root.slice(0, 16)}…</code> · Ed25519 key <code>{verify.checkpoint.public_key.slice(0, 16)}…</code>
                  </>
                ) : (
                  'none signed yet'
                )}
              </dd>
            </dl>
          </>
        ) : (
          <p class="error" role="alert" data-testid="verify-status">
            Verification failed at position {verify.first_bad_position}: {verify.reason} ({verify.detail}). {verify.events_verified} events verified before it.
          </p>
        ))}
      <button type="button" onClick={props.onVerify} disabled={props.loading}>
        {props.loading ? 'Verifying…' : 'Verify again'}
      </button>
    </section>
  );
}
