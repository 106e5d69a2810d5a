import { ConfigError, loadConfig } from '../../../src/config.js';
import { maskEmail } from '../../../src/login-link/candidates.js';

const base = { AUTH0_DOMAIN: 'tenant.eu.auth0.com', AUTH0_CLIENT_ID: 'cid', AUTH0_CLIENT_SECRET: 'shh' };
const on = {
  ...base,
  LOGIN_LINK: 'true',
  LOGIN_LINK_SECRET: 's'.repeat(32),
  LOGIN_LINK_CLIENT_ID: 'rwa',
  LOGIN_LINK_CLIENT_SECRET: 'rwa-secret',
};

function variableOf(env: Record<string, string>, options = {}): string {
  try {
    loadConfig(env, options);
  } catch (error) {
    if (error instanceof ConfigError) return error.variable;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('LOGIN_LINK configuration (DESIGN §5)', () => {
  it('is off with a real tenant, and on with the embedded emulator with its demo application', () => {
    expect(loadConfig(base).loginLink).toBeNull();
    const embedded = loadConfig(
      { ...base, AUTH0_DOMAIN: 'http://127.0.0.1:4010' },
      { embeddedEmulator: true },
    );
    expect(embedded.loginLink).toEqual({
      secret: expect.stringMatching(/^[\w-]{43}$/),
      clientId: 'demo-login-link',
      clientSecret: 'demo-login-link-secret-0123456789abcdef',
      publicUrl: null,
      mergeMetadata: true,
    });
  });

  it('reads the block, PUBLIC_URL as an origin', () => {
    const config = loadConfig({
      ...on,
      PUBLIC_URL: 'https://accounts.example.com/',
      LOGIN_LINK_MERGE_METADATA: 'false',
    });
    expect(config.loginLink).toEqual({
      secret: 's'.repeat(32),
      clientId: 'rwa',
      clientSecret: 'rwa-secret',
      publicUrl: 'https://accounts.example.com',
      mergeMetadata: false,
    });
  });

  it.each([
    [{ LOGIN_LINK_SECRET: '' }, 'LOGIN_LINK_SECRET'],
    [{ LOGIN_LINK_SECRET: 'short' }, 'LOGIN_LINK_SECRET'],
    [{ LOGIN_LINK_CLIENT_ID: '' }, 'LOGIN_LINK_CLIENT_ID'],
    [{ LOGIN_LINK_CLIENT_SECRET: '' }, 'LOGIN_LINK_CLIENT_SECRET'],
    [{ PUBLIC_URL: 'http://accounts.example.com' }, 'PUBLIC_URL'],
    [{ PUBLIC_URL: 'https://accounts.example.com/path' }, 'PUBLIC_URL'],
    [{ HOST: '0.0.0.0' }, 'PUBLIC_URL'],
    [{ LOGIN_LINK: 'yes' }, 'LOGIN_LINK'],
  ])('refuses %j naming %s', (change, variable) => {
    expect(variableOf({ ...on, ...change })).toBe(variable);
  });

  it('allows plain http for a loopback PUBLIC_URL', () => {
    expect(loadConfig({ ...on, PUBLIC_URL: 'http://127.0.0.1:4000' }).loginLink?.publicUrl).toBe(
      'http://127.0.0.1:4000',
    );
  });
});

describe('maskEmail', () => {
  it.each([
    ['alice@example.com', 'a***@example.com'],
    ['Bo@x.org', 'B***@x.org'],
    ['not-an-email', '***'],
  ])('%s → %s', (email, masked) => expect(maskEmail(email)).toBe(masked));
});
