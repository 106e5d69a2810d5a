import http from 'node:http';
import https from 'node:https';
import { Options } from 'got';
import { installFastNativeRequestOptions } from '../../../src/auth0/got-native-options.js';

const gotsOwn = Options.prototype.createNativeRequestOptions;

/** Options as the gateway's got instance builds them, and a few with every cache and TLS setting. */
function samples(): Options[] {
  const defaults = new Options({
    prefixUrl: 'http://127.0.0.1:4000',
    agent: { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    responseType: 'text',
    timeout: { connect: 3000, secureConnect: 3000, request: 10_000 },
    headers: { 'user-agent': 'auth0-link-gateway', accept: 'application/json' },
  });
  return [
    new Options('api/v2/users/auth0%7C1/identities', { method: 'POST', json: { link_with: 'x' } }, defaults),
    new Options('api/v2/users', { method: 'GET', searchParams: { q: 'user_id:"a"' } }, defaults),
    new Options('https://tenant.example/oauth/token', {
      method: 'POST',
      form: { grant_type: 'client_credentials' },
      cacheOptions: { shared: false, immutableMinTimeToLive: 1000 },
      https: { rejectUnauthorized: false, minVersion: 'TLSv1.2', alpnProtocols: ['http/1.1'] },
      dnsLookupIpVersion: 4,
    }),
  ];
}

/** What Node sees of an options object: an absent key reads as undefined, as an undefined one does. */
function definedEntries(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

// tls.connect spreads the options over its own defaults for these: an undefined one must stay.
const TLS_DEFAULTED = ['rejectUnauthorized', 'ciphers', 'checkServerIdentity', 'minDHSize'];

describe('installFastNativeRequestOptions', () => {
  it("builds got's own request options without the undefined ones, and leaves the options as they were", () => {
    installFastNativeRequestOptions();
    installFastNativeRequestOptions();
    expect(Options.prototype.createNativeRequestOptions).not.toBe(gotsOwn);
    for (const options of samples()) {
      const cacheBefore = { ...options.cacheOptions };
      const expected = gotsOwn.call(options) as Record<string, unknown>;
      const actual = options.createNativeRequestOptions() as Record<string, unknown>;
      expect(definedEntries(actual)).toStrictEqual(definedEntries(expected));
      const kept = Object.keys(expected).filter(
        (k) => expected[k] !== undefined || TLS_DEFAULTED.includes(k),
      );
      expect(Object.keys(actual).sort()).toEqual(kept.sort());
      expect(options.cacheOptions).toEqual(cacheBefore);
    }
  });

  it('keeps the options tls.connect defaults even when got leaves them undefined', () => {
    installFastNativeRequestOptions();
    const actual = new Options('https://tenant.example/api/v2/users').createNativeRequestOptions();
    expect(actual).toHaveProperty('rejectUnauthorized');
    expect(actual).toHaveProperty('ciphers');
    expect(actual.ciphers).toBeUndefined();
    expect(typeof actual.checkServerIdentity).toBe('function');
  });
});
