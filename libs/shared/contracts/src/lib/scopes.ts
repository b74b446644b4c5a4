import type { Scope } from './resources';

/** True when a key holding `held` may use `needed` (`*` holds every scope). */
export function grants(held: readonly Scope[], needed: Scope): boolean {
  return held.includes('*') || held.includes(needed);
}

/** The scopes of `requested` that `held` does not cover: a key may only mint subsets of its own. */
export function scopesBeyond(held: readonly Scope[], requested: readonly Scope[]): Scope[] {
  if (held.includes('*')) return [];
  return requested.filter((s) => s === '*' || !held.includes(s));
}
