import type { DemoUser } from './users';

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}' +
  'header{border-bottom:3px solid #b34700;margin-bottom:1rem}h1{font-size:1.4rem}' +
  'table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}' +
  'form.login{display:grid;grid-template-columns:max-content 16rem;gap:.5rem 1rem;align-items:center}' +
  'form.login button{grid-column:2;justify-self:start}.error{color:#a00;font-weight:bold}code{background:#f3f3f3;padding:0 .2rem}';

/** A page of the demo IdP; `body` must already be escaped. */
export function page(title: string, body: string, scriptNonce?: string, script?: string): string {
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>\n` +
    `<header><p>Demo IdP: a local SAML identity provider for trying the sign-in. Not for production.</p></header>\n` +
    `<h1>${escapeHtml(title)}</h1>\n${body}\n` +
    (script ? `<script nonce="${scriptNonce}">${script}</script>\n` : '') +
    `</body></html>\n`
  );
}

/** The demo users with their passwords and the attributes the IdP will assert. */
export function usersTable(users: readonly DemoUser[]): string {
  const rows = users
    .map((u) => `<tr><td><code>${escapeHtml(u.email)}</code></td><td><code>${escapeHtml(u.password)}</code></td><td>${escapeHtml(u.firstName)}</td><td>${escapeHtml(u.familyName)}</td><td>${escapeHtml(u.groups.join(', '))}</td></tr>`)
    .join('');
  return `<table id="demo-users"><thead><tr><th>User name</th><th>Password</th><th>firstName</th><th>familyName</th><th>groups</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The login form shown for a pending AuthnRequest (`pending` identifies it). */
export function loginPage(input: { spEntityId: string; pending: string; users: readonly DemoUser[]; userName?: string; error?: string }): string {
  return page(
    'Sign in',
    `<p>The service provider <code>${escapeHtml(input.spEntityId)}</code> asks you to sign in.</p>\n` +
      (input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>\n` : '') +
      `<form class="login" method="post" action="/sso/login">` +
      `<input type="hidden" name="pending" value="${escapeHtml(input.pending)}">` +
      `<label for="username">User name</label><input id="username" name="username" autocomplete="username" value="${escapeHtml(input.userName ?? '')}" required>` +
      `<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>` +
      `<button type="submit">Sign in</button></form>\n` +
      `<h2>Demo users</h2>\n${usersTable(input.users)}\n` +
      `<p>The IdP sends NameID = user name (emailAddress format) and the attributes <code>firstName</code>, <code>familyName</code>, ` +
      `<code>email</code> and <code>groups</code> in a signed assertion.</p>`,
  );
}

/**
 * The HTTP-POST binding: a form that carries a SAML message (the SAMLResponse to the SP's ACS, or a logout message
 * to its SLO endpoint) and submits itself.
 */
export function autoPostPage(input: { acsUrl: string; samlResponse: string; relayState?: string; nonce: string; field?: string; title?: string }): string {
  return page(
    input.title ?? 'Signing you in…',
    `<form method="post" action="${escapeHtml(input.acsUrl)}">` +
      `<input type="hidden" name="${escapeHtml(input.field ?? 'SAMLResponse')}" value="${escapeHtml(input.samlResponse)}">` +
      (input.relayState ? `<input type="hidden" name="RelayState" value="${escapeHtml(input.relayState)}">` : '') +
      `<noscript><button type="submit">Continue to the service provider</button></noscript></form>`,
    input.nonce,
    'document.forms[0].submit();',
  );
}

/** The IdP's home page: what it is, whom it knows, and who is signed in here (with a button to sign out everywhere). */
export function homePage(input: { entityId: string; users: readonly DemoUser[]; spLoginUrl?: string; signedIn?: { email: string; csrf: string } }): string {
  const session = input.signedIn
    ? `<p id="idp-session">Signed in here as <code>${escapeHtml(input.signedIn.email)}</code>.</p>` +
      `<form method="post" action="/logout"><input type="hidden" name="csrf" value="${escapeHtml(input.signedIn.csrf)}">` +
      `<button type="submit">Sign out everywhere</button></form>\n`
    : '<p id="idp-session">Nobody is signed in here.</p>\n';
  return page(
    'Demo IdP',
    `<p>This identity provider (entity ID <code>${escapeHtml(input.entityId)}</code>, metadata at <a href="/metadata">/metadata</a>) ` +
      `answers SP-initiated sign-ins, and single logout both ways: start at the service provider.</p>\n` +
      session +
      (input.spLoginUrl ? `<p><a id="sp-login" href="${escapeHtml(input.spLoginUrl)}">Sign in to the service provider with the Demo IdP</a></p>\n` : '') +
      `<h2>Demo users</h2>\n${usersTable(input.users)}`,
  );
}

/** The end of a single logout at the IdP. */
export function signedOutPage(message: string): string {
  return page('Signed out', `<p id="signed-out">${escapeHtml(message)}</p><p><a href="/">Demo IdP home</a></p>`);
}

/** Something went wrong on the IdP side; the message is shown as is (this is a demo). */
export function errorPage(message: string): string {
  return page('Demo IdP error', `<p class="error">${escapeHtml(message)}</p><p>Start the sign-in again at the service provider.</p>`);
}
