/**
 * Suggest account linking at login: the post-login Action of auth0-link-gateway (DESIGN §14),
 * the successor of Auth0's Account Link Extension (a Rule; Rules reached end of life).
 *
 * What it does, after every login:
 *   1. It does nothing (the login goes on untouched) when
 *      - the login comes from the service's own link client (the second login that proves
 *        control of the other account),
 *      - the user's email is not verified,
 *      - the user already has more than one identity (already linked),
 *      - the user said "don't ask again" (`app_metadata.account_linking.declined`),
 *      - the login cannot show a page (silent authentication, refresh tokens, …),
 *      - the application asked for a fresh sign-in (`prompt=login`): an app's own linking flow
 *        (its second sign-in proves the other account) or a step-up; a prompt there would
 *        take over the app's popup,
 *      - a secret is missing.
 *   2. Otherwise it asks the service, server to server, how many other accounts share the
 *      user's verified email: `POST <GATEWAY_URL>/login-link/check` with a bearer token it signs
 *      itself (HS256, `LOGIN_LINK_SECRET`, `sub` = the user id, 60 s). The service answers
 *      `{ "candidates": <count> }`, never ids. No answer within 3 s, an error or 0: the login
 *      goes on untouched. The Action never blocks a login because the service is down.
 *   3. With candidates, it sends the browser to `<GATEWAY_URL>/login-link` with a session token
 *      (`api.redirect.encodeToken`, 10 minutes). Auth0 adds `state`. The service's page lets the
 *      user pick an account and log in to it, links, and sends the browser back to Auth0's
 *      `/continue` with a session token of its own.
 *   4. `onContinuePostLogin` validates that token (`api.redirect.validateToken`: signature,
 *      expiry, `state`) and reads its `outcome`:
 *      - "linked": `api.authentication.setPrimaryUser(primaryUserId)`, so the login finishes as
 *        the account the user kept, and the application gets that account's tokens;
 *      - "declined": records `app_metadata.account_linking.declined` (the candidate ids the
 *        token's `declined` claim lists) so the next logins are not redirected;
 *      - "skipped", "failed", or a token that does not validate: the login goes on as the
 *        account just used.
 *
 * Deploying it: runtime Node 18 or later, no dependencies (it uses the global `fetch` and
 * Node's `crypto`). Secrets:
 *   GATEWAY_URL          the service's public URL (its PUBLIC_URL), e.g. https://link.example.com
 *   LOGIN_LINK_SECRET    the service's LOGIN_LINK_SECRET (at least 32 random bytes)
 *   LOGIN_LINK_CLIENT_ID the client id of the service's Regular Web Application (LOGIN_LINK_CLIENT_ID)
 *   CHECK_TIMEOUT_MS     optional: how long to wait for the check, default 3000 (ms)
 * Bind it to the Login flow (trigger `post-login`). The README shows the dashboard, Deploy CLI
 * and Terraform ways.
 */
const crypto = require('crypto');

/** How long the service has to answer the check before the login goes on without it. */
const DEFAULT_CHECK_TIMEOUT_MS = 3000;
/** Lifetime of the bearer token of the check. */
const CHECK_TOKEN_SECONDS = 60;
/** Lifetime of the session token the service's page receives. */
const SESSION_TOKEN_SECONDS = 600;
/** Logins that cannot show a page: no redirect is possible there. */
const NON_INTERACTIVE_PROTOCOLS = new Set([
  'oauth2-refresh-token',
  'oauth2-resource-owner',
  'oauth2-resource-owner-jwt-bearer',
  'oauth2-password',
  'oauth2-device-code',
  'oauth2-token-exchange',
]);

function settings(event) {
  const secrets = event.secrets || {};
  const gatewayUrl = typeof secrets.GATEWAY_URL === 'string' ? secrets.GATEWAY_URL.replace(/\/+$/, '') : '';
  const secret = secrets.LOGIN_LINK_SECRET;
  const clientId = secrets.LOGIN_LINK_CLIENT_ID;
  if (!gatewayUrl || !secret || !clientId) return undefined;
  const timeout = Number(secrets.CHECK_TIMEOUT_MS);
  return {
    gatewayUrl,
    secret,
    clientId,
    checkTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_CHECK_TIMEOUT_MS,
  };
}

/** Why this login is left alone, or undefined when the service may be asked. */
function reasonToSkip(event, config) {
  if (!config) return 'a secret (GATEWAY_URL, LOGIN_LINK_SECRET, LOGIN_LINK_CLIENT_ID) is missing';
  const user = event.user || {};
  if (event.client && event.client.client_id === config.clientId) return "the service's own link login";
  if (user.email_verified !== true) return 'the email is not verified';
  if (Array.isArray(user.identities) && user.identities.length > 1) return 'the user is already linked';
  const linking = (user.app_metadata || {}).account_linking;
  if (linking && Array.isArray(linking.declined)) return 'the user declined linking for good';
  const transaction = event.transaction || {};
  if (NON_INTERACTIVE_PROTOCOLS.has(transaction.protocol)) return 'this login cannot show a page';
  if (Array.isArray(transaction.prompt) && transaction.prompt.includes('none')) return 'a silent login';
  // An application that forces a fresh sign-in (prompt=login) is proving an account itself: the
  // second sign-in of an app's own linking flow (the demo page, examples/react) or a step-up.
  // Offering to link here would send its popup to our page.
  if (Array.isArray(transaction.prompt) && transaction.prompt.includes('login')) {
    return 'the application asked for a fresh sign-in (its own linking flow or a step-up)';
  }
  return undefined;
}

/** A compact HS256 JWT (RFC 7519) signed with Node's crypto: the Action has no dependencies. */
function signHs256(claims, secret) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  const signature = crypto.createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** The number of other accounts with this verified email; 0 on any failure (never throws). */
async function countCandidates(event, config) {
  const now = Math.floor(Date.now() / 1000);
  const token = signHs256(
    { sub: event.user.user_id, iat: now, exp: now + CHECK_TOKEN_SECONDS },
    config.secret,
  );
  try {
    const response = await fetch(`${config.gatewayUrl}/login-link/check`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: '{}',
      signal: AbortSignal.timeout(config.checkTimeoutMs),
    });
    if (!response.ok) {
      console.log(`account linking: the check answered ${response.status}; the login goes on`);
      return 0;
    }
    const body = await response.json();
    const count = body && body.candidates;
    return Number.isInteger(count) && count > 0 ? count : 0;
  } catch (error) {
    // Timeout, connection refused, bad JSON: never a reason to block a login.
    console.log(`account linking: the check failed (${error && error.name}); the login goes on`);
    return 0;
  }
}

/**
 * @param {Event} event - Details about the user and the context in which they are logging in.
 * @param {PostLoginAPI} api - Interface whose methods can be used to change the behavior of the login.
 */
exports.onExecutePostLogin = async (event, api) => {
  const config = settings(event);
  if (reasonToSkip(event, config) !== undefined) return;
  const candidates = await countCandidates(event, config);
  if (candidates === 0) return;
  // Auth0 signs it (HS256 with our secret) with iss = the tenant, sub = the user, exp, ip.
  const sessionToken = api.redirect.encodeToken({
    secret: config.secret,
    expiresInSeconds: SESSION_TOKEN_SECONDS,
    payload: {},
  });
  api.redirect.sendUserTo(`${config.gatewayUrl}/login-link`, { query: { session_token: sessionToken } });
};

/**
 * Runs when the service sends the browser back to /continue.
 *
 * @param {Event} event - Details about the user and the context in which they are logging in.
 * @param {PostLoginAPI} api - Interface whose methods can be used to change the behavior of the login.
 */
exports.onContinuePostLogin = async (event, api) => {
  const config = settings(event);
  if (!config) return;
  let payload;
  try {
    // Checks the signature (LOGIN_LINK_SECRET), exp, and that its `state` is this login's.
    payload = api.redirect.validateToken({ secret: config.secret, tokenParameterName: 'session_token' });
  } catch (error) {
    console.log(
      `account linking: the service's answer did not validate (${error && error.message}); the login goes on`,
    );
    return;
  }
  if (payload.outcome === 'linked') {
    // The account just used is now an identity of the primary: finish the login as the primary,
    // or Auth0 would finish it as a user that no longer exists.
    if (typeof payload.primaryUserId === 'string' && payload.primaryUserId !== event.user.user_id) {
      api.authentication.setPrimaryUser(payload.primaryUserId);
    }
    return;
  }
  if (payload.outcome === 'declined') {
    const current = (event.user.app_metadata || {}).account_linking || {};
    const before = Array.isArray(current.declined) ? current.declined : [];
    const now = Array.isArray(payload.declined)
      ? payload.declined.filter((id) => typeof id === 'string')
      : [];
    api.user.setAppMetadata('account_linking', { ...current, declined: [...new Set([...before, ...now])] });
  }
  // "skipped" and "failed": the login goes on as the account just used.
};
