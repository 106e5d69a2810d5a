// Fails any test that opens a connection to a non-loopback address (jest's setupFilesAfterEnv),
// and gives the node processes tests start the same guard (`loopbackOnlyEnv`).
import { fileURLToPath } from 'node:url';
import { isLoopbackHost } from './loopback-guard.mjs';

export { isLoopbackHost };

const GUARD_MODULE = fileURLToPath(new URL('./loopback-guard.mjs', import.meta.url));

/**
 * `env` for a child node process, with the guard preloaded (`--import` in NODE_OPTIONS): a
 * connection it opens off loopback throws and is reported on its stderr.
 */
export function loopbackOnlyEnv(env: Record<string, string>): Record<string, string> {
  const guard = `--import "${GUARD_MODULE}"`;
  return { ...env, NODE_OPTIONS: env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ${guard}` : guard };
}
