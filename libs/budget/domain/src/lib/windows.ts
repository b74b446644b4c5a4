import type { BudgetInterval } from '@keyledger/contracts';

const DAY_MS = 86_400_000;

/** The UTC calendar day of an instant, `YYYY-MM-DD`: the bucket a spend counts in. */
export function utcDay(at: string | Date): string {
  return new Date(at).toISOString().slice(0, 10);
}

/**
 * First day of the fixed UTC window of `interval` containing `now` (day from 00:00, week from Monday
 * 00:00, month from the 1st), or null for windows with no start (`all_time`, `per_transaction`).
 */
export function windowStart(interval: BudgetInterval, now: string | Date): string | null {
  const d = new Date(now);
  switch (interval) {
    case 'daily':
      return utcDay(d);
    case 'weekly': {
      const sinceMonday = (d.getUTCDay() + 6) % 7;
      return utcDay(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - sinceMonday * DAY_MS));
    }
    case 'monthly':
      return `${utcDay(d).slice(0, 7)}-01`;
    case 'all_time':
    case 'per_transaction':
      return null;
  }
}

/** The earliest day any windowed limit can look at, so loaders fetch no more history than that. */
export function earliestWindowDay(now: string | Date): string {
  const week = windowStart('weekly', now) as string;
  const month = windowStart('monthly', now) as string;
  return week < month ? week : month;
}

export function addDays(at: string, days: number): string {
  return new Date(new Date(at).getTime() + days * DAY_MS).toISOString();
}
