export const BASE = '/dashboard';

/** Client-side navigation inside /dashboard; the gateway answers every screen with the same page. */
export function navigate(path: string): void {
  history.pushState(null, '', `${BASE}${path}`);
  dispatchEvent(new PopStateEvent('popstate'));
}
