import { createJitIdentityProvider, createOidcIdentityProvider, groupsFromAssertion, OIDC_CALLBACK_PATH, oidcSignIn, postSamlResponse, requireSignedIn, startSamlSignIn } from '@app/fixtures';
import { JIT_POLICY_EXTENSION_ID } from '@app/jit';
import { RunningOidcProvider, startOidcProvider } from '../apps/demo-idp/src';
import { makeKeyPair } from './support/certs';
import { TestIdp } from './support/saml-idp';
import { dbQuery, E2E_DB, expectStatus, patch, TestServer } from './support/server';

const IDP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider';

/**
 * JIT policies beyond IDCS (our extension schema on the IdentityProvider), with real signed SAML responses and real
 * OpenID Connect sign-ins: the sign-in gate, guarding creation only or every sign-in, and the change-impact report.
 */
describe(`JIT policies beyond IDCS (${E2E_DB})`, () => {
  let s: TestServer;
  let saml: TestIdp;
  let samlIdpId: string;
  let op: RunningOidcProvider;

  beforeAll(async () => {
    const keys = await makeKeyPair('gate-idp');
    s = await TestServer.start();
    const metadata = await s.raw('GET', '/fed/v1/metadata');
    const entityId = `${s.publicUrl}/fed`;
    saml = new TestIdp(metadata.text, { entityId, acsUrl: `${s.publicUrl}/fed/v1/sp/sso` }, keys, 'https://gate.idp.test/metadata');
    ({ idpId: samlIdpId } = await createJitIdentityProvider(s, {
      partnerName: 'Gated SAML',
      partnerProviderId: 'https://gate.idp.test/metadata',
      idpSsoUrl: 'https://gate.idp.test/sso',
      signingCertificate: keys.certificateB64,
      settings: {
        schemas: [IDP_SCHEMA, JIT_POLICY_EXTENSION_ID],
        [JIT_POLICY_EXTENSION_ID]: { signInGate: 'department eq "Engineering"' },
      },
    }));
    op = await startOidcProvider({
      clients: [{ clientId: 'gate-client', clientSecret: 'gate-client-secret-0123456789', redirectUris: [s.publicUrl + OIDC_CALLBACK_PATH] }],
      accounts: [
        { sub: 'emp', claims: { uniqueUserId: 'emp.one', given_name: 'Emma', family_name: 'Ployee', email: 'emma@acme.test', groups: ['Employees'] } },
        { sub: 'ext', claims: { uniqueUserId: 'ext.one', given_name: 'Ezra', family_name: 'Xternal', email: 'ezra@partner.test', groups: ['Employees'] } },
      ],
    });
  });
  afterAll(async () => {
    await op?.stop();
    await s?.stop();
  });

  async function samlSignIn(nameId: string, department: string): Promise<{ status: number; text: string }> {
    const started = await startSamlSignIn(s.baseUrl, samlIdpId);
    const response = await saml.signedResponse({ NameID: nameId, InResponseTo: started.requestId }, { firstName: ['Gate'], familyName: ['Keeper'], email: [nameId], department: [department] });
    const res = await postSamlResponse(s.baseUrl, response);
    return { status: res.status, text: await res.text() };
  }

  async function refusal(text: string): Promise<{ reason: string; message: string; details: Record<string, unknown> }> {
    const correlation = /id="correlation-id">([^<]+)</.exec(text)?.[1];
    const rows = await dbQuery<{ data: string }>(s, "SELECT data FROM audit_events WHERE event_id = 'sso.login' AND correlation_id = $1", [correlation]);
    const event = JSON.parse(rows[0].data);
    return { reason: event.reason, message: event.message, details: typeof event.details === 'string' ? JSON.parse(event.details) : event.details };
  }

  const userCount = async () => Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM users'))[0].n);

  it('should refuse to create a user the gate does not let through, naming the clause, and write nothing else', async () => {
    const before = await userCount();
    const refused = await samlSignIn('sally@acme.test', 'Sales');
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain('department');
    const audit = await refusal(refused.text);
    expect(audit).toMatchObject({ reason: 'sign_in_gate', details: { gateClause: 'department eq "Engineering"', protocol: 'saml' } });
    expect(audit.message).toContain('department is "Sales"');
    expect(await userCount()).toBe(before);
    expect((await samlSignIn('erin@acme.test', 'Engineering')).status).toBe(303);
    expect(await userCount()).toBe(before + 1);
  });

  it('should guard creation only by default, and every sign-in with signInGateScope everySignIn', async () => {
    expect((await samlSignIn('mover@acme.test', 'Engineering')).status).toBe(303);
    // The person moves to Sales: creation-only lets the existing user in.
    expect((await samlSignIn('mover@acme.test', 'Sales')).status).toBe(303);
    expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${samlIdpId}`, patch({ op: 'replace', path: `${JIT_POLICY_EXTENSION_ID}:signInGateScope`, value: 'everySignIn' })), 200);
    try {
      const refused = await samlSignIn('mover@acme.test', 'Sales');
      expect(refused.status).toBe(403);
      expect((await refusal(refused.text)).details.gateClause).toBe('department eq "Engineering"');
      expect((await samlSignIn('mover@acme.test', 'Engineering')).status).toBe(303);
    } finally {
      expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${samlIdpId}`, patch({ op: 'replace', path: `${JIT_POLICY_EXTENSION_ID}:signInGateScope`, value: 'create' })), 200);
    }
  });

  it('should gate OpenID Connect sign-ins on claims, on every sign-in', async () => {
    const { idpId } = await createOidcIdentityProvider(s, {
      partnerName: 'Gated OIDC',
      clientId: 'gate-client',
      clientSecret: 'gate-client-secret-0123456789',
      discoveryUrl: op.discoveryUrl,
      settings: { schemas: [IDP_SCHEMA, 'urn:ietf:params:scim:schemas:oracle:idcs:extension:social:IdentityProvider', JIT_POLICY_EXTENSION_ID], [JIT_POLICY_EXTENSION_ID]: { signInGate: 'groups eq "Employees" and email ew "@acme.test"', signInGateScope: 'everySignIn' } },
    });
    const outsider = await oidcSignIn({ serverUrl: s.baseUrl, publicUrl: s.publicUrl, idp: idpId, login: 'ext' });
    expect(outsider.status).toBe(403);
    expect(await refusal(outsider.body ?? '')).toMatchObject({ reason: 'sign_in_gate', details: { gateClause: 'email ew "@acme.test"', protocol: 'oidc' } });
    requireSignedIn(await oidcSignIn({ serverUrl: s.baseUrl, publicUrl: s.publicUrl, idp: idpId, login: 'emp' }));
  });

  it('should show the failing clause in the JIT preview', async () => {
    const res = await s.api('POST', `/admin/v1/IdentityProviders/${samlIdpId}/jitPreview`, { nameId: 'new.person@acme.test', attributes: { firstName: 'N', familyName: 'P', email: 'new.person@acme.test', department: 'Support' } });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ outcome: 'reject', reason: 'sign_in_gate', clause: 'department eq "Engineering"' });
  });

  it('should take the gate as the README shows it: a PATCH adding the extension', async () => {
    const { idpId } = await createOidcIdentityProvider(s, { partnerName: 'README gate', clientId: 'gate-client', clientSecret: 'gate-client-secret-0123456789', discoveryUrl: op.discoveryUrl });
    const res = await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch({ op: 'add', path: JIT_POLICY_EXTENSION_ID, value: { signInGate: 'department eq "Engineering" and email ew "@acme.com"', signInGateScope: 'create' } }));
    expectStatus(res, 200);
    expect(res.body.schemas).toContain(JIT_POLICY_EXTENSION_ID);
    expect(res.body[JIT_POLICY_EXTENSION_ID]).toEqual({ signInGate: 'department eq "Engineering" and email ew "@acme.com"', signInGateScope: 'create' });
  });

  it('should refuse a gate that is no SCIM filter, and describe the extension under /Schemas', async () => {
    const bad = await s.api('PATCH', `/admin/v1/IdentityProviders/${samlIdpId}`, patch({ op: 'replace', path: `${JIT_POLICY_EXTENSION_ID}:signInGate`, value: 'department eq' }));
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe('invalidValue');
    expect(bad.body.detail).toContain('signInGate');
    const schema = await s.api('GET', `/admin/v1/Schemas/${JIT_POLICY_EXTENSION_ID}`);
    expectStatus(schema, 200);
    expect(schema.body.attributes.map((a: { name: string }) => a.name)).toEqual(['signInGate', 'signInGateScope', 'signInInputRetentionDays', 'dormantUserDeactivateAfterDays', 'dormantUserDeleteAfterDays', 'dormantUserScope']);
  });

  describe('change-impact report', () => {
    let impactIdp: TestIdp;
    let impactIdpId: string;
    const group: Record<string, string> = {};

    beforeAll(async () => {
      const keys = await makeKeyPair('impact-idp');
      const metadata = await s.raw('GET', '/fed/v1/metadata');
      impactIdp = new TestIdp(metadata.text, { entityId: `${s.publicUrl}/fed`, acsUrl: `${s.publicUrl}/fed/v1/sp/sso` }, keys, 'https://impact.idp.test/metadata');
      for (const displayName of ['Impact Admins', 'Impact Manual']) {
        const res = await s.api('POST', '/admin/v1/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName });
        expectStatus(res, 201);
        group[displayName] = res.body.id;
      }
      ({ idpId: impactIdpId } = await createJitIdentityProvider(s, {
        partnerName: 'Impact SAML',
        partnerProviderId: 'https://impact.idp.test/metadata',
        idpSsoUrl: 'https://impact.idp.test/sso',
        signingCertificate: keys.certificateB64,
        settings: {
          ...groupsFromAssertion([
            { idpGroup: 'Admins', value: group['Impact Admins'] },
            { idpGroup: 'Manual', value: group['Impact Manual'] },
          ]),
          jitUserProvGroupAssignmentMethod: 'Merge',
        },
      }));
    });

    async function signIn(nameId: string, groups: string[]): Promise<number> {
      const started = await startSamlSignIn(s.baseUrl, impactIdpId);
      const response = await impactIdp.signedResponse({ NameID: nameId, InResponseTo: started.requestId }, { firstName: ['Ina'], familyName: ['Pact'], email: [nameId], ...(groups.length ? { groups } : {}) });
      return (await postSamlResponse(s.baseUrl, response)).status;
    }

    const userOf = async (userName: string) => (await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&attributes=name,groups`)).body.Resources[0];
    const groupNames = (u: any) => ((u?.groups ?? []) as { display: string }[]).map((g) => g.display).sort();
    const impact = (body: unknown, query = '') => s.api('POST', `/admin/v1/IdentityProviders/${impactIdpId}/jitImpact${query}`, body);

    it('should report what a Merge to Overwrite switch and a mapping change would do, as the next sign-ins then do', async () => {
      // JIT grants both users Impact Manual; then the IdP stops mapping it, and Merge keeps it (Overwrite removes only
      // memberships JIT granted: an administrator's would stay, see jit-attribute-ownership.e2e-spec.ts).
      expect(await signIn('ina.one@acme.test', ['Admins', 'Manual'])).toBe(303);
      expect(await signIn('ina.two@acme.test', ['Manual'])).toBe(303);
      expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${impactIdpId}`, patch({ op: 'replace', path: 'jitUserProvGroupMappings', value: [{ idpGroup: 'Admins', value: group['Impact Admins'] }] })), 200);
      expect(await signIn('ina.one@acme.test', ['Admins'])).toBe(303);
      expect(await signIn('ina.two@acme.test', [])).toBe(303);
      const before = await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM audit_events');

      const overwrite = { identityProvider: patch({ op: 'replace', path: 'jitUserProvGroupAssignmentMethod', value: 'Overwrite' }) };
      const report = await impact(overwrite);
      expectStatus(report, 200);
      expect(report.body).toMatchObject({ usersWithInputs: 2, affectedUsers: 2, itemsPerPage: 2 });
      const byUser = new Map<string, any>(report.body.Resources.map((r: any) => [r.user.userName, r]));
      expect(byUser.get('ina.one@acme.test')).toMatchObject({ current: { outcome: 'update' }, proposed: { outcome: 'update' }, groupsLost: [{ value: group['Impact Manual'], display: 'Impact Manual' }], groupsGained: [], attributes: [] });
      expect(byUser.get('ina.two@acme.test').groupsLost).toEqual([{ value: group['Impact Manual'], display: 'Impact Manual' }]);
      // Paging: the second affected user alone.
      const second = await impact(overwrite, '?startIndex=2&count=1');
      expect(second.body).toMatchObject({ affectedUsers: 2, startIndex: 2, itemsPerPage: 1 });
      // Nothing was written by the report.
      expect(await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM audit_events')).toEqual(before);
      expect(groupNames(await userOf('ina.one@acme.test'))).toEqual(['Impact Admins', 'Impact Manual']);

      // The change is made; the next sign-ins do what the report said.
      expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${impactIdpId}`, overwrite.identityProvider), 200);
      expect(await signIn('ina.one@acme.test', ['Admins'])).toBe(303);
      expect(await signIn('ina.two@acme.test', [])).toBe(303);
      expect(groupNames(await userOf('ina.one@acme.test'))).toEqual(['Impact Admins']);
      expect(groupNames(await userOf('ina.two@acme.test'))).toEqual([]);

      // A mapping change: the given name upper-cased.
      const mappedId = (await s.api('GET', `/admin/v1/IdentityProviders/${impactIdpId}`)).body.jitUserProvAttributes.value;
      const mappings = (await s.api('GET', `/admin/v1/MappedAttributes/${mappedId}`)).body.attributeMappings.map((m: any) =>
        m.idcsAttributeName === 'name.givenName' ? { ...m, managedObjectAttributeName: '#upper($(assertion.firstName))' } : m,
      );
      const upper = { mappedAttribute: patch({ op: 'replace', path: 'attributeMappings', value: mappings }) };
      const mappingReport = await impact(upper);
      expectStatus(mappingReport, 200);
      expect(mappingReport.body.affectedUsers).toBe(2);
      expect(mappingReport.body.Resources[0].attributes).toEqual([{ attribute: 'name.givenName', current: 'Ina', proposed: 'INA' }]);
      expectStatus(await s.api('PATCH', `/admin/v1/MappedAttributes/${mappedId}`, upper.mappedAttribute), 200);
      expect(await signIn('ina.one@acme.test', ['Admins'])).toBe(303);
      expect((await userOf('ina.one@acme.test')).name.givenName).toBe('INA');
    });

    it('should keep only what the JIT rules read, none with a retention of 0 days, and refuse an invalid change', async () => {
      const rows = await dbQuery<{ inputs: string }>(s, 'SELECT inputs FROM jit_sign_in_inputs WHERE idp_id = $1', [impactIdpId]);
      expect(rows.length).toBe(2);
      // firstName (mapping), familyName, email, groups are read; nothing else of the assertion is kept.
      for (const r of rows) expect(Object.keys(JSON.parse(r.inputs).attributes).every((k) => ['firstName', 'familyName', 'email', 'groups'].includes(k))).toBe(true);

      const bad = await impact({ identityProvider: patch({ op: 'replace', path: 'jitUserProvGroupAssignmentMethod', value: 'Sometimes' }) });
      expect(bad.status).toBe(400);
      expect(bad.body.scimType).toBe('invalidValue');
      expect((await impact({})).status).toBe(400);
      expect((await impact({ identityProvider: patch({ op: 'replace', path: 'enabled', value: true }) }, '?count=9999')).status).toBe(400);

      expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${impactIdpId}`, patch({ op: 'add', path: JIT_POLICY_EXTENSION_ID, value: { signInInputRetentionDays: 0 } })), 200);
      expect(await signIn('ina.three@acme.test', [])).toBe(303);
      const kept = await dbQuery<{ user_id: string }>(s, 'SELECT user_id FROM jit_sign_in_inputs WHERE idp_id = $1', [impactIdpId]);
      expect(kept.length).toBe(2);
    });
  });
});
