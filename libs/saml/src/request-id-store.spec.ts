import { samlBrowserBinding, samlRequestCookieName } from '@app/fixtures';
import { crossSiteCookiesWork, holdsBrowserBinding, newBrowserBinding, requestCookieName } from './request-id-store';

describe('request-id-store (browser binding of AuthnRequests)', () => {
  describe('holdsBrowserBinding', () => {
    const { secret, binding } = newBrowserBinding();
    const id = '_request-1';
    const cookie = `${requestCookieName(id)}=${secret}`;

    it.each([
      ['the cookie of the request', cookie, true],
      ['it among other cookies', `idd_session=x; ${requestCookieName('_other')}=y; ${cookie}`, true],
      ['no Cookie header', undefined, false],
      ['the cookie of another request', `${requestCookieName('_other')}=${secret}`, false],
      ['another value under the right name', `${requestCookieName(id)}=${newBrowserBinding().secret}`, false],
      ['the stored hash itself as the value', `${requestCookieName(id)}=${binding}`, false],
      ['an empty value', `${requestCookieName(id)}=`, false],
    ])('should answer for %s', (_title, header, expected) => {
      expect(holdsBrowserBinding(header, id, binding)).toBe(expected);
    });

    it('should never match the empty binding of requests stored before the migration', () => {
      expect(holdsBrowserBinding(`${requestCookieName(id)}=`, id, '')).toBe(false);
      expect(holdsBrowserBinding(cookie, id, '')).toBe(false);
    });
  });

  describe('requestCookieName', () => {
    it('should agree with the fixtures the benches store request ids with', () => {
      const { secret, binding } = newBrowserBinding();
      expect(samlRequestCookieName('_bench_new_1')).toBe(requestCookieName('_bench_new_1'));
      expect(samlBrowserBinding(secret)).toBe(binding);
    });
  });

  describe('crossSiteCookiesWork', () => {
    it.each([
      ['https://id.example.com', true],
      ['http://localhost:3000', true],
      ['http://127.0.0.1:3000', true],
      ['http://[::1]:3000', true],
      ['http://sso.localhost', true],
      ['http://id.example.com', false],
      ['http://10.0.0.5:3000', false],
    ])('should say whether %s can set a SameSite=None; Secure cookie: %s', (url, expected) => {
      expect(crossSiteCookiesWork(url)).toBe(expected);
    });
  });
});
