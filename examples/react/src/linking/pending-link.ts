// The one thing a linking login by redirect must carry across the page load: the primary's access
// token. After `prompt=login` the tenant's session belongs to the second account, so a silent
// sign-in on the way back would return the second account, not the primary. The token waits in
// sessionStorage (this tab only) for the few seconds of that login, and is removed as it is read.

const KEY = 'auth0-link-gateway:pending-link';

export interface PendingLink {
  primaryId: string;
  accessToken: string;
  connection: string;
}

export function savePendingLink(pending: PendingLink): void {
  sessionStorage.setItem(KEY, JSON.stringify(pending));
}

export function hasPendingLink(): boolean {
  return sessionStorage.getItem(KEY) !== null;
}

/** The pending link, removed from storage in the same step. */
export function takePendingLink(): PendingLink | null {
  const raw = sessionStorage.getItem(KEY);
  sessionStorage.removeItem(KEY);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as PendingLink;
  } catch {
    return null;
  }
}

/** Back from Auth0 with a code or an error for a login this tab started. */
export function isAuthCallback(): boolean {
  const params = new URLSearchParams(window.location.search);
  return params.has('state') && (params.has('code') || params.has('error'));
}
