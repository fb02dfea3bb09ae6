import { escapeHtml } from '../pages';
import type { OidcAccount } from './oidc-provider-options';

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}' +
  'header{border-bottom:3px solid #1f5fa8;margin-bottom:1rem}h1{font-size:1.4rem}' +
  'ul.accounts{list-style:none;padding:0}ul.accounts li{margin:.5rem 0}ul.accounts form{display:inline}' +
  'small{color:#555}.error{color:#a00;font-weight:bold}code{background:#f3f3f3;padding:0 .2rem}';

/** A page of the OpenID provider; `body` must already be escaped. No script, no external asset. */
export function providerPage(displayName: string, title: string, body: string): string {
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>\n` +
    `<header><p>${escapeHtml(displayName)}: a local OpenID Connect provider for trying the sign-in. Not for production.</p></header>\n` +
    `<h1>${escapeHtml(title)}</h1>\n${body}\n</body></html>\n`
  );
}

/** How an account is named on its button: its name claims, else its email, else its `sub`. */
export function accountLabel(account: OidcAccount): string {
  const c = account.claims;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  const joined = (a: unknown, b: unknown) => [str(a), str(b)].filter(Boolean).join(' ') || undefined;
  return str(c.name) ?? joined(c.given_name, c.family_name) ?? joined(c.firstName, c.lastName) ?? str(c.email) ?? account.sub;
}

/**
 * The login page of an interaction: one "Sign in as …" button per account, each a form posting `login=<sub>` to
 * `${action}`. No password: this provider stands in for an IdP whose authentication is not what is under test.
 */
export function loginPage(input: { displayName: string; clientId: string; action: string; accounts: readonly OidcAccount[] }): string {
  const items = input.accounts
    .map(
      (a) =>
        `<li><form method="post" action="${escapeHtml(input.action)}"><input type="hidden" name="login" value="${escapeHtml(a.sub)}">` +
        `<button type="submit">Sign in as ${escapeHtml(accountLabel(a))}</button></form> <small>sub <code>${escapeHtml(a.sub)}</code>` +
        (typeof a.claims.email === 'string' ? `, ${escapeHtml(a.claims.email)}` : '') +
        (Array.isArray(a.claims.groups) ? `, groups: ${escapeHtml(a.claims.groups.join(', '))}` : '') +
        `</small></li>`,
    )
    .join('');
  return providerPage(
    input.displayName,
    'Sign in',
    `<p>The application <code>${escapeHtml(input.clientId)}</code> asks you to sign in.</p>\n<ul class="accounts">${items}</ul>`,
  );
}

/** Something went wrong at the provider; the message is shown as is (demo and test only). */
export function providerErrorPage(displayName: string, message: string): string {
  return providerPage(displayName, 'Sign-in error', `<p class="error">${escapeHtml(message)}</p><p>Start the sign-in again at the application.</p>`);
}
