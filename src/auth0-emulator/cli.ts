// `npm run emulator -- --port N [--seed FILE] [--host H --allow-remote] [--plan P | --rate-limit R/B]`:
// a local Auth0 tenant until SIGINT/SIGTERM. It prints no password and no client secret: they are in the seed.
import { parseArgs } from 'node:util';
import { DEMO, DEMO_SEED, loadSeedFile, startAuth0Emulator } from './index.js';
import { isRatePlan, parseRateLimit, RATE_LIMIT_PLANS } from './rate-limiter.js';
import type { EmulatorSeed, RateLimit, RatePlan } from './types.js';

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;
// Where the demo tenant's passwords and secrets are, for those who need them.
const DEMO_SEED_SOURCE = 'src/auth0-emulator/demo-seed.ts';

/** Management API scopes of a client: the `scopes` shorthand plus its `client_grants` on any `/api/v2/`. */
function managementScopes(seed: EmulatorSeed, clientId: string): string[] {
  const client = seed.clients.find((c) => c.client_id === clientId);
  const grants = (seed.client_grants ?? []).filter(
    (g) => g.client_id === clientId && g.audience.endsWith('/api/v2/'),
  );
  return [...new Set([...(client?.scopes ?? []), ...grants.flatMap((g) => g.scope)])];
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `--plan` or `--rate-limit` (at most one) as emulator options; an invalid value stops the CLI. */
function rateLimitOptions(
  plan: string | undefined,
  rate: string | undefined,
): { plan?: RatePlan; rateLimit?: RateLimit } {
  if (plan !== undefined && rate !== undefined) throw new Error('give --plan or --rate-limit, not both');
  if (plan !== undefined) {
    if (!isRatePlan(plan)) {
      throw new Error(`--plan: one of ${Object.keys(RATE_LIMIT_PLANS).join(', ')}, got "${plan}"`);
    }
    return { plan };
  }
  if (rate !== undefined) {
    try {
      return { rateLimit: parseRateLimit(rate) };
    } catch (error) {
      throw new Error(`--rate-limit: ${(error as Error).message}`);
    }
  }
  return {};
}

function describeLimit(plan: RatePlan | undefined, rateLimit: RateLimit | undefined): string {
  const limit = plan ? RATE_LIMIT_PLANS[plan] : rateLimit;
  if (!limit) return 'none in practice (10000/s, burst 10000)';
  return `${limit.perSecond}/s, burst ${limit.burst}${plan ? ` (${plan} plan)` : ''}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      seed: { type: 'string' },
      plan: { type: 'string' },
      'rate-limit': { type: 'string' },
      'allow-remote': { type: 'boolean', default: false },
    },
    strict: true,
  });
  // Anyone who reaches it can mint tokens and read the journal: loopback unless asked twice.
  if (!LOOPBACK_HOST.test(values.host) && !values['allow-remote']) {
    throw new Error(
      `--host ${values.host}: not a loopback address; the emulator serves anyone who reaches it, so add --allow-remote to mean it`,
    );
  }
  const { plan, rateLimit } = rateLimitOptions(values.plan, values['rate-limit']);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port: not a port number: ${values.port}`);
  const seed = values.seed ? await loadSeedFile(values.seed) : DEMO_SEED;
  const secretsIn = values.seed ?? DEMO_SEED_SOURCE;
  const emulator = await startAuth0Emulator({ port, host: values.host, seed, plan, rateLimit });

  const lines = [
    `Auth0 emulator listening on ${emulator.origin}`,
    `  issuer:               ${emulator.issuer}`,
    `  Management audience:  ${emulator.managementAudience}`,
    `  JWKS:                 ${emulator.origin}/.well-known/jwks.json`,
    `  Management API limit: ${describeLimit(plan, rateLimit)}`,
    `  browser logins:       ${emulator.origin}/authorize (redirect_uri from the client's callbacks${values.seed ? '' : `; ${DEMO.spaClientId}: any loopback URL`})`,
    '',
    `Users (user_id, email; passwords are in ${secretsIn}):`,
    ...seed.users.map((u) => `  ${u.user_id}  ${u.email ?? '-'}`),
    '',
    `Clients (client_id, app_type, Management API scopes; secrets are in ${secretsIn}):`,
    ...seed.clients.map(
      (c) =>
        `  ${c.client_id}  ${c.app_type ?? 'regular_web'}  ${managementScopes(seed, c.client_id).join(' ') || '-'}`,
    ),
  ];
  const loginUser = seed.users.find((u) => u.password !== undefined && u.email !== undefined);
  const spa = seed.clients.find((c) =>
    c.grant_types?.includes('http://auth0.com/oauth/grant-type/password-realm'),
  );
  if (loginUser && spa) {
    const connection = loginUser.user_id.startsWith('auth0|')
      ? 'Username-Password-Authentication'
      : loginUser.user_id.split('|')[0];
    const body = new URLSearchParams({
      grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
      client_id: spa.client_id,
      username: loginUser.email as string,
      password: 'PASSWORD',
      realm: connection,
      audience: emulator.managementAudience,
      scope: 'openid profile email read:current_user update:current_user_identities',
    });
    lines.push(
      '',
      `A user access token for ${loginUser.user_id} (password-realm grant; replace PASSWORD with the password in ${secretsIn}):`,
      `  curl -s -X POST ${emulator.origin}/oauth/token -H 'content-type: application/x-www-form-urlencoded' -d ${shellQuote(body.toString())}`,
    );
  }
  if (!values.seed) {
    lines.push(
      '',
      `An admin (client credentials) token for the gateway client (replace CLIENT_SECRET with its secret in ${secretsIn}):`,
      `  curl -s -X POST ${emulator.origin}/oauth/token -H 'content-type: application/json' -d ${shellQuote(
        JSON.stringify({
          grant_type: 'client_credentials',
          client_id: DEMO.serviceClientId,
          client_secret: 'CLIENT_SECRET',
          audience: emulator.managementAudience,
        }),
      )}`,
    );
  }
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: closing the Auth0 emulator`);
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`auth0-emulator: ${(error as Error).message}`);
  process.exit(1);
});
