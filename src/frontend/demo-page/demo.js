// The demo page (DESIGN §6): the reference for frontend developers. Plain browser JavaScript,
// no build step; the Auth0 SDK is the UMD bundle loaded just before this module.

/** What each `extensions.code` / `extensions.reason` tells a frontend (DESIGN §4). */
const ERRORS = [
  [
    'UNAUTHENTICATED',
    '',
    'No valid access token (missing, expired, wrong issuer or audience): sign in again.',
  ],
  ['FORBIDDEN', 'SUBJECT_MISMATCH', 'The token belongs to another user than primaryId.'],
  [
    'FORBIDDEN',
    'INSUFFICIENT_SCOPE',
    'The access token lacks update:current_user_identities (or read:current_user): ask for that scope.',
  ],
  ['FORBIDDEN', 'EMAIL_NOT_VERIFIED', 'Admin mode only: both accounts need a verified email.'],
  ['FORBIDDEN', 'EMAIL_MISMATCH', 'Admin mode only: both accounts need the same email.'],
  [
    'BAD_USER_INPUT',
    'INVALID_LINK_TOKEN',
    'linkWith is not a valid ID token of this tenant for this app (expired, other client, not RS256): sign in to the second account again.',
  ],
  ['BAD_USER_INPUT', 'SAME_ACCOUNT', 'The second account is the signed-in account itself.'],
  ['BAD_USER_INPUT', 'SECONDARY_NOT_FOUND', 'The second account does not exist (any more).'],
  ['BAD_USER_INPUT', 'MAIN_IDENTITY', "A user's own main identity cannot be unlinked."],
  ['BAD_USER_INPUT', '', 'The request itself is wrong (ids, arguments); the message says what.'],
  ['NOT_FOUND', 'PRIMARY_NOT_FOUND', 'The signed-in user no longer exists at Auth0.'],
  ['NOT_FOUND', '', 'The user or identity does not exist: refresh the list.'],
  ['CONFLICT', 'ALREADY_LINKED', 'That account is already linked to a user: unlink it there first.'],
  [
    'NOT_FOUND',
    'UNDO_EXPIRED',
    'The link can no longer be undone (its undo window has passed): unlink it instead.',
  ],
  ['UPSTREAM_ERROR', 'UNDO_INCOMPLETE', 'The undo stopped part way: click Undo again to finish it.'],
  ['UPSTREAM_TIMEOUT', 'UNDO_INCOMPLETE', 'The undo stopped part way: click Undo again to finish it.'],
  ['RATE_LIMITED', 'CALLER_LIMIT', 'You tried too often: wait extensions.retryAfter seconds.'],
  ['RATE_LIMITED', 'TENANT_LIMIT', "The tenant's Auth0 budget is spent: wait extensions.retryAfter seconds."],
  ['UPSTREAM_ERROR', '', 'Auth0 failed or answered something unexpected: try again later.'],
  [
    'UPSTREAM_TIMEOUT',
    '',
    'Auth0 did not answer in time; a link may or may not have happened: refresh first.',
  ],
];

const $ = (selector) => document.querySelector(selector);
const JWT = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;

/** A copy of `value` safe to show: every JWT (bearer, ID token) replaced by a marker. */
function elideTokens(value) {
  if (typeof value === 'string') return value.replace(JWT, '<JWT elided>');
  if (Array.isArray(value)) return value.map(elideTokens);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, elideTokens(v)]));
  }
  return value;
}

/** Adds an entry at the top of the log: a title, then each part (text as is, objects as JSON). */
function appendLog(kind, title, ...parts) {
  const item = document.createElement('li');
  item.className = kind;
  const heading = document.createElement('div');
  heading.className = 'log-title';
  heading.textContent = title;
  item.append(heading);
  for (const part of parts) {
    const pre = document.createElement('pre');
    pre.textContent = typeof part === 'string' ? part : JSON.stringify(elideTokens(part), null, 2);
    item.append(pre);
  }
  $('#log').prepend(item);
}

function showProblem(error) {
  const section = $('#problem');
  if (!error) {
    section.hidden = true;
    return;
  }
  const code = error.extensions?.code ?? error.error ?? 'ERROR';
  const reason = error.extensions?.reason ?? '';
  const match =
    ERRORS.find(([c, r]) => c === code && r === reason) ?? ERRORS.find(([c, r]) => c === code && r === '');
  $('#problem-code').textContent = code;
  $('#problem-reason').textContent = reason;
  $('#problem-message').textContent = error.message ?? error.error_description ?? String(error);
  $('#problem-explanation').textContent = match ? match[2] : '';
  section.hidden = false;
}

function renderErrorTable() {
  const body = $('#error-table tbody');
  for (const [code, reason, meaning] of ERRORS) {
    const row = body.insertRow();
    for (const text of [code, reason || '—', meaning]) row.insertCell().textContent = text;
  }
}

async function main() {
  renderErrorTable();
  const config = await (await fetch('/demo/config.json')).json();
  $('#tenant').textContent = config.auth0Domain;
  $('#client-id').textContent = config.clientId;
  if (config.ideUrl) {
    $('#ide-link').href = config.ideUrl;
    $('#ide-hint').hidden = false;
  }
  const redirectUri = `${window.location.origin}/`;
  const { createAuth0Client, Auth0Client } = window.auth0;

  // The signed-in (primary) user. Tokens stay in this page's memory, never in localStorage or
  // sessionStorage, where any script injected into the page could read them: this access token
  // may link identities into the account. Refresh tokens (rotated by the tenant) are kept by the
  // SDK in a Web Worker. After a reload the SDK signs in again silently through the tenant's
  // session (prompt=none in a hidden iframe): createAuth0Client does that before it resolves.
  const primary = await createAuth0Client({
    domain: config.auth0Domain,
    clientId: config.clientId,
    cacheLocation: 'memory',
    useRefreshTokens: true,
    useRefreshTokensFallback: true,
    authorizationParams: { redirect_uri: redirectUri, audience: config.audience, scope: config.scope },
  });
  // A second client for the account to link, its tokens in memory too and never replacing the
  // primary's. Only its ID token is used (as `linkWith`); it needs no silent sign-in at start.
  const secondary = new Auth0Client({
    domain: config.auth0Domain,
    clientId: config.clientId,
    cacheLocation: 'memory',
    authorizationParams: { redirect_uri: redirectUri, scope: 'openid profile email' },
  });

  /**
   * POSTs one operation with the primary's access token; logs both directions. A service with
   * trusted documents (TRUSTED_DOCUMENTS) gets the document's id only, as the GraphQL-over-HTTP
   * proposal sends it; otherwise the document itself.
   */
  async function graphql(name, variables) {
    const token = await primary.getTokenSilently();
    const query = config.operations[name];
    const operationName = query.match(/\b(?:query|mutation)\s+(\w+)/)[1];
    const request = config.trustedDocuments
      ? { operationName, documentId: config.documentIds[name], variables }
      : { operationName, query, variables };
    appendLog('request', `→ POST ${config.graphqlUrl} · ${operationName}`, query, {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(request.documentId ? { documentId: request.documentId } : {}),
      variables,
    });
    const response = await fetch(config.graphqlUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    const body = await response.json();
    appendLog(body.errors ? 'response error' : 'response', `← ${response.status} · ${operationName}`, body);
    showProblem(body.errors?.[0]);
    return body;
  }

  let me = null;

  function renderIdentities(identities) {
    const body = $('#identities tbody');
    body.replaceChildren();
    identities.forEach((identity, index) => {
      const row = body.insertRow();
      row.dataset.identityId = identity.id;
      // Auth0 keeps the main identity's profile on the user itself, not in profileData.
      const email = index === 0 ? me.email : identity.profileData?.email;
      const cells = [identity.provider, identity.userId, identity.connection, email ?? ''];
      for (const text of cells) row.insertCell().textContent = text;
      const action = row.insertCell();
      if (index === 0) {
        action.textContent = 'main identity';
        action.className = 'muted';
      } else {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'unlink secondary';
        button.textContent = 'Unlink';
        button.dataset.provider = identity.provider;
        button.dataset.userId = identity.userId;
        action.append(button);
      }
    });
    $('#identity-count').textContent = `(${identities.length})`;
  }

  async function refresh() {
    const result = await graphql('me', {});
    if (result.data?.me) {
      me = result.data.me;
      $('#user-email').textContent = me.email ?? '';
      $('#user-id').textContent = me.id;
      renderIdentities(me.identities);
    }
  }

  async function run(action) {
    document.body.dataset.state = 'busy';
    try {
      await action();
    } catch (error) {
      appendLog('error', `✗ ${error.error ?? error.name ?? 'Error'}`, {
        error: error.error,
        message: error.error_description ?? error.message,
      });
      showProblem(error);
    } finally {
      const state = (await primary.isAuthenticated()) ? 'signed-in' : 'signed-out';
      document.body.dataset.state = state;
      $('#signed-out').hidden = state !== 'signed-out';
      $('#signed-in').hidden = state !== 'signed-in';
    }
  }

  $('#sign-in').addEventListener('click', () => run(() => primary.loginWithRedirect()));
  $('#sign-out').addEventListener('click', () =>
    run(() => primary.logout({ logoutParams: { returnTo: redirectUri } })),
  );

  /** The linkAccounts input the shown preview was made for; null while no preview is open. */
  let pendingInput = null;

  function closePreview() {
    pendingInput = null;
    $('#preview').hidden = true;
  }

  /** A list of metadata keys as text, or what an empty list means here. */
  const keyList = (keys, none) => (keys.length ? keys.join(', ') : none);

  /**
   * Shows what linkAccounts with `input` would do (linkPreview): allowed or the refusal, the
   * identities after, the secondary's user_metadata keys kept and those Auth0 discards. Roles and
   * memberships are carried in admin mode only, so this jwt-mode page shows the metadata parts.
   */
  function showPreview(preview, input) {
    const panel = $('#preview');
    panel.classList.toggle('refused', !preview.allowed);
    $('#preview-verdict').textContent = preview.allowed
      ? 'Allowed: linking would give you these identities.'
      : `Refused: ${preview.refusal.code}${preview.refusal.reason ? ` ${preview.refusal.reason}` : ''}. ${preview.refusal.message}`;
    const known = new Set(me.identities.map((identity) => identity.id));
    const body = $('#preview-identities tbody');
    body.replaceChildren();
    for (const identity of preview.identitiesAfter) {
      const row = body.insertRow();
      row.dataset.identityId = identity.id;
      const added = !known.has(identity.id);
      for (const text of [identity.provider, identity.userId, identity.connection, added ? 'added' : '']) {
        row.insertCell().textContent = text;
      }
    }
    // A refusal keeps nothing and discards nothing: only the verdict and Cancel are shown.
    $('#preview-identities').hidden = !preview.allowed;
    $('#preview dl').hidden = !preview.allowed;
    $('#preview-kept').textContent = preview.carriedOver
      ? `user_metadata keys: ${keyList(preview.carriedOver.userMetadataKeys, 'none to merge')}`
      : 'its identity only (mergeMetadata not asked)';
    $('#preview-discarded').textContent =
      `user_metadata keys: ${keyList(preview.discarded.userMetadataKeys, 'none')}`;
    $('#preview-calls').textContent = String(preview.auth0Calls);
    $('#preview-link').hidden = !preview.allowed;
    pendingInput = preview.allowed ? input : null;
    panel.hidden = false;
    // The refusal is also explained as any error is: code, reason and what the app should do.
    if (!preview.allowed) showProblem({ message: preview.refusal.message, extensions: preview.refusal });
  }

  $('#link-form').addEventListener('submit', (event) => {
    event.preventDefault();
    closePreview();
    closeUndo();
    const connection = $('#connection').value;
    const mergeMetadata = $('#merge-metadata').checked;
    run(async () => {
      // prompt=login: always sign in to the second account, even with a session at Auth0.
      await secondary.loginWithPopup({ authorizationParams: { connection, prompt: 'login' } });
      const claims = await secondary.getIdTokenClaims();
      const input = { jwt: { linkWith: claims.__raw, mergeMetadata } };
      // Nothing changes yet: the preview runs the link's checks and reads, without any write.
      const result = await graphql('preview', { primaryId: me.id, input });
      if (result.data) showPreview(result.data.linkPreview, input);
    });
  });

  $('#preview-link').addEventListener('click', () => {
    const input = pendingInput;
    if (!input) return;
    closePreview();
    closeUndo();
    run(async () => {
      const result = await graphql('link', { primaryId: me.id, input });
      if (result.data) {
        const before = new Set(me.identities.map((identity) => identity.id));
        me = { ...me, identities: result.data.linkAccounts.identities };
        renderIdentities(me.identities);
        const linked = me.identities.find((identity) => !before.has(identity.id));
        showUndo(result.data.linkAccounts.linkId, linked);
      }
    });
  });

  /** The linkId the Undo button takes back; null while no undo is offered. */
  let undoableLinkId = null;

  /**
   * Offers to take back the link just made (undoLink). The page cannot know LINK_UNDO_WINDOW, so
   * the offer stays until the next action; a click past the window gets UNDO_EXPIRED, explained.
   */
  function showUndo(linkId, identity) {
    undoableLinkId = linkId;
    $('#undo-line').textContent = identity
      ? `Linked ${identity.provider} ${identity.userId}.`
      : `Link ${linkId} can be undone.`;
    $('#undo-kept').hidden = true;
    $('#undo-link').hidden = false;
    $('#undo').hidden = false;
  }

  function closeUndo() {
    undoableLinkId = null;
    $('#undo').hidden = true;
  }

  $('#undo-link').addEventListener('click', () => {
    const linkId = undoableLinkId;
    if (!linkId) return;
    closeUndo();
    run(async () => {
      const result = await graphql('undo', { linkId });
      const undone = result.data?.undoLink;
      if (!undone) {
        // A repeated undoLink resumes where an interrupted one stopped: offer it again.
        if (result.errors?.[0]?.extensions?.reason === 'UNDO_INCOMPLETE') showUndo(linkId, null);
        return;
      }
      me = { ...me, identities: undone.primary.identities };
      renderIdentities(me.identities);
      // Keys, roles or memberships the primary changed after the link stay as they are: say which.
      if (undone.keptOnPrimary.length) {
        $('#undo-line').textContent = `Link undone: ${undone.restored.id} is a separate account again.`;
        $('#undo-kept').textContent =
          `Left on your account (changed since the link): ${undone.keptOnPrimary.join(', ')}`;
        $('#undo-kept').hidden = false;
        $('#undo-link').hidden = true;
        $('#undo').hidden = false;
      }
    });
  });

  $('#preview-cancel').addEventListener('click', () => {
    closePreview();
    appendLog('cancelled', 'Link cancelled: nothing was sent to linkAccounts');
  });

  $('#identities').addEventListener('click', (event) => {
    const button = event.target.closest('button.unlink');
    if (!button) return;
    closeUndo();
    run(async () => {
      const result = await graphql('unlink', {
        primaryId: me.id,
        provider: button.dataset.provider,
        userId: button.dataset.userId,
      });
      if (result.data) {
        me = { ...me, identities: result.data.unlinkAccount.identities };
        renderIdentities(me.identities);
      }
    });
  });

  const params = new URLSearchParams(window.location.search);
  await run(async () => {
    if (params.has('state') && (params.has('code') || params.has('error'))) {
      // Back from Auth0: the SDK checks state, exchanges the code (PKCE) and stores the tokens.
      window.history.replaceState({}, '', '/');
      await primary.handleRedirectCallback(`${redirectUri}?${params}`);
    }
    if (await primary.isAuthenticated()) await refresh();
  });
}

main().catch((error) => {
  showProblem(error);
  document.body.dataset.state = 'failed';
});
