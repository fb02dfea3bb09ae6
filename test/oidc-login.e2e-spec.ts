import { CookieJar, createOidcIdentityProvider, groupsFromAssertion, OIDC_CALLBACK_PATH, oidcSignIn, OidcSignInResult, requestOidcCallback, requireSignedIn } from '@app/fixtures';
import { OidcAccount, RunningOidcProvider, startOidcProvider, TamperSpec } from '../apps/demo-idp/src';
import { dbQuery, expectStatus, GROUP_SCHEMA, TestServer, user } from './support/server';

const CLIENT_ID = 'identity-domain';
const CLIENT_SECRET = 'identity-domain-client-secret-0123456789';
const ENTRA_GROUPS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups';

/** People at the provider, with the claims of the Flosum document (uniqueUserId, firstName, lastName, email) and standard ones. */
const ACCOUNTS: OidcAccount[] = [
  {
    sub: 'alice',
    claims: {
      uniqueUserId: 'alice.archer',
      given_name: 'Alice',
      family_name: 'Archer',
      firstName: 'Alice',
      lastName: 'Archer',
      email: 'alice@acme.test',
      email_verified: true,
      groups: ['Administrators', 'Admins'],
      address: { country: 'FR' },
      [ENTRA_GROUPS]: ['entra-admins'],
    },
  },
  { sub: 'bob', claims: { uniqueUserId: 'bob.baker', given_name: 'Bob', family_name: 'Baker', email: 'bob@acme.test', email_verified: false, groups: ['Admins'] } },
  { sub: 'carol', claims: { uniqueUserId: 'carol.cook', given_name: 'Carol', family_name: 'Cook', email: 'carol@acme.test', email_verified: true, groups: ['Ghosts', 'Admins'] } },
  // The claim names of the Flosum document, per IdP: Entra ID and PingOne send userUniqueId, Okta uniqueUserId.
  { sub: 'entra-oid-1', claims: { userUniqueId: 'e1f0c2d4-entra', firstName: 'Erin', lastName: 'Entra', email: 'erin@acme.test' } },
  { sub: 'okta-00u1', claims: { uniqueUserId: '00u1okta', firstName: 'Oscar', lastName: 'Okta', email: 'oscar@acme.test' } },
  { sub: 'ping-1', claims: { userUniqueId: 'ping-user-1', firstName: 'Paula', lastName: 'Ping', email: 'paula@acme.test' } },
  { sub: 'dave', claims: { uniqueUserId: 'dave.doe', given_name: 'Dave', family_name: 'Doe', email: 'dave@acme.test', email_verified: true } },
  { sub: 'mallory', claims: { uniqueUserId: 'mallory', given_name: 'Mallory', family_name: 'Mal', email: 'victim@acme.test', email_verified: false } },
];

/**
 * OpenID Connect sign-in (SOCIAL identity providers) end to end: a real provider (panva's oidc-provider, in its own
 * process), our real server and database, identity providers configured only through the REST API, and a browser
 * driven over HTTP with its own cookies. What was (and was not) written is read back.
 */
describe('OpenID Connect sign-in', () => {
  let s: TestServer;
  let op: RunningOidcProvider;
  let other: RunningOidcProvider;
  let idpCount = 0;
  const group: Record<string, string> = {};

  beforeAll(async () => {
    s = await TestServer.start();
    const client = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [s.publicUrl + OIDC_CALLBACK_PATH] };
    [op, other] = await Promise.all([
      startOidcProvider({ clients: [client], accounts: ACCOUNTS, testHooks: true, extraClaimNames: ['nickname'] }),
      startOidcProvider({ clients: [client], accounts: ACCOUNTS, testHooks: true }),
    ]);
    for (const displayName of ['OCI Administrators', 'OCI Admins', 'Everyone', 'Manual', 'Entra Admins']) {
      const res = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName });
      expectStatus(res, 201);
      group[displayName] = res.body.id;
    }
  });
  afterAll(async () => {
    await Promise.all([op?.stop(), other?.stop()]);
    await s?.stop();
  });
  afterEach(() => op.clearTampers());

  /** A new OIDC IdP at `provider` with the given settings (JIT on, create and update, found by uniqueUserId → userName). */
  async function idp(options: { settings?: Record<string, unknown>; social?: Record<string, unknown>; mappings?: Record<string, unknown>[]; provider?: RunningOidcProvider } = {}): Promise<string> {
    const { idpId } = await createOidcIdentityProvider(s, {
      partnerName: `OIDC IdP ${++idpCount}`,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      discoveryUrl: (options.provider ?? op).discoveryUrl,
      settings: options.settings,
      social: options.social,
      attributeMappings: options.mappings,
    });
    return idpId;
  }

  const explicitGroups = () =>
    groupsFromAssertion([
      { idpGroup: 'Administrators', value: group['OCI Administrators'] },
      { idpGroup: 'Admins', value: group['OCI Admins'] },
    ]);

  const signIn = (idpId: string, login: string, extra: { relayState?: string; jar?: CookieJar; stopAt?: 'callback' } = {}) =>
    oidcSignIn({ serverUrl: s.baseUrl, publicUrl: s.publicUrl, idp: idpId, login, ...extra });

  async function userNamed(userName: string): Promise<any> {
    const res = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&attributes=userName,name,emails,groups,title,externalId`);
    expectStatus(res, 200);
    return res.body.Resources[0];
  }

  const groupNames = (u: any) => ((u?.groups ?? []) as { display: string }[]).map((g) => g.display).sort();

  /** The sso.login audit event of a browser's answer, by the correlation id the refusal page shows or the request id. */
  async function auditOf(result: OidcSignInResult): Promise<Record<string, any>> {
    const correlation = /id="correlation-id">([^<]+)</.exec(result.body ?? '')?.[1];
    expect(correlation).toBeDefined();
    const rows = await dbQuery<{ data: string; outcome: string }>(s, "SELECT data, outcome FROM audit_events WHERE event_id = 'sso.login' AND correlation_id = $1", [correlation]);
    expect(rows).toHaveLength(1);
    return { ...JSON.parse(rows[0].data), outcome: rows[0].outcome };
  }

  async function lastSuccess(idpId: string): Promise<Record<string, any>> {
    const rows = await dbQuery<{ data: string }>(s, "SELECT data FROM audit_events WHERE event_id = 'sso.login' AND outcome = 'success' AND resource_id = $1 ORDER BY timestamp DESC, id DESC", [idpId]);
    const event = JSON.parse(rows[0].data);
    return { ...event, details: typeof event.details === 'string' ? JSON.parse(event.details) : event.details };
  }

  const counts = async () => ({
    users: Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM users'))[0].n),
    sessions: Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM sessions'))[0].n),
    links: Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM federated_identities'))[0].n),
    memberships: Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM group_members'))[0].n),
  });

  describe('JIT', () => {
    it('should create the user with mapped attributes and groups at the first sign-in, then update it from changed claims', async () => {
      const idpId = await idp({
        settings: explicitGroups(),
        mappings: [
          { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.uniqueUserId)' },
          { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.given_name)' },
          { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.family_name)' },
          { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
          // A nested claim, read by its dotted path.
          { idcsAttributeName: 'title', managedObjectAttributeName: '$(assertion.address.country)' },
        ],
      });
      const first = await signIn(idpId, 'alice', { relayState: '/admin/v1/Me' });
      const signedIn = requireSignedIn(first);
      expect(new URL(signedIn.location, s.baseUrl).pathname).toBe('/admin/v1/Me');
      const me = await s.raw('GET', '/admin/v1/Me', { headers: { cookie: signedIn.sessionCookie } });
      expect(me.status).toBe(200);
      expect(me.body.userName).toBe('alice.archer');

      const created = await userNamed('alice.archer');
      expect(created.name).toMatchObject({ givenName: 'Alice', familyName: 'Archer' });
      expect(created.emails).toEqual([expect.objectContaining({ value: 'alice@acme.test', primary: true, type: 'work' })]);
      expect(created.title).toBe('FR');
      expect(groupNames(created)).toEqual(['OCI Administrators', 'OCI Admins']);
      // An OpenID Connect sign-in is recorded as a SAML one is: the last sign-in (dormant users), and JIT as the source.
      const STATE = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User';
      const SOURCES = 'urn:identity-domain:scim:schemas:extension:attributeSources:2.0:User';
      const recorded = await s.api('GET', `/admin/v1/Users/${created.id}?attributes=${encodeURIComponent(`${STATE}:lastSuccessfulLoginDate,${SOURCES}`)}`);
      expect(Date.parse(recorded.body[STATE]?.lastSuccessfulLoginDate)).toBeGreaterThan(Date.now() - 5 * 60_000);
      expect(recorded.body[SOURCES]?.attributeSources).toEqual(expect.arrayContaining([expect.objectContaining({ attribute: 'name.givenName', sourceType: 'jit', sourceId: idpId })]));
      const event = await lastSuccess(idpId);
      expect(event.details).toMatchObject({ protocol: 'oidc', nameId: 'alice', jit: 'userCreated' });
      expect(event.changes).toEqual(expect.arrayContaining([expect.objectContaining({ attribute: 'name.givenName', newValue: '"Alice"' })]));

      // The person changes at the IdP: another family name, one group fewer (Overwrite, the default).
      await op.setAccount({ ...ACCOUNTS[0], claims: { ...ACCOUNTS[0].claims, family_name: 'Archer-Smith', groups: ['Admins'] } });
      try {
        requireSignedIn(await signIn(idpId, 'alice'));
        const updated = await userNamed('alice.archer');
        expect(updated.id).toBe(created.id);
        expect(updated.name.familyName).toBe('Archer-Smith');
        expect(groupNames(updated)).toEqual(['OCI Admins']);
        const update = await lastSuccess(idpId);
        expect(update.details).toMatchObject({ protocol: 'oidc', jit: 'userUpdated', groupsLeft: [expect.objectContaining({ id: group['OCI Administrators'] })] });
      } finally {
        await op.setAccount(ACCOUNTS[0]);
      }
    });

    it('should refuse cleanly when JIT is off and the user does not exist', async () => {
      const idpId = await idp({ settings: { jitUserProvEnabled: false } });
      const before = await counts();
      const result = await signIn(idpId, 'dave');
      expect(result.status).toBe(403);
      expect(result.body).toContain('Sign-in failed');
      expect((await auditOf(result)).reason).toBe('user_not_found');
      expect(await counts()).toEqual(before);
    });

    it('should not create users with creation off, and leave users unchanged with update off', async () => {
      const noCreate = await idp({ settings: { jitUserProvCreateUserEnabled: false, userMappingStoreAttribute: 'userName' } });
      const refused = await signIn(noCreate, 'bob');
      expect(refused.status).toBe(403);
      expect((await auditOf(refused)).reason).toBe('user_not_found');
      expect(await userNamed('bob.baker')).toBeUndefined();

      const existing = await s.api('POST', '/admin/v1/Users', user('bob.baker', { name: { givenName: 'Robert', familyName: 'Baker' } }));
      expectStatus(existing, 201);
      const noUpdate = await idp({ settings: { jitUserProvAttributeUpdateEnabled: false }, social: { accountLinkingEnabled: true } });
      requireSignedIn(await signIn(noUpdate, 'bob'));
      expect((await userNamed('bob.baker')).name.givenName).toBe('Robert');
      expect((await lastSuccess(noUpdate)).details).toMatchObject({ jit: 'none', linked: true });
    });

    it('should keep memberships an administrator granted with Merge and with Overwrite (attribute ownership)', async () => {
      for (const method of ['Merge', 'Overwrite'] as const) {
        const login = method === 'Merge' ? 'carol' : 'dave';
        const userName = method === 'Merge' ? 'carol.cook' : 'dave.doe';
        const manual = await s.api('POST', '/admin/v1/Users', user(userName));
        expectStatus(manual, 201);
        const add = await s.api('PATCH', `/admin/v1/Groups/${group.Manual}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: manual.body.id }] }] });
        expectStatus(add, 200);
        const idpId = await idp({ settings: { ...explicitGroups(), jitUserProvGroupAssignmentMethod: method }, social: { accountLinkingEnabled: true } });
        requireSignedIn(await signIn(idpId, login));
        const groups = groupNames(await userNamed(userName));
        // Overwrite removes only memberships JIT granted: Manual, an administrator's, stays with both methods.
        if (method === 'Merge') expect(groups).toEqual(['Manual', 'OCI Admins']);
        else expect(groups).toEqual(['Manual']);
      }
    });

    it('should ignore absent groups or fail on them, as jitUserProvIgnoreErrorOnAbsentGroups says', async () => {
      const implicit = { jitUserProvGroupAssertionAttributeEnabled: true, jitUserProvGroupSAMLAttributeName: 'groups', jitUserProvGroupMappingMode: 'implicit' };
      await op.setAccount({ sub: 'gina', claims: { uniqueUserId: 'gina.gray', given_name: 'Gina', family_name: 'Gray', email: 'gina@acme.test', groups: ['Ghosts', 'Admins'] } });
      const failing = await idp({ settings: { ...implicit, jitUserProvIgnoreErrorOnAbsentGroups: false } });
      const before = await counts();
      const refused = await signIn(failing, 'gina');
      expect(refused.status).toBe(403);
      expect((await auditOf(refused)).reason).toBe('absent_group');
      expect(await counts()).toEqual(before);

      await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Admins' });
      const ignoring = await idp({ settings: { ...implicit, jitUserProvIgnoreErrorOnAbsentGroups: true } });
      requireSignedIn(await signIn(ignoring, 'gina'));
      expect(groupNames(await userNamed('gina.gray'))).toEqual(['Admins']);
      expect((await lastSuccess(ignoring)).details.groupsSkipped).toEqual([expect.objectContaining({ value: 'Ghosts', source: 'assertion' })]);
    });

    it('should add static groups, and read a group claim whose name holds dots (Entra claim URI)', async () => {
      const idpId = await idp({
        settings: {
          jitUserProvGroupStaticListEnabled: true,
          jitUserProvAssignedGroups: [{ value: group.Everyone }],
          ...groupsFromAssertion([{ idpGroup: 'entra-admins', value: group['Entra Admins'] }]),
          jitUserProvGroupSAMLAttributeName: ENTRA_GROUPS,
        },
        mappings: [
          { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.uniqueUserId)' },
          { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.given_name)' },
          { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.family_name)' },
          { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
        ],
      });
      await op.setAccount({ sub: 'hugo', claims: { uniqueUserId: 'hugo.hall', given_name: 'Hugo', family_name: 'Hall', email: 'hugo@acme.test', [ENTRA_GROUPS]: ['entra-admins'] } });
      requireSignedIn(await signIn(idpId, 'hugo'));
      const created = await userNamed('hugo.hall');
      expect(groupNames(created)).toEqual(['Entra Admins', 'Everyone']);
    });

    it.each([
      ['Microsoft Entra ID', 'entra-oid-1', 'userUniqueId', 'e1f0c2d4-entra', 'Erin'],
      ['Okta', 'okta-00u1', 'uniqueUserId', '00u1okta', 'Oscar'],
      ['PingOne', 'ping-1', 'userUniqueId', 'ping-user-1', 'Paula'],
    ])('should provision from the claim names %s sends (Flosum document)', async (_idp, login, idClaim, id, first) => {
      const idpId = await idp({
        settings: { assertionAttribute: idClaim, userMappingStoreAttribute: 'userName' },
        mappings: [
          { idcsAttributeName: 'userName', managedObjectAttributeName: `$(assertion.${idClaim})` },
          { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.firstName)' },
          { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.lastName)' },
          { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
        ],
      });
      requireSignedIn(await signIn(idpId, login));
      const created = await userNamed(id);
      expect(created.name.givenName).toBe(first);
      // The second sign-in finds the same user (by the stored link to the subject).
      requireSignedIn(await signIn(idpId, login));
      expect((await userNamed(id)).id).toBe(created.id);
    });

    it('should apply IDCS social JIT (socialJitProvisioningEnabled) when the jitUserProv settings are off', async () => {
      const idpId = await idp({
        settings: { jitUserProvEnabled: false, jitUserProvCreateUserEnabled: false, jitUserProvAttributeUpdateEnabled: false },
        social: { socialJitProvisioningEnabled: true, jitProvGroupStaticListEnabled: true, jitProvAssignedGroups: [{ value: group.Everyone }] },
      });
      await op.setAccount({ sub: 'sj', claims: { given_name: 'Sam', family_name: 'Jit', email: 'sam.jit@acme.test', email_verified: true } });
      requireSignedIn(await signIn(idpId, 'sj'));
      const created = await userNamed('sam.jit@acme.test');
      expect(created.name).toMatchObject({ givenName: 'Sam', familyName: 'Jit' });
      expect(groupNames(created)).toEqual(['Everyone']);
    });
  });

  describe('JIT preview', () => {
    it('should preview a sign-in from claims as the sign-in applies them, nested and dotted names included', async () => {
      const idpId = await idp({ settings: { ...explicitGroups(), jitUserProvGroupSAMLAttributeName: ENTRA_GROUPS, jitUserProvGroupMappings: [{ idpGroup: 'entra-admins', value: group['Entra Admins'] }] } });
      const claims = { sub: 'preview-sub', uniqueUserId: 'preview.user', given_name: 'Pre', family_name: 'View', email: 'preview@acme.test', [ENTRA_GROUPS]: ['entra-admins', 'unmapped'], address: { country: 'DE' } };
      const before = await counts();
      const res = await s.api('POST', `/admin/v1/IdentityProviders/${idpId}/jitPreview`, { claims });
      expectStatus(res, 200);
      expect(res.body).toMatchObject({ outcome: 'create', matchedUser: null, newUser: { userName: 'preview.user', name: { givenName: 'Pre', familyName: 'View' } } });
      expect(res.body.groupsJoined).toEqual([{ value: group['Entra Admins'], display: 'Entra Admins' }]);
      expect(res.body.groupsSkipped).toEqual([expect.objectContaining({ value: 'unmapped' })]);
      expect(await counts()).toEqual(before);
    });

    it('should preview the linking refusal of an unverified email, and refuse claims for a SAML IdP', async () => {
      const existing = await s.api('POST', '/admin/v1/Users', user('preview-linked', { emails: [{ value: 'preview-linked@acme.test', type: 'work', primary: true }] }));
      expectStatus(existing, 201);
      const idpId = await idp({ settings: { userMappingMethod: 'AssertionAttributeToUserAttribute', assertionAttribute: 'email', userMappingStoreAttribute: 'emails.value' }, social: { accountLinkingEnabled: true } });
      const unverified = await s.api('POST', `/admin/v1/IdentityProviders/${idpId}/jitPreview`, { claims: { sub: 'x', email: 'preview-linked@acme.test', email_verified: false } });
      expect(unverified.body).toMatchObject({ outcome: 'reject', reason: 'account_linking_refused' });
      const verified = await s.api('POST', `/admin/v1/IdentityProviders/${idpId}/jitPreview`, { claims: { sub: 'x', email: 'preview-linked@acme.test', email_verified: true } });
      expect(verified.body).toMatchObject({ outcome: 'update', matchedUser: { id: existing.body.id } });
      const noSub = await s.api('POST', `/admin/v1/IdentityProviders/${idpId}/jitPreview`, { claims: { email: 'a@b.c' } });
      expect(noSub.status).toBe(400);
      expect(noSub.body.detail).toContain('"sub"');

      const saml = await s.api('POST', '/admin/v1/IdentityProviders', { schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider'], partnerName: 'SAML for preview', enabled: false });
      expectStatus(saml, 201);
      const wrong = await s.api('POST', `/admin/v1/IdentityProviders/${saml.body.id}/jitPreview`, { claims: { sub: 'x' } });
      expect(wrong.status).toBe(400);
      expect(wrong.body.scimType).toBe('invalidValue');
    });
  });

  describe('account linking', () => {
    const byEmail = { userMappingMethod: 'AssertionAttributeToUserAttribute', assertionAttribute: 'email', userMappingStoreAttribute: 'emails.value' };

    it('should never link an existing user by an unverified email, nor with account linking off', async () => {
      const victim = await s.api('POST', '/admin/v1/Users', user('victim', { emails: [{ value: 'victim@acme.test', type: 'work', primary: true }] }));
      expectStatus(victim, 201);
      for (const [social, reason] of [
        [{ accountLinkingEnabled: true }, 'account_linking_refused'], // mallory's email is not verified
        [{ accountLinkingEnabled: false }, 'account_linking_refused'],
      ] as const) {
        const idpId = await idp({ settings: byEmail, social });
        const before = await counts();
        const result = await signIn(idpId, 'mallory');
        expect(result.status).toBe(403);
        expect((await auditOf(result)).reason).toBe(reason);
        expect(await counts()).toEqual(before);
      }
    });

    it('should link by a verified email with account linking on, and find the user by the link afterwards', async () => {
      const existing = await s.api('POST', '/admin/v1/Users', user('linda', { emails: [{ value: 'linda@acme.test', type: 'work', primary: true }] }));
      expectStatus(existing, 201);
      await op.setAccount({ sub: 'linda-sub', claims: { uniqueUserId: 'linda', given_name: 'Linda', family_name: 'Link', email: 'linda@acme.test', email_verified: true } });
      const idpId = await idp({ settings: byEmail, social: { accountLinkingEnabled: true } });
      requireSignedIn(await signIn(idpId, 'linda-sub'));
      const links = await dbQuery<{ user_id: string }>(s, 'SELECT user_id FROM federated_identities WHERE idp_id = $1 AND subject = $2', [idpId, 'linda-sub']);
      expect(links).toEqual([{ user_id: existing.body.id }]);
      // A new email at the IdP: the link, not the email, finds her.
      await op.setAccount({ sub: 'linda-sub', claims: { uniqueUserId: 'linda', given_name: 'Linda', family_name: 'Link', email: 'linda.new@acme.test', email_verified: true } });
      requireSignedIn(await signIn(idpId, 'linda-sub'));
      const after = await s.api('GET', `/admin/v1/Users/${existing.body.id}`);
      expect(after.body.emails[0].value).toBe('linda.new@acme.test');
    });
  });

  describe('attacks', () => {
    let idpId: string;
    let otherIdpId: string;
    beforeAll(async () => {
      idpId = await idp({ settings: explicitGroups() });
      otherIdpId = await idp({ provider: other });
    });

    /** A refused callback: the generic page, the reason in the audit trail, and nothing written. */
    async function expectRefused(attempt: () => Promise<OidcSignInResult>, reason: string): Promise<void> {
      const before = await counts();
      const result = await attempt();
      expect(result.sessionCookie).toBeUndefined();
      expect(result.status).toBeGreaterThanOrEqual(400);
      expect(result.body).toContain('Sign-in failed');
      expect(result.body).not.toContain(reason);
      const audit = await auditOf(result);
      // The message in the comparison: a failure shows why the sign-in was refused.
      expect({ reason: audit.reason, message: audit.message }).toEqual({ reason, message: expect.any(String) });
      expect(await counts()).toEqual(before);
    }

    const tampered = (spec: TamperSpec, reason: string) => async () => {
      await op.tamper(spec);
      await expectRefused(() => signIn(idpId, 'alice'), reason);
    };

    it('should refuse an ID token from another issuer', tampered({ idToken: 'wrong-iss' }, 'OIDC_ISSUER_MISMATCH'));
    it('should refuse an ID token for another audience', tampered({ idToken: 'wrong-aud' }, 'OIDC_AUDIENCE_MISMATCH'));
    it('should refuse an expired ID token', tampered({ idToken: 'expired' }, 'OIDC_TOKEN_EXPIRED'));
    it('should refuse an ID token with another nonce', tampered({ idToken: 'nonce-mismatch' }, 'OIDC_NONCE_MISMATCH'));
    it('should refuse an unsigned ID token (alg none)', tampered({ idToken: 'alg-none' }, 'OIDC_ALGORITHM_NOT_ALLOWED'));
    it('should refuse an HS256 ID token keyed with the provider public key (PEM)', tampered({ idToken: 'hs256-public-key', hmacSecret: 'pem' }, 'OIDC_ALGORITHM_NOT_ALLOWED'));
    it('should refuse an HS256 ID token keyed with the provider public key (JWK)', tampered({ idToken: 'hs256-public-key', hmacSecret: 'jwk' }, 'OIDC_ALGORITHM_NOT_ALLOWED'));
    it('should refuse an ID token signed by a key whose kid is not in the JWKS', tampered({ idToken: 'unknown-kid' }, 'OIDC_SIGNING_KEY_UNKNOWN'));
    it('should refuse an authorization response without the iss parameter (RFC 9207)', tampered({ authorizationResponseIss: 'drop' }, 'OIDC_RESPONSE_ISSUER_MISMATCH'));
    it('should refuse an authorization response naming another issuer (mix-up)', async () => {
      await op.tamper({ authorizationResponseIss: { value: other.issuer } });
      await expectRefused(() => signIn(idpId, 'alice'), 'OIDC_RESPONSE_ISSUER_MISMATCH');
    });

    it('should refuse a token issued by another configured IdP', async () => {
      expect(otherIdpId).toBeDefined();
      await op.tamper({ idToken: 'foreign', foreignSigner: other });
      await expectRefused(() => signIn(idpId, 'alice'), 'OIDC_ISSUER_MISMATCH');
    });

    it("should refuse a token signed by another provider's key under this issuer", async () => {
      await op.tamper({ idToken: 'foreign', foreignSigner: other, foreignKeepsIssuer: true });
      const before = await counts();
      const result = await signIn(idpId, 'alice');
      expect(['OIDC_SIGNING_KEY_UNKNOWN', 'OIDC_SIGNATURE_INVALID']).toContain((await auditOf(result)).reason);
      expect(await counts()).toEqual(before);
    });

    it('should refuse a callback without state, or with a state it never issued', async () => {
      for (const [change, reason] of [
        [(u: URL) => u.searchParams.delete('state'), 'OIDC_STATE_MISSING'],
        [(u: URL) => u.searchParams.set('state', 'forged-state-value'), 'OIDC_STATE_UNKNOWN'],
      ] as const) {
        const started = await signIn(idpId, 'alice', { stopAt: 'callback' });
        const url = new URL(started.callbackUrl!);
        change(url);
        await expectRefused(() => requestOidcCallback({ serverUrl: s.baseUrl, publicUrl: s.publicUrl, callbackUrl: url.href, jar: started.jar }), reason);
      }
    });

    it('should refuse a code carried into another browser (login CSRF), and a browser without the flow cookie (no PKCE verifier)', async () => {
      const attacker = await signIn(idpId, 'mallory', { stopAt: 'callback' });
      expect(new URL(attacker.callbackUrl!).searchParams.get('code')).toBeTruthy();
      await expectRefused(() => requestOidcCallback({ serverUrl: s.baseUrl, publicUrl: s.publicUrl, callbackUrl: attacker.callbackUrl!, jar: new CookieJar() }), 'OIDC_BROWSER_MISMATCH');
      // The victim's browser has a flow of its own: the attacker's state and code do not belong to it.
      const victim = await signIn(idpId, 'alice', { stopAt: 'callback' });
      await expectRefused(() => requestOidcCallback({ serverUrl: s.baseUrl, publicUrl: s.publicUrl, callbackUrl: attacker.callbackUrl!, jar: victim.jar }), 'OIDC_BROWSER_MISMATCH');
    });

    it('should send PKCE (S256), state and nonce in the authorization request', async () => {
      const started = await signIn(idpId, 'alice', { stopAt: 'callback' });
      const authorize = new URL(started.steps[0].location!);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(authorize.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(authorize.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(authorize.searchParams.get('redirect_uri')).toBe(s.publicUrl + OIDC_CALLBACK_PATH);
    });

    it('should refuse a replayed callback, and a used code under a new state', async () => {
      await op.setAccount({ sub: 'ivan', claims: { uniqueUserId: 'ivan.ives', given_name: 'Ivan', family_name: 'Ives', email: 'ivan@acme.test' } });
      const first = await signIn(idpId, 'ivan', { stopAt: 'callback' });
      requireSignedIn(await requestOidcCallback({ serverUrl: s.baseUrl, publicUrl: s.publicUrl, callbackUrl: first.callbackUrl!, jar: first.jar }));
      // The same callback again: its flow was consumed.
      await expectRefused(() => requestOidcCallback({ serverUrl: s.baseUrl, publicUrl: s.publicUrl, callbackUrl: first.callbackUrl!, jar: first.jar }), 'OIDC_STATE_UNKNOWN');
      // The used code under a fresh flow of the same browser: the provider refuses it.
      const second = await signIn(idpId, 'ivan', { stopAt: 'callback', jar: first.jar });
      const replay = new URL(second.callbackUrl!);
      replay.searchParams.set('code', new URL(first.callbackUrl!).searchParams.get('code')!);
      await expectRefused(() => requestOidcCallback({ serverUrl: s.baseUrl, publicUrl: s.publicUrl, callbackUrl: replay.href, jar: second.jar }), 'OIDC_CODE_REJECTED');
    });

    it('should refuse an error answer of the provider', async () => {
      const started = await signIn(idpId, 'alice', { stopAt: 'callback' });
      const url = new URL(started.callbackUrl!);
      url.searchParams.delete('code');
      url.searchParams.set('error', 'access_denied');
      await expectRefused(() => requestOidcCallback({ serverUrl: s.baseUrl, publicUrl: s.publicUrl, callbackUrl: url.href, jar: started.jar }), 'OIDC_PROVIDER_ERROR');
    });

    it('should refuse to start a sign-in through a disabled IdP', async () => {
      const disabled = await idp();
      expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${disabled}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'enabled', value: false }] }), 200);
      const result = await signIn(disabled, 'alice');
      expect(result.status).toBe(403);
      expect(result.steps).toHaveLength(1);
    });
  });
});
