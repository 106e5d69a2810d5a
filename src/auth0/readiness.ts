import type { Auth0HttpClient } from './http-client.js';

export interface ReadinessParts {
  http: Auth0HttpClient;
}

/**
 * Can the tenant be reached? One JWKS request, bounded by the HTTP client's timeout; the check
 * never throws. It never asks for a service token: `/readyz` needs none and is open to anyone, so
 * a probe must not be able to spend the tenant's machine-to-machine token quota.
 */
export function createReadinessCheck(parts: ReadinessParts): () => Promise<{ jwks: boolean }> {
  const { http } = parts;
  return async () => {
    try {
      const response = await http.send({ method: 'GET', path: '.well-known/jwks.json' });
      if (response.statusCode !== 200) return { jwks: false };
      const body = JSON.parse(response.body) as { keys?: unknown };
      return { jwks: Array.isArray(body.keys) && body.keys.length > 0 };
    } catch {
      return { jwks: false };
    }
  };
}

export interface ReadinessCacheOptions {
  /** How long one answer is reused, in milliseconds; default 5000. */
  ttlMs?: number;
  now?: () => number;
}

/**
 * `check`, computed at most once every `ttlMs` with at most one check in flight (DESIGN §6):
 * probes that arrive while a check runs wait for that one, so a flood of `/readyz` is no flood of
 * Auth0 calls.
 */
export function cacheReadiness<T>(
  check: () => Promise<T>,
  options: ReadinessCacheOptions = {},
): () => Promise<T> {
  const ttlMs = options.ttlMs ?? 5000;
  const now = options.now ?? Date.now;
  let last: { value: T; at: number } | undefined;
  let inFlight: Promise<T> | undefined;
  return () => {
    if (last && now() - last.at < ttlMs) return Promise.resolve(last.value);
    inFlight ??= check().then(
      (value) => {
        last = { value, at: now() };
        inFlight = undefined;
        return value;
      },
      (error: unknown) => {
        inFlight = undefined;
        throw error;
      },
    );
    return inFlight;
  };
}
