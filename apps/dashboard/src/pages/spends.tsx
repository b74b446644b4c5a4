import { useEffect, useRef, useState } from 'preact/hooks';
import { api, withQuery, type ApiList } from '../api';
import { ErrorText, StatusBadge, useLoad } from '../components';
import { formatDate, formatMoney, spendSeries } from '../format';
import type { AgentView, SpendView, WalletView } from '../types';

const STATUSES = ['authorized', 'captured', 'released', 'refunded', 'expired'];
/** The chart reads at most this many pages of 100 spends (the newest). */
const CHART_PAGES = 5;

export function SpendsPage() {
  const [agentId, setAgentId] = useState('');
  const [status, setStatus] = useState('');
  const [pages, setPages] = useState(1);
  const agents = useLoad(() => api<ApiList<AgentView>>('GET', withQuery('/v1/agents', { limit: 100 })), []);
  const wallet = useLoad(() => api<WalletView>('GET', '/v1/wallet'), []);
  const spends = useLoad(() => loadSpends({ agent_id: agentId, status }, pages), [agentId, status, pages]);
  const names = new Map((agents.data?.items ?? []).map((a) => [a.id, a.name]));
  const nameOf = (id: string) => names.get(id) ?? id;

  return (
    <section aria-labelledby="spends-title">
      <h1 id="spends-title">Spends</h1>
      {wallet.data && (
        <p class="wallet" aria-label="Wallet">
          Wallet:{' '}
          {wallet.data.balances.length === 0
            ? 'no deposits yet'
            : wallet.data.balances.map((b) => `${formatMoney(b.available, b.currency)} available, ${formatMoney(b.held, b.currency)} held`).join(' · ')}
        </p>
      )}
      <form class="toolbar" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Agent
          <select value={agentId} onChange={(e) => (setAgentId((e.target as HTMLSelectElement).value), setPages(1))}>
            <option value="">All agents</option>
            {agents.data?.items.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => (setStatus((e.target as HTMLSelectElement).value), setPages(1))}>
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={spends.reload} disabled={spends.loading}>
          Refresh
        </button>
      </form>
      <ErrorText error={spends.error ?? agents.error} />
      <SpendChart agentId={agentId} nameOf={nameOf} />
      <table class="list" aria-label="Spend history" aria-busy={spends.loading}>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Agent</th>
            <th scope="col">Amount</th>
            <th scope="col">Captured</th>
            <th scope="col">Status</th>
            <th scope="col">Merchant</th>
            <th scope="col">Description</th>
          </tr>
        </thead>
        <tbody>
          {spends.data?.items.map((s) => (
            <tr key={s.id}>
              <td data-label="When">{formatDate(s.created_at)}</td>
              <td data-label="Agent">{nameOf(s.agent_id)}</td>
              <td data-label="Amount">{formatMoney(s.amount, s.currency)}</td>
              <td data-label="Captured">{formatMoney(s.captured_amount, s.currency)}</td>
              <td data-label="Status">
                <StatusBadge status={s.status} />
              </td>
              <td data-label="Merchant">{s.merchant ?? '—'}</td>
              <td data-label="Description">{s.description ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {spends.data && spends.data.items.length === 0 && <p class="empty">No spends match.</p>}
      {spends.data?.next_cursor && (
        <button type="button" onClick={() => setPages(pages + 1)}>
          Show more
        </button>
      )}
    </section>
  );
}

async function loadSpends(filters: { agent_id: string; status: string }, pages: number, limit = 50): Promise<ApiList<SpendView>> {
  const items: SpendView[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < pages; page++) {
    const list: ApiList<SpendView> = await api('GET', withQuery('/v1/spends', { ...filters, limit, cursor }));
    items.push(...list.items);
    cursor = list.next_cursor;
    if (!cursor) break;
  }
  return { items, next_cursor: cursor };
}

const COLORS = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626'];

/** Cumulative captured spend per agent over time, as inline SVG (no chart library). */
function SpendChart({ agentId, nameOf }: { agentId: string; nameOf: (id: string) => string }) {
  const data = useLoad(() => loadSpends({ agent_id: agentId, status: '' }, CHART_PAGES, 100), [agentId]);
  const spends = data.data?.items ?? [];
  const currencies = [...new Set(spends.map((s) => s.currency))];
  const [chosen, setChosen] = useState('');
  const currency = currencies.includes(chosen) ? chosen : (currencies[0] ?? '');
  const { start, end, series } = spendSeries(spends, currency);
  const shown = series.slice(0, COLORS.length);
  // Drawn at the size it is shown, so text keeps its size on phones and wide screens alike.
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(640);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.max(240, Math.round(entry.contentRect.width))));
    observer.observe(element);
    return () => observer.disconnect();
  }, [shown.length > 0]);

  const height = 220;
  const pad = { left: 64, right: 12, top: 12, bottom: 28 };
  const max = Math.max(1, ...shown.map((s) => s.total));
  const x = (t: number) => pad.left + ((t - start) / (end - start)) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / max) * (height - pad.top - pad.bottom);
  const steps = (points: { t: number; total: number }[]) =>
    points.map((p, i) => (i === 0 ? `${x(p.t)},${y(p.total)}` : `${x(p.t)},${y(points[i - 1].total)} ${x(p.t)},${y(p.total)}`)).join(' ');
  const when = (t: number) => formatDate(new Date(t).toISOString());
  const summary = shown.map((s) => `${nameOf(s.agent_id)} ${formatMoney(s.total, currency)}`).join(', ');

  return (
    <figure class="chart">
      <figcaption>
        Spend per agent over time (captured, cumulative{data.data?.next_cursor ? `, newest ${spends.length} spends` : ''})
        {currencies.length > 1 && (
          <label>
            {' '}
            Currency
            <select value={currency} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
              {currencies.map((c) => (
                <option key={c} value={c}>
                  {c.toUpperCase()}
                </option>
              ))}
            </select>
          </label>
        )}
      </figcaption>
      <ErrorText error={data.error} />
      {shown.length === 0 ? (
        <p class="empty">No captured spends to chart yet.</p>
      ) : (
        <div ref={box}>
          <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Cumulative spend by agent from ${when(start)} to ${when(end)}: ${summary}`}>
            {[0, 0.5, 1].map((f) => (
              <g key={f} class="grid">
                <line x1={pad.left} x2={width - pad.right} y1={y(max * f)} y2={y(max * f)} />
                <text x={pad.left - 6} y={y(max * f) + 4} text-anchor="end">
                  {formatMoney(Math.round(max * f), currency).split(' ')[0]}
                </text>
              </g>
            ))}
            <text class="axis" x={pad.left} y={height - 8}>
              {when(start)}
            </text>
            <text class="axis" x={width - pad.right} y={height - 8} text-anchor="end">
              {when(end)}
            </text>
            {shown.map((s, index) => (
              <g key={s.agent_id} stroke={COLORS[index]} fill={COLORS[index]}>
                <polyline fill="none" stroke-width="2.5" points={steps(s.points)} />
                {s.points.slice(1, -1).map((p, i) => (
                  <circle key={i} cx={x(p.t)} cy={y(p.total)} r="3">
                    <title>{`${nameOf(s.agent_id)}, ${when(p.t)}: ${formatMoney(p.total, currency)}`}</title>
                  </circle>
                ))}
              </g>
            ))}
          </svg>
          <ul class="legend">
            {shown.map((s, index) => (
              <li key={s.agent_id}>
                <svg width="12" height="12" aria-hidden="true">
                  <rect width="12" height="12" fill={COLORS[index]} />
                </svg>
                {nameOf(s.agent_id)}: {formatMoney(s.total, currency)}
              </li>
            ))}
          </ul>
        </div>
      )}
    </figure>
  );
}
