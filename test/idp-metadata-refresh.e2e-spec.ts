import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:https';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { IDENTITY_PROVIDER_SCHEMA_ID } from '@app/fixtures';
import { MetadataRefreshService, RefreshReport, TRUST_EXTENSION_SCHEMA_ID as TRUST } from '@app/identity-providers';
import { idpMetadataXml, signedMetadata, testCredential, TestCredential } from '../libs/identity-providers/src/__fixtures__/metadata-refresh-fixtures';
import { dbQuery, E2E_DB, expectScimError, expectStatus, freshDatabase, startTestServerOn, TestServer } from './support/server';

/**
 * Metadata refresh (an extension beyond IDCS): identity providers naming a metadataUrl, served by a local https
 * server whose self-signed certificate the server trusts through IDP_METADATA_EXTRA_CA_FILE. The clock is the
 * test's: refreshDue(now) is what the server's timer calls, with the time given; only the case of two instances
 * lets the real timer run.
 */

const MINUTE = 60_000;

/** A local https server of metadata documents: what each path serves, and how often each was read. */
class MetadataHost {
  readonly documents = new Map<string, string>();
  readonly reads = new Map<string, number>();
  private server!: Server;
  base = '';

  async start(tls: TestCredential): Promise<void> {
    this.server = createServer({ key: tls.privateKeyPem, cert: tls.certificatePem }, (req, res) => {
      const path = req.url ?? '';
      this.reads.set(path, (this.reads.get(path) ?? 0) + 1);
      const doc = this.documents.get(path);
      if (doc === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(doc);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `https://localhost:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Sets the refresher's environment (read when a server starts) for the servers started in a block. */
function refresherEnvironment(checkSeconds: string, tls: () => TestCredential): void {
  let dir: string;
  const saved = { check: process.env.IDP_METADATA_REFRESH_CHECK_SECONDS, ca: process.env.IDP_METADATA_EXTRA_CA_FILE };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'md-refresh-'));
    writeFileSync(join(dir, 'ca.pem'), tls().certificatePem);
    process.env.IDP_METADATA_REFRESH_CHECK_SECONDS = checkSeconds;
    process.env.IDP_METADATA_EXTRA_CA_FILE = join(dir, 'ca.pem');
  });
  afterAll(() => {
    for (const [k, v] of [['IDP_METADATA_REFRESH_CHECK_SECONDS', saved.check], ['IDP_METADATA_EXTRA_CA_FILE', saved.ca]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });
}

const ENTITY = (name: string) => `https://idp.example.test/${name}`;

describe(`IdP metadata refresh (${E2E_DB})`, () => {
  let tls: TestCredential;
  let key1: TestCredential;
  let key2: TestCredential;
  let federationSigner: TestCredential;
  let stranger: TestCredential;
  const host = new MetadataHost();
  let s: TestServer;
  let refresher: MetadataRefreshService;

  beforeAll(async () => {
    [tls, key1, key2, federationSigner, stranger] = await Promise.all([
      testCredential('localhost', ['localhost', '127.0.0.1']),
      testCredential('idp key 1'),
      testCredential('idp key 2'),
      testCredential('federation metadata signer'),
      testCredential('stranger'),
    ]);
  });
  refresherEnvironment('0', () => tls);
  beforeAll(async () => {
    await host.start(tls);
    s = await TestServer.start();
    refresher = s.app.get(MetadataRefreshService);
  });
  afterAll(async () => {
    await s?.stop();
    await host.stop();
  });

  const documentFor = (name: string, key: TestCredential, id = '_md') => idpMetadataXml({ entityId: ENTITY(name), signingCertificateDer: key.der, ssoUrl: `https://idp.example.test/${name}/sso`, id });

  /** An enabled SAML IdP configured from `name`'s document signed... by key 1, refreshing from /<name>. */
  async function createIdp(name: string, settings: Record<string, unknown> = {}): Promise<{ id: string; version: string }> {
    host.documents.set(`/${name}`, documentFor(name, key1));
    const res = await s.api('POST', '/admin/v1/IdentityProviders', {
      schemas: [IDENTITY_PROVIDER_SCHEMA_ID, TRUST],
      partnerName: name,
      enabled: true,
      metadata: documentFor(name, key1),
      [TRUST]: { metadataUrl: `${host.base}/${name}`, metadataAllowPrivateNetwork: true, ...settings },
    });
    expectStatus(res, 201);
    expect(res.body.signingCertificate).toBe(key1.der);
    return { id: res.body.id, version: res.body.meta.version };
  }

  const get = async (id: string) => {
    const res = await s.api('GET', `/admin/v1/IdentityProviders/${id}`);
    expectStatus(res, 200);
    return res.body;
  };

  async function eventsAbout(eventId: string, resourceId: string): Promise<any[]> {
    const res = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`eventId eq "${eventId}" and adminResourceId eq "${resourceId}"`)}`);
    expectStatus(res, 200);
    return res.body.Resources ?? [];
  }

  const reportFor = (reports: RefreshReport[], id: string) => reports.find((r) => r.idpId === id);
  let clock = Date.now();
  /** A moment later than every one used before, `minutes` on: each case's clock moves forward only. */
  const later = (minutes = 0) => new Date((clock += minutes * MINUTE + 1000));

  it('should apply a changed certificate once the interval has passed, audited as the refresher, and write nothing for an unchanged document', async () => {
    const idp = await createIdp('rollover', { metadataRefreshIntervalMinutes: 60 });

    const first = reportFor(await refresher.refreshDue(later()), idp.id);
    expect(first).toEqual({ idpId: idp.id, outcome: 'unchanged', written: false });
    expect(host.reads.get('/rollover')).toBe(1);
    const unchanged = await get(idp.id);
    expect(unchanged.meta.version).toBe(idp.version);
    expect(unchanged[TRUST].metadataLastRefreshed).toBeUndefined();
    expect(await eventsAbout('admin.IdentityProvider.update', idp.id)).toHaveLength(0);

    // The IdP publishes its next key. Not read again before the interval is over...
    host.documents.set('/rollover', documentFor('rollover', key2));
    expect(reportFor(await refresher.refreshDue(later(59)), idp.id)).toBeUndefined();
    expect(host.reads.get('/rollover')).toBe(1);
    // ...and applied once it is.
    const when = later(1);
    expect(reportFor(await refresher.refreshDue(when), idp.id)).toEqual({ idpId: idp.id, outcome: 'applied', written: true });
    const applied = await get(idp.id);
    expect(applied.signingCertificate).toBe(key2.der);
    expect(applied[TRUST].signingCertificates.map((k: { value: string }) => k.value)).toEqual([key2.der]);
    expect(applied[TRUST].metadataLastRefreshed).toBe(when.toISOString());
    expect(applied.meta.version).not.toBe(idp.version);
    expect(applied.idcsLastModifiedBy).toMatchObject({ value: 'idp-metadata-refresh', type: 'App' });
    const [event] = await eventsAbout('admin.IdentityProvider.update', idp.id);
    expect(event).toMatchObject({ outcome: 'success', actorId: 'idp-metadata-refresh', actorType: 'Client' });
    expect(event.changes.map((c: { attribute: string }) => c.attribute)).toEqual(expect.arrayContaining(['signingCertificate', 'metadata', `${TRUST}:signingCertificates`]));
  });

  it('should apply a document signed with the configured certificate', async () => {
    const idp = await createIdp('signed', { metadataSigningCertificate: federationSigner.der });
    host.documents.set('/signed', signedMetadata(documentFor('signed', key2), federationSigner));
    expect(reportFor(await refresher.refreshDue(later()), idp.id)).toMatchObject({ outcome: 'applied', written: true });
    expect((await get(idp.id)).signingCertificate).toBe(key2.der);
  });

  const refusals: [string, (name: string) => Record<string, unknown>, (name: string) => string | undefined, RegExp, number][] = [
    [
      'a document signed by another key than metadataSigningCertificate',
      () => ({ metadataSigningCertificate: federationSigner.der }),
      (name) => signedMetadata(documentFor(name, key2), stranger),
      /^the signature does not verify with metadataSigningCertificate$/,
      1,
    ],
    [
      'a signed document changed after signing',
      () => ({ metadataSigningCertificate: federationSigner.der }),
      (name) => signedMetadata(documentFor(name, key1), federationSigner).replace(key1.der, key2.der),
      /^the signature does not verify with metadataSigningCertificate$/,
      1,
    ],
    ['an unsigned document where a signature is required', () => ({ metadataSigningCertificate: federationSigner.der }), (name) => documentFor(name, key2), /^the document is not signed/, 1],
    ['a document larger than 1 MiB', () => ({}), (name) => documentFor(name, key2).replace('</md:EntityDescriptor>', `<!--${'x'.repeat(1024 * 1024)}--></md:EntityDescriptor>`), /larger than 1048576 bytes/, 1],
    ['a loopback address without metadataAllowPrivateNetwork', () => ({ metadataAllowPrivateNetwork: false }), (name) => documentFor(name, key2), /resolves to .*127\.0\.0\.1.*only a loopback, private, link-local or otherwise non-public address/, 0],
    ['a document of another entity', () => ({}), () => documentFor('someone-else', key2), /describes entity "https:\/\/idp\.example\.test\/someone-else", not this identity provider's partnerProviderId/, 1],
  ];

  it.each(refusals)('should refuse %s, record why, and change nothing sign-in uses', async (_case, settings, served, reason, reads) => {
    const name = `refused-${Math.random().toString(36).slice(2, 8)}`;
    const idp = await createIdp(name, settings(name));
    const before = await get(idp.id);
    host.documents.set(`/${name}`, served(name)!);

    const report = reportFor(await refresher.refreshDue(later()), idp.id);
    expect(report).toMatchObject({ outcome: 'refused', error: expect.stringMatching(reason) });
    expect(host.reads.get(`/${name}`) ?? 0).toBe(reads);

    const after = await get(idp.id);
    expect(after[TRUST].metadataLastError).toMatch(reason);
    for (const attribute of ['signingCertificate', 'idpSsoUrl', 'partnerProviderId', 'metadata']) expect(after[attribute]).toEqual(before[attribute]);
    expect(after[TRUST].signingCertificates).toEqual(before[TRUST].signingCertificates);
    const [failure] = await eventsAbout('admin.IdentityProvider.metadataRefresh', idp.id);
    expect(failure).toMatchObject({ outcome: 'failure', reason: 'metadataRefused', actorId: 'idp-metadata-refresh', message: expect.stringMatching(reason) });

    // The same refusal at the next interval is audited again, but is no new version.
    const version = after.meta.version;
    await refresher.refreshDue(later(1440));
    expect((await get(idp.id)).meta.version).toBe(version);
    expect(await eventsAbout('admin.IdentityProvider.metadataRefresh', idp.id)).toHaveLength(2);
  });

  it('should clear metadataLastError once the document can be used again, and re-read at once when the settings change', async () => {
    const idp = await createIdp('recovering', { metadataAllowPrivateNetwork: false });
    expect(reportFor(await refresher.refreshDue(later()), idp.id)).toMatchObject({ outcome: 'refused' });
    expect((await get(idp.id))[TRUST].metadataLastError).toMatch(/non-public/);

    // The administrator allows the address: due at once, not at the end of the interval.
    const patched = await s.api('PATCH', `/admin/v1/IdentityProviders/${idp.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: `${TRUST}:metadataAllowPrivateNetwork`, value: true }],
    });
    expectStatus(patched, 200);
    expect(patched.body[TRUST].metadataLastError).toMatch(/non-public/);
    expect(reportFor(await refresher.refreshDue(later()), idp.id)).toEqual({ idpId: idp.id, outcome: 'unchanged', written: true });
    expect((await get(idp.id))[TRUST].metadataLastError).toBeUndefined();
  });

  it.each([
    ['an http URL', { metadataUrl: 'http://idp.example.test/md' }, /metadataUrl must be an https URL \(got http\)/],
    ['an interval under 15 minutes', { metadataUrl: 'https://idp.example.test/md', metadataRefreshIntervalMinutes: 5 }, /metadataRefreshIntervalMinutes must be a whole number of minutes from 15 to 10080 \(got 5\)/],
    ['a signing certificate that is none', { metadataUrl: 'https://idp.example.test/md', metadataSigningCertificate: 'AAAA' }, /metadataSigningCertificate/],
  ])('should refuse to store %s (400)', async (_case, ext, detail) => {
    const res = await s.api('POST', '/admin/v1/IdentityProviders', { schemas: [IDENTITY_PROVIDER_SCHEMA_ID, TRUST], partnerName: `bad-${Math.random()}`, enabled: false, [TRUST]: ext });
    expectScimError(res, 400, 'invalidValue');
    expect(res.body.detail).toMatch(detail);
  });

  it('should not let a client write what the refresher records', async () => {
    const idp = await createIdp('read-only');
    const res = await s.api('PATCH', `/admin/v1/IdentityProviders/${idp.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: `${TRUST}:metadataLastError`, value: 'forged' }],
    });
    expectScimError(res, 400);
    expect((await get(idp.id))[TRUST].metadataLastError).toBeUndefined();
  });

  it('should forget the lease of a deleted identity provider', async () => {
    const idp = await createIdp('deleted');
    await refresher.refreshDue(later());
    expectStatus(await s.api('DELETE', `/admin/v1/IdentityProviders/${idp.id}`), 204);
    expect(await dbQuery(s, 'SELECT idp_id FROM idp_metadata_refresh WHERE idp_id = $1', [idp.id])).toEqual([]);
  });
});

// Two instances on one SQLite file is not a supported deployment; PostgreSQL is where instances share a database.
(E2E_DB === 'postgres' ? describe : describe.skip)('IdP metadata refresh across instances (PostgreSQL)', () => {
  let tls: TestCredential;
  let key1: TestCredential;
  const host = new MetadataHost();
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    [tls, key1] = await Promise.all([testCredential('localhost', ['localhost', '127.0.0.1']), testCredential('idp key 1')]);
  });
  // Each instance's own timer looks every 200 ms.
  refresherEnvironment('0.2', () => tls);
  beforeAll(async () => {
    await host.start(tls);
    const db = await freshDatabase('postgres');
    drop = db.drop;
    a = await startTestServerOn(db.url);
    b = await startTestServerOn(db.url);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await drop?.();
    await host.stop();
  });

  it('should read an IdP once per interval however many instances look', async () => {
    const doc = idpMetadataXml({ entityId: ENTITY('shared'), signingCertificateDer: key1.der, ssoUrl: 'https://idp.example.test/shared/sso' });
    host.documents.set('/shared', doc);
    const res = await a.api('POST', '/admin/v1/IdentityProviders', {
      schemas: [IDENTITY_PROVIDER_SCHEMA_ID, TRUST],
      partnerName: 'shared',
      enabled: true,
      metadata: doc,
      [TRUST]: { metadataUrl: `${host.base}/shared`, metadataAllowPrivateNetwork: true, metadataRefreshIntervalMinutes: 15 },
    });
    expectStatus(res, 201);

    // Both timers tick about ten times each: the IdP is due once, and read once.
    await sleep(2000);
    expect(host.reads.get('/shared')).toBe(1);

    // At the end of the interval, both instances at the same moment: one of them reads it.
    const at = new Date(Date.now() + 15 * MINUTE + 1000);
    const [fromA, fromB] = await Promise.all([a.app.get(MetadataRefreshService).refreshDue(at), b.app.get(MetadataRefreshService).refreshDue(at)]);
    expect([...fromA, ...fromB].filter((r) => r.idpId === res.body.id)).toHaveLength(1);
    expect(host.reads.get('/shared')).toBe(2);
  });

  it('should stop its timer when the server closes', async () => {
    const looks = [a, b].map((server) => jest.spyOn(server.app.get(MetadataRefreshService), 'refreshDue'));
    await sleep(500);
    expect(looks.every((l) => l.mock.calls.length > 0)).toBe(true);
    await a.stop();
    await b.stop();
    const counted = looks.map((l) => l.mock.calls.length);
    await sleep(600);
    expect(looks.map((l) => l.mock.calls.length)).toEqual(counted);
  });
});
