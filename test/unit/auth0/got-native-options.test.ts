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

describe('installFastNativeRequestOptions', () => {
  it("builds exactly the request options got's own method builds, and leaves the options as they were", () => {
    installFastNativeRequestOptions();
    installFastNativeRequestOptions();
    expect(Options.prototype.createNativeRequestOptions).not.toBe(gotsOwn);
    for (const options of samples()) {
      const cacheBefore = { ...options.cacheOptions };
      const expected = gotsOwn.call(options);
      const actual = options.createNativeRequestOptions();
      expect(actual).toStrictEqual(expected);
      expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
      expect(options.cacheOptions).toEqual(cacheBefore);
    }
  });
});
