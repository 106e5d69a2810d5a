import { decodeJwt } from 'jose';
import { DEMO, journalFingerprint } from '../../../src/auth0-emulator/index.js';
import { LinkAccountsDocument } from '../../generated/graphql.js';
import { execute } from '../../support/graphql-client.js';
import { startHarness, type Harness } from '../../support/harness.js';
import {
  callbackParams,
  CookieJar,
  exchangeCode,
  loginWithForm,
  loginWithSocial,
  SPA_CALLBACK,
  spaParams,
} from './browser-login.js';

const { alice, aliceGoogle } = DEMO.users;

describe('tokens from browser logins are what the gateway needs for linkAccounts (jwt mode)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  async function codeToTokens(res: Response, verifier: string) {
    const tokens = await exchangeCode(h.emulator, {
      client_id: DEMO.spaClientId,
      code: callbackParams(res).code,
      code_verifier: verifier,
      redirect_uri: SPA_CALLBACK,
    });
    expect(tokens.status).toBe(200);
    return tokens.body as { access_token: string; id_token: string };
  }

  it('links the Google account with tokens obtained only through /authorize and /oauth/token', async () => {
    const jar = new CookieJar();
    // The primary signs in with the database form (loginWithRedirect).
    const primary = spaParams(h.emulator);
    const primaryLogin = await loginWithForm(
      h.emulator,
      jar,
      primary.params,
      'alice@example.com',
      DEMO.passwords.alice,
    );
    const primaryTokens = await codeToTokens(primaryLogin.res, primary.verifier);

    // The secondary signs in through the social page with the same SPA client (loginWithPopup).
    const secondary = spaParams(h.emulator, { connection: 'google-oauth2', prompt: 'login' });
    const secondaryLogin = await loginWithSocial(h.emulator, jar, secondary.params, aliceGoogle);
    const secondaryTokens = await codeToTokens(secondaryLogin.res, secondary.verifier);
    expect(decodeJwt(secondaryTokens.id_token).aud).toBe(decodeJwt(primaryTokens.access_token).azp);

    const result = await execute(
      h.url,
      LinkAccountsDocument,
      { primaryId: alice, input: { jwt: { linkWith: secondaryTokens.id_token } } },
      { token: primaryTokens.access_token },
    );
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.linkAccounts.identities.map((i) => i.id)).toEqual([alice, aliceGoogle]);
    const calls = h.emulator.journal.entries({ route: 'link' });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      status: 201,
      headers: { authorization: `Bearer ${journalFingerprint(primaryTokens.access_token)}` },
      body: { link_with: secondaryTokens.id_token },
    });

    // As on Auth0, the linked Google account now signs in as its primary.
    const again = spaParams(h.emulator, { connection: 'google-oauth2', prompt: 'login' });
    const againLogin = await loginWithSocial(h.emulator, new CookieJar(), again.params, aliceGoogle);
    expect(decodeJwt((await codeToTokens(againLogin.res, again.verifier)).id_token).sub).toBe(alice);
  });
});
