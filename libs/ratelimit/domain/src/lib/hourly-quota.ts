/** The plan's quota over all requests, counted in fixed UTC clock hours. */
export const HOUR_MS = 3_600_000;

export interface QuotaState {
  /** Epoch milliseconds at which the counted hour began. */
  hour: number;
  used: number;
}

export const hourOf = (now: number) => Math.floor(now / HOUR_MS) * HOUR_MS;

/** The quota at `now`: a new hour starts from zero. */
export function currentQuota(state: QuotaState | undefined, now: number): QuotaState {
  const hour = hourOf(now);
  return state && state.hour === hour ? state : { hour, used: 0 };
}

export const msUntilNextHour = (state: QuotaState, now: number) => state.hour + HOUR_MS - now;
