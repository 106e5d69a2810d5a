// The HTML the emulator shows a browser: login form, social "continue as" page, errors, web_message.
import type { Reply } from './http.js';

const HTML_TYPE = 'text/html; charset=utf-8';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// The empty icon keeps browsers from asking for /favicon.ico (a 404 is a console error in browser tests).
function page(title: string, body: string, status = 200, headers: Record<string, string> = {}): Reply {
  const text = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; color: #1b1b1f; }
h1 { font-size: 1.3rem; } .note { color: #5b5b66; font-size: .9rem; }
label { display: block; margin: .8rem 0 .2rem; } input { width: 100%; padding: .45rem; box-sizing: border-box; }
button { margin-top: 1rem; padding: .5rem 1rem; cursor: pointer; }
.error { color: #a1001b; background: #fde7ea; padding: .5rem .7rem; border-radius: 4px; }
ul.connections { padding: 0; list-style: none; } ul.connections li { margin: .4rem 0; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
  return {
    status,
    body: undefined,
    text,
    headers: { 'content-type': HTML_TYPE, 'cache-control': 'no-store', ...headers },
  };
}

export interface SocialLink {
  connection: string;
  href: string;
}

export interface LoginFormPage {
  clientName: string;
  /** The database connection the form logs into. */
  connection: string;
  username?: string;
  error?: string;
  /** Other connections of the tenant (shown when no connection was asked for). */
  socialLinks: SocialLink[];
}

/** `<form method="post">` without action: it posts back to the same /authorize URL and its query. */
export function loginFormPage(o: LoginFormPage): Reply {
  const links =
    o.socialLinks.length === 0
      ? ''
      : `<p class="note">or continue with</p>\n<ul class="connections">\n${o.socialLinks
          .map(
            (l) =>
              `<li><a href="${escapeHtml(l.href)}" data-connection="${escapeHtml(l.connection)}">${escapeHtml(l.connection)}</a></li>`,
          )
          .join('\n')}\n</ul>`;
  return page(
    `Log in | ${o.clientName}`,
    `<h1>Log in to ${escapeHtml(o.clientName)}</h1>
<p class="note">Auth0 emulator · connection ${escapeHtml(o.connection)}</p>
${o.error ? `<p class="error" role="alert">${escapeHtml(o.error)}</p>` : ''}
<form method="post">
<input type="hidden" name="connection" value="${escapeHtml(o.connection)}">
<label for="username">Email or user id</label>
<input id="username" name="username" autocomplete="username" value="${escapeHtml(o.username ?? '')}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>
${links}`,
  );
}

export interface SocialUser {
  /** `provider|id` of the identity. */
  userId: string;
  label: string;
}

/** Stands in for the provider's own login: one "continue as" button per identity of the connection. */
export function socialPage(clientName: string, connection: string, users: SocialUser[]): Reply {
  const buttons = users
    .map(
      (u) =>
        `<li><button type="submit" name="user_id" value="${escapeHtml(u.userId)}" data-user-id="${escapeHtml(u.userId)}">Continue as ${escapeHtml(u.label)}</button></li>`,
    )
    .join('\n');
  return page(
    `${connection} | ${clientName}`,
    `<h1>Sign in with ${escapeHtml(connection)}</h1>
<p class="note">Auth0 emulator · standing in for ${escapeHtml(connection)} · to ${escapeHtml(clientName)}</p>
<form method="post">
<input type="hidden" name="connection" value="${escapeHtml(connection)}">
<ul class="connections">
${buttons || '<li>No user of this connection in the tenant.</li>'}
</ul>
</form>`,
  );
}

/** Auth0 shows errors it cannot send to a registered callback on a page of its own. */
export function errorPage(status: number, error: string, description: string): Reply {
  return page(
    'Error',
    `<h1>Something went wrong</h1>
<p class="error" role="alert" data-error="${escapeHtml(error)}"><strong>${escapeHtml(error)}</strong>: ${escapeHtml(description)}</p>`,
    status,
  );
}

export function loggedOutPage(headers: Record<string, string>): Reply {
  return page('Logged out', '<h1>You are logged out.</h1>', 200, headers);
}

/** Embeds a value in an inline script: JSON with `<` escaped so no `</script>` can close it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * response_mode=web_message: posts the response to the opener (popup) or parent (iframe), only to
 * the redirect_uri's origin, as @auth0/auth0-spa-js expects.
 */
export function webMessagePage(
  targetOrigin: string,
  response: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Reply {
  const message = { type: 'authorization_response', response };
  return page(
    'Authorization response',
    `<script>
(function () {
  var target = window.opener || window.parent;
  target.postMessage(${scriptJson(message)}, ${scriptJson(targetOrigin)});
})();
</script>`,
    200,
    headers,
  );
}
