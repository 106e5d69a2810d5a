import { DEMO } from '../../src/auth0-emulator/index.js';
import {
  LinkAccountsDocument,
  MeDocument,
  UnlinkAccountDocument,
  UserDocument,
} from '../generated/graphql.js';
import { execute } from '../support/graphql-client.js';
import { demoTokens, startHarness } from '../support/harness.js';

const { alice, aliceGoogle, bob } = DEMO.users;

it('writes no token or secret to the logs, even at LOG_LEVEL=trace and on failures', async () => {
  const h = await startHarness({ env: { LOG_LEVEL: 'trace' } });
  try {
    const tokens = await demoTokens(h.emulator);
    const badLinkWith = await h.emulator.tokens.idToken({ sub: aliceGoogle, aud: 'another-client' });
    await execute(
      h.url,
      LinkAccountsDocument,
      { primaryId: alice, input: { jwt: { linkWith: badLinkWith } } },
      { token: tokens.alice },
    );
    await execute(
      h.url,
      LinkAccountsDocument,
      { primaryId: alice, input: { jwt: { linkWith: tokens.aliceGoogleIdToken } } },
      { token: tokens.alice },
    );
    // An admin read goes out with the gateway's own service token (the journal keeps only a
    // fingerprint of it, so it is taken from the gateway's cache).
    await execute(h.url, UserDocument, { id: bob }, { token: tokens.admin });
    const serviceToken = await h.gateway.services.tokens.getToken();
    h.emulator.faults.add({
      route: 'get-user',
      status: 503,
      body: { statusCode: 503, error: 'x', message: `echo ${serviceToken}` },
    });
    h.emulator.faults.add({
      route: 'link',
      status: 500,
      body: { statusCode: 500, error: 'x', message: `echo ${tokens.admin} ${serviceToken}` },
    });
    await execute(
      h.url,
      LinkAccountsDocument,
      { primaryId: alice, input: { admin: { provider: 'github', userId: '4031337' } } },
      { token: tokens.admin },
    );
    await execute(
      h.url,
      UnlinkAccountDocument,
      { primaryId: alice, provider: 'google-oauth2', userId: aliceGoogle },
      { token: tokens.alice },
    );
    await execute(h.url, MeDocument, {}, { token: `${tokens.alice}x` });

    expect(h.logLines.length).toBeGreaterThan(5);
    const logs = h.logLines.join('\n');
    for (const secret of [
      tokens.alice,
      tokens.admin,
      tokens.aliceGoogleIdToken,
      badLinkWith,
      serviceToken,
      DEMO.serviceClientSecret,
    ]) {
      expect(logs).not.toContain(secret);
      // Nor any part of it: a JWT payload alone still carries personal data.
      for (const part of secret.split('.').filter((p) => p.length > 20)) expect(logs).not.toContain(part);
    }
  } finally {
    await h.close();
  }
});
