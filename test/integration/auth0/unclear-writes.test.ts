// The call pipeline tells "Auth0 cannot have acted" from "Auth0 may have acted" for every write,
// so a link or unlink knows when to read the primary back (DESIGN §8).
import net from 'node:net';
import type { Config } from '../../../src/config.js';
import { isUnclearWrite } from '../../../src/auth0/call-pipeline.js';
import { createAuth0Services, type Auth0Services } from '../../../src/auth0/auth0-services.js';
import { Auth0ManagementApi } from '../../../src/auth0/management-api.js';
import { DEMO, startAuth0Emulator, type Auth0Emulator } from '../../../src/auth0-emulator/index.js';
import type { FaultRule } from '../../../src/auth0-emulator/index.js';
import { GatewayError } from '../../../src/errors.js';
import { createLogger } from '../../../src/observability/logger.js';

const silent = createLogger({ level: 'silent' });
const service = { kind: 'service' } as const;
const { alice, aliceGithub } = DEMO.users;
const github = { provider: 'github', user_id: aliceGithub.split('|')[1] };

let emulator: Auth0Emulator;
const opened: Auth0Services[] = [];

beforeAll(async () => {
  emulator = await startAuth0Emulator({ port: 0 });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.tenant.reset());
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

function api(origin = emulator.origin, overrides: Partial<Config['auth0']> = {}) {
  const services = createAuth0Services({
    config: {
      origin,
      issuer: `${origin}/`,
      clientId: DEMO.serviceClientId,
      clientSecret: DEMO.serviceClientSecret,
      audience: `${emulator.origin}/api/v2/`,
      timeoutMs: 500,
      rateLimit: null,
      maxWaitMs: 10_000,
      ...overrides,
    },
    logger: silent,
    delay: async () => undefined,
  });
  opened.push(services);
  return new Auth0ManagementApi(services, { requestId: 'req-unclear' });
}

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

describe('which write failures leave the outcome unclear', () => {
  it.each<[string, Partial<FaultRule>, string, boolean]>([
    ['a 503', { status: 503 }, 'UPSTREAM_ERROR', true],
    ['a reset before the headers', { destroy: 'before-headers' }, 'UPSTREAM_ERROR', true],
    ['a reset after the headers', { destroy: 'after-headers' }, 'UPSTREAM_ERROR', true],
    ['no answer in time', { latencyMs: 2000, status: 503 }, 'UPSTREAM_TIMEOUT', true],
    ['a 201 that is not JSON', { malformedJson: true }, 'UPSTREAM_ERROR', true],
    ['a 409', { status: 409, body: { statusCode: 409, message: 'Specified identity already exists.' } }, 'CONFLICT', false], // prettier-ignore
    ['a 400', { status: 400, body: { statusCode: 400, message: 'Provided secondary account not found.' } }, 'BAD_USER_INPUT', false], // prettier-ignore
    ['a 403', { status: 403, body: { statusCode: 403, message: 'Insufficient scope' } }, 'FORBIDDEN', false],
  ])('a link ending in %s (%j): %s, unclear: %s', async (_title, fault, code, unclear) => {
    emulator.faults.add({ route: 'link', ...fault });
    const error = await failure(api().linkIdentity(alice, github, service));
    expect(error.code).toBe(code);
    expect(isUnclearWrite(error)).toBe(unclear);
  });

  it('a link whose connection is refused is definite: the request never left', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    // A caller's own token (JWT mode): no token request, the link itself meets the closed port.
    const refused = api(`http://127.0.0.1:${closed}`);
    const error = await failure(
      refused.linkIdentity(alice, { link_with: 'an.id.token' }, { kind: 'user', token: 'a.b.c' }),
    );
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(isUnclearWrite(error)).toBe(false);
  });

  it('an unlink ending in a 5xx is unclear; a metadata PATCH after its last 5xx too; a read never is', async () => {
    emulator.faults.add({ route: 'unlink', status: 502 });
    const unlink = await failure(api().unlinkIdentity(alice, 'github', github.user_id, service));
    expect(isUnclearWrite(unlink)).toBe(true);

    emulator.faults.add({ route: 'update-user', status: 503, times: 3 });
    const patch = await failure(api().updateUser(alice, { user_metadata: { k: 1 } }));
    expect(isUnclearWrite(patch)).toBe(true);

    emulator.faults.add({ route: 'get-user', status: 503, times: 3 });
    const read = await failure(api().getUser(alice));
    expect(isUnclearWrite(read)).toBe(false);
  });

  it('a read given `withinMs` stops retrying when that time is spent', async () => {
    emulator.faults.add({ route: 'get-user', latencyMs: 2000, status: 503, times: 5 });
    const error = await failure(
      api(emulator.origin, { timeoutMs: 10_000 }).getUser(alice, service, { withinMs: 300 }),
    );
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(emulator.journal.count('get-user')).toBe(1);
  });
});
