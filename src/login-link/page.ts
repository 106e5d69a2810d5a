// The pages of linking at login: server-rendered HTML, no script, the demo page's stylesheet.
import { maskEmail } from './candidates.js';

export interface ChoicePage {
  /** The account just used: its connection and email (masked like the candidates'). */
  current: { connection: string; email: string | null };
  candidates: { userId: string; connection: string; email: string }[];
  csrf: string;
}

const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/login-link/style.css">
</head>
<body>
<header><h1>${escapeHtml(title)}</h1></header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The choice: one form, one button per candidate, "Not now" and "Don't ask again". */
export function renderChoicePage(page: ChoicePage): string {
  const current = `<strong>${escapeHtml(page.current.connection)}</strong>${
    page.current.email ? ` (<code>${escapeHtml(maskEmail(page.current.email))}</code>)` : ''
  }`;
  const rows = page.candidates
    .map(
      (c) => `<tr>
<td><strong>${escapeHtml(c.connection)}</strong></td>
<td><code>${escapeHtml(maskEmail(c.email))}</code></td>
<td><button type="submit" name="candidate" value="${escapeHtml(c.userId)}">Link to this account</button></td>
</tr>`,
    )
    .join('\n');
  return layout(
    'You already have an account',
    `<section>
<p>You signed in with ${current}. The same verified email belongs to ${
      page.candidates.length === 1 ? 'another account' : `${page.candidates.length} other accounts`
    }. Link them, and you sign in to one account with either.</p>
<p class="hint">To link, sign in to the account you choose once more: it proves it is yours.</p>
<form method="post" action="/login-link/start">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<table>
<thead><tr><th>connection</th><th>email</th><th></th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p>
<button type="submit" name="decision" value="skip" class="secondary">Not now</button>
<button type="submit" name="decision" value="never" class="secondary">Don't ask again for this account</button>
</p>
</form>
</section>`,
  );
}

/** What went wrong, in one sentence; `continueUrl` hands the login back to Auth0 when it can. */
export function renderMessagePage(sentence: string, continueUrl: string | null): string {
  return layout(
    'Account linking',
    `<section id="problem">
<p role="alert">${escapeHtml(sentence)}</p>
${
  continueUrl
    ? `<p><a href="${escapeHtml(continueUrl)}" data-continue>Continue signing in</a></p>`
    : '<p class="hint">Sign in to the application again to continue.</p>'
}
</section>`,
  );
}
