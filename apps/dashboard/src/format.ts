/** Pure presentation helpers (unit-tested without a browser). */

const SIX_DECIMALS = new Set(['usdc', 'usdt', 'pyusd']);

/** Minor units to a readable amount: 12345 usd → "123.45 USD". */
export function formatMoney(amount: number, currency: string | null | undefined): string {
  const code = (currency ?? '').toLowerCase();
  const decimals = SIX_DECIMALS.has(code) ? 6 : 2;
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  const whole = Math.floor(abs / 10 ** decimals);
  const fraction = String(abs % 10 ** decimals).padStart(decimals, '0');
  const grouped = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${grouped}.${fraction}${code ? ` ${code.toUpperCase()}` : ''}`;
}

/** A decimal amount typed by a person to minor units; null when it is not a positive amount. */
export function parseMoney(text: string, currency: string): number | null {
  const decimals = SIX_DECIMALS.has(currency.toLowerCase()) ? 6 : 2;
  const match = /^\s*(\d+)(?:\.(\d+))?\s*$/.exec(text);
  if (!match || (match[2] ?? '').length > decimals) return null;
  const minor = Number(match[1]) * 10 ** decimals + Number((match[2] ?? '').padEnd(decimals, '0') || 0);
  return Number.isSafeInteger(minor) && minor > 0 ? minor : null;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, ' UTC');
}

/** How a key is shown everywhere: its prefix, an ellipsis, its last four characters. */
export function keyDisplay(key: { key_prefix: string; last4: string }): string {
  return `${key.key_prefix}…${key.last4}`;
}

export const FACTOR_LABELS: Record<string, string> = {
  fixed_limit: 'Fixed limit',
  budget_percent: 'Share of wallet',
  max_position_value: 'Open holds',
  per_transaction: 'Per transaction',
  daily: 'Daily',
  weekly: 'Weekly',
  monthly: 'Monthly',
  all_time: 'All time',
  wallet: 'Wallet balance',
  no_budget: 'No budget set',
};

/** Share of a component used, 0–100, for the usage bars. */
export function usedPercent(component: { limit: number; used: number }): number {
  if (component.limit <= 0) return component.used > 0 ? 100 : 0;
  return Math.min(100, Math.round((component.used / component.limit) * 1000) / 10);
}

export interface SpendPoint {
  agent_id: string;
  captured_amount: number;
  refunded_amount?: number;
  currency: string;
  created_at: string;
}

export interface Series {
  agent_id: string;
  /** Cumulative net spend (captured minus refunded) after each spend, from 0 at `start`. */
  points: { t: number; total: number }[];
  total: number;
}

/**
 * Spend per agent over time, cumulated, on one time axis from the first spend to the last: what
 * the chart draws. Only money that actually left (captured minus refunded) counts.
 */
export function spendSeries(spends: SpendPoint[], currency: string): { start: number; end: number; series: Series[] } {
  const relevant = spends
    .filter((s) => s.currency === currency && s.captured_amount > 0)
    .map((s) => ({ ...s, t: Date.parse(s.created_at) }))
    .sort((a, b) => a.t - b.t);
  if (relevant.length === 0) return { start: 0, end: 0, series: [] };
  const start = relevant[0].t;
  const end = Math.max(relevant[relevant.length - 1].t, start + 60_000); // at least a minute wide
  const perAgent = new Map<string, Series>();
  for (const spend of relevant) {
    const series = perAgent.get(spend.agent_id) ?? { agent_id: spend.agent_id, points: [{ t: start, total: 0 }], total: 0 };
    series.total += spend.captured_amount - (spend.refunded_amount ?? 0);
    series.points.push({ t: spend.t, total: series.total });
    perAgent.set(spend.agent_id, series);
  }
  const series = [...perAgent.values()].sort((a, b) => b.total - a.total);
  for (const s of series) s.points.push({ t: end, total: s.total });
  return { start, end, series };
}

/** Parses "ABCD-EFGH", "abcdefgh" or "abcd efgh" into the canonical user code, or null. */
export function normalizeUserCode(text: string): string | null {
  const letters = text.toUpperCase().replace(/[\s-]/g, '');
  return /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/.test(letters) ? `${letters.slice(0, 4)}-${letters.slice(4)}` : null;
}
