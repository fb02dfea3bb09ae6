import type { Browser } from 'playwright-core';
import { loadConfig } from '@app/config';
import { createGroup, createJitIdentityProvider, groupsFromAssertion } from '@app/fixtures';
import { createApp } from '../apps/admin-api/src/create-app';
import { launchChromium } from './support/browser';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { ADMIN_ID, ADMIN_SECRET, expectScimError, expectStatus, freePort, freshDatabase, TestServer } from './support/server';

/** Issue 11: group deletion reaching identity providers, log injection, security headers, unaudited credentials. */
describe('hardening (issue 11)', () => {
  let s: TestServer;
  let cert: TestKeyPair;

  beforeAll(async () => {
    s = await TestServer.start();
    cert = await makeKeyPair('hardening');
  });
  afterAll(async () => {
    await s?.stop();
  });

  /** The audit events of one event type about one resource. */
  async function eventsAbout(eventId: string, resourceId: string): Promise<any[]> {
    const res = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`eventId eq "${eventId}" and adminResourceId eq "${resourceId}"`)}`);
    expectStatus(res, 200);
    return res.body.Resources ?? [];
  }

  async function provisioningToken(name: string): Promise<string> {
    const created = await s.api('POST', '/admin/v1/ProvisioningTokens', { name });
    expectStatus(created, 201);
    return created.body.token;
  }

  describe('DELETE /admin/v1/Groups/{id}?forceDelete=true on a group a JIT mapping uses', () => {
    let n = 0;
    /** A group, and an IdP whose JIT group mapping points at it. */
    async function mappedGroup(): Promise<{ groupId: string; idpId: string }> {
      n++;
      const groupId = await createGroup(s, `JIT target ${n}`);
      const { idpId } = await createJitIdentityProvider(s, {
        partnerName: `Hardening IdP ${n}`,
        partnerProviderId: `https://idp${n}.hardening.test/metadata`,
        idpSsoUrl: `https://idp${n}.hardening.test/sso`,
        signingCertificate: cert.certificateB64,
        settings: groupsFromAssertion([{ idpGroup: 'Admins', value: groupId }]),
      });
      return { groupId, idpId };
    }

    it.each([
      ['a UserAdministrator', () => s.tokenWithRoles('UserAdministrator')],
      ['a provisioning token', () => provisioningToken('okta scim')],
    ])('should refuse %s (403) and change neither the group nor the identity provider', async (_who, tokenFor) => {
      const { groupId, idpId } = await mappedGroup();
      const refused = await s.api('DELETE', `/admin/v1/Groups/${groupId}?forceDelete=true`, undefined, { token: await tokenFor() });
      expectScimError(refused, 403);
      expect(refused.body.detail).toMatch(/Hardening IdP \d+/);
      expect(refused.body.detail).toContain('IdentityDomainAdministrator');
      expectStatus(await s.api('GET', `/admin/v1/Groups/${groupId}`), 200);
      const idp = await s.api('GET', `/admin/v1/IdentityProviders/${idpId}`);
      expect(idp.body.jitUserProvGroupMappings.map((g: any) => [g.idpGroup, g.value])).toEqual([['Admins', groupId]]);
      expect(await eventsAbout('admin.IdentityProvider.update', idpId)).toEqual([]);
    });

    it('should let an IdentityDomainAdministrator remove the mapping, audited with the administrator as actor', async () => {
      const { groupId, idpId } = await mappedGroup();
      const deleted = await s.api('DELETE', `/admin/v1/Groups/${groupId}?forceDelete=true`, undefined, { headers: { 'opc-request-id': 'hardening-force-delete' } });
      expectStatus(deleted, 204);
      expect((await s.api('GET', `/admin/v1/IdentityProviders/${idpId}`)).body.jitUserProvGroupMappings).toBeUndefined();
      const [event, ...more] = await eventsAbout('admin.IdentityProvider.update', idpId);
      expect(more).toEqual([]);
      expect(event).toMatchObject({ actorId: ADMIN_ID, actorType: 'Client', correlationId: 'hardening-force-delete' });
    });
  });

  describe('log lines', () => {
    it('should escape a line break in a SAML Issuer instead of writing a forged log line', async () => {
      // A server of our own: TestServer logs errors only, and the refusal is logged as a warning.
      const db = await freshDatabase();
      const port = await freePort();
      const config = loadConfig({ PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: db.url, ADMIN_CLIENT_ID: ADMIN_ID, ADMIN_CLIENT_SECRET: ADMIN_SECRET });
      const app = await createApp(config, { logger: ['fatal', 'error', 'warn'] });
      await app.listen(port, '127.0.0.1');
      const written: string[] = [];
      const capture = (chunk: unknown) => {
        written.push(String(chunk));
        return true;
      };
      const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
      const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
      try {
        const xml =
          '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ' +
          `ID="_forged" Version="2.0" IssueInstant="${new Date().toISOString()}">` +
          '<saml:Issuer>https://attacker.example\n[Nest] 1 - forged</saml:Issuer></samlp:Response>';
        const res = await fetch(`http://127.0.0.1:${port}/fed/v1/sp/sso`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ SAMLResponse: Buffer.from(xml).toString('base64') }).toString(),
        });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      } finally {
        out.mockRestore();
        err.mockRestore();
        await app.close();
        await db.drop();
      }
      const lines = written.join('').split(/\r\n|\r|\n|\u2028|\u2029/);
      // The refusal was logged (else the next assertion proves nothing), with the Issuer's line break escaped.
      const refusal = lines.filter((l) => l.includes('https://attacker.example'));
      expect(refusal.length).toBeGreaterThan(0);
      for (const l of refusal) expect(l).toContain('https://attacker.example\\n[Nest] 1 - forged');
      expect(lines.filter((l) => /^(\x1b\[[0-9;]*m)*\[Nest\] 1 - forged/.test(l))).toEqual([]);
    });
  });

  describe('response headers', () => {
    it('should forbid sniffing, framing and Referer on every response, and send no HSTS over http', async () => {
      for (const res of [await s.api('GET', '/admin/v1/Users'), await s.api('GET', '/admin/v1/Users', undefined, { token: null }), await s.raw('GET', '/health')]) {
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
        expect(res.headers.get('x-frame-options')).toBe('DENY');
        expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
        expect(res.headers.get('strict-transport-security')).toBeNull();
      }
    });

    it('should send HSTS when PUBLIC_URL is https', async () => {
      const https = await TestServer.start({ PUBLIC_URL: 'https://id.hardening.test' });
      try {
        expect((await https.raw('GET', '/health')).headers.get('strict-transport-security')).toMatch(/^max-age=31536000/);
      } finally {
        await https.stop();
      }
    });

    it('should keep the SSO pages’ own policy', async () => {
      const page = await s.raw('GET', '/myprofile');
      expect(page.status).toBe(401);
      expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    });

    it.each([
      ['an AdminClient', '/admin/v1/AdminClients', { name: 'no-store client', roles: ['Auditor'] }],
      ['a ProvisioningToken', '/admin/v1/ProvisioningTokens', { name: 'no-store token' }],
    ])('should forbid caching the response that carries the secret of %s', async (_what, path, body) => {
      const created = await s.api('POST', path, body);
      expectStatus(created, 201);
      expect(created.headers.get('cache-control')).toBe('no-store');
    });

    describe('Swagger UI', () => {
      let browser: Browser;
      beforeAll(async () => {
        browser = await launchChromium();
      });
      afterAll(async () => {
        await browser?.close();
      });

      it('should have a policy that forbids framing and that its page works under, without a violation', async () => {
        const res = await s.raw('GET', '/api-docs');
        const csp = res.headers.get('content-security-policy') ?? '';
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).toContain("script-src 'self'");
        expect(csp).not.toContain('unsafe-eval');
        expect(res.headers.get('x-frame-options')).toBe('DENY');

        const page = await browser.newPage();
        const violations: string[] = [];
        await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
        await page.addInitScript(() =>
          document.addEventListener('securitypolicyviolation', (e) => (window as any).reportViolation(`${e.violatedDirective} ${e.blockedURI}`)),
        );
        await page.goto(`${s.baseUrl}/api-docs`);
        await page.locator('#operations-Users-UsersController_list').waitFor();
        await page.locator('#operations-Users-UsersController_list .opblock-summary').click();
        await page.getByRole('button', { name: 'Try it out' }).first().waitFor();
        expect(violations).toEqual([]);
        await page.close();
      });
    });
  });

  describe('audit of admin credentials', () => {
    it('should record creating and disabling an AdminClient, with the actor and without the secret', async () => {
      const created = await s.api('POST', '/admin/v1/AdminClients', { name: 'audited client', roles: ['Auditor'] }, { headers: { 'opc-request-id': 'hardening-client-create' } });
      expectStatus(created, 201);
      const [event] = await eventsAbout('admin.AdminClient.create', created.body.id);
      expect(event).toMatchObject({ actorId: ADMIN_ID, actorType: 'Client', adminResourceType: 'AdminClient', adminResourceName: 'audited client', correlationId: 'hardening-client-create' });
      expect(JSON.stringify(event)).not.toContain(created.body.clientSecret);

      expect(await eventsAbout('admin.AdminClient.disable', created.body.id)).toEqual([]);
      expectStatus(await s.api('DELETE', `/admin/v1/AdminClients/${created.body.id}`), 204);
      const [disabled, ...more] = await eventsAbout('admin.AdminClient.disable', created.body.id);
      expect(more).toEqual([]);
      expect(disabled).toMatchObject({ actorId: ADMIN_ID, actorType: 'Client', adminResourceName: 'audited client' });
    });

    it('should record issuing and revoking a provisioning token once, with the actor and without the token', async () => {
      const created = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'audited token' });
      expectStatus(created, 201);
      const [event] = await eventsAbout('admin.ProvisioningToken.create', created.body.id);
      expect(event).toMatchObject({ actorId: ADMIN_ID, actorType: 'Client', adminResourceType: 'ProvisioningToken', adminResourceName: 'audited token' });
      expect(JSON.stringify(event)).not.toContain(created.body.token);

      expectStatus(await s.api('DELETE', `/admin/v1/ProvisioningTokens/${created.body.id}`), 204);
      expectStatus(await s.api('DELETE', `/admin/v1/ProvisioningTokens/${created.body.id}`), 204);
      const revoked = await eventsAbout('admin.ProvisioningToken.revoke', created.body.id);
      expect(revoked).toHaveLength(1);
      expect(revoked[0]).toMatchObject({ actorId: ADMIN_ID, actorType: 'Client' });
    });

    it('should not audit a refused credential change', async () => {
      const auditor = await s.tokenWithRoles('Auditor');
      expectScimError(await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'refused token' }, { token: auditor }), 403);
      const list = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('adminResourceType eq "ProvisioningToken"')}&count=1000`);
      expect(list.body.Resources.filter((e: any) => e.adminResourceName === 'refused token')).toEqual([]);
    });
  });

  describe('GET /admin/v1/AuditEvents/{id}', () => {
    it('should answer the event at its meta.location, to the roles that read the list', async () => {
      const list = await s.api('GET', '/admin/v1/AuditEvents?count=1');
      const event = list.body.Resources[0];
      const path = new URL(event.meta.location).pathname;
      expect(path).toBe(`/admin/v1/AuditEvents/${event.id}`);
      const one = await s.api('GET', path);
      expectStatus(one, 200);
      expect(one.body).toEqual(event);
      const projected = (await s.api('GET', `${path}?attributes=eventId`)).body;
      expect(projected).toMatchObject({ id: event.id, eventId: event.eventId });
      expect(projected.actorId).toBeUndefined();
      expect(event.actorId).toBeDefined();
      expectStatus(await s.api('GET', path, undefined, { token: await s.tokenWithRoles('Auditor') }), 200);
      expectScimError(await s.api('GET', path, undefined, { token: await provisioningToken('reads no audit') }), 403);
      expectScimError(await s.api('GET', path, undefined, { token: null }), 401);
    });

    it.each([['an unknown id', '0123456789abcdef0123456789abcdef'], ['an id of another shape', 'not-an-event-id']])('should answer 404 for %s', async (_what, id) => {
      expectScimError(await s.api('GET', `/admin/v1/AuditEvents/${id}`), 404);
    });
  });
});
