import type { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Auth0HttpClient } from './http-client.js';
import type { ServiceTokenProvider } from './token-provider.js';

export interface ReadinessParts {
  http: Auth0HttpClient;
  tokens: ServiceTokenProvider;
  logger: Logger;
}

/** Can the tenant be reached? Bounded by the HTTP client's timeout; the check never throws. */
export function createReadinessCheck(
  parts: ReadinessParts,
): () => Promise<{ jwks: boolean; token: boolean }> {
  const { http, tokens, logger } = parts;

  async function jwksReachable(): Promise<boolean> {
    try {
      const response = await http.send({ method: 'GET', path: '.well-known/jwks.json' });
      if (response.statusCode !== 200) return false;
      const body = JSON.parse(response.body) as { keys?: unknown };
      return Array.isArray(body.keys) && body.keys.length > 0;
    } catch {
      return false;
    }
  }

  async function tokenAvailable(): Promise<boolean> {
    try {
      await tokens.getToken();
      return true;
    } catch (error) {
      logger.warn({ err: summarise(error) }, 'service token unavailable');
      return false;
    }
  }

  return async () => {
    const [jwks, token] = await Promise.all([jwksReachable(), tokenAvailable()]);
    return { jwks, token };
  };
}

function summarise(error: unknown): { code?: string; message: string } {
  const e = error as Partial<GatewayError>;
  return { code: e?.code, message: e instanceof Error ? e.message : String(error) };
}
