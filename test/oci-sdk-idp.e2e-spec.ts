import { IdentityDomainsClient, models } from 'oci-identitydomains';
import { IDENTITY_PROVIDER_SCHEMA_ID, MAPPED_ATTRIBUTE_SCHEMA_ID } from '@app/fixtures';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { ociClient, ociError } from './support/oci-sdk';
import { GROUP_SCHEMA, PATCH_SCHEMA, TestServer } from './support/server';

const SEARCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/**
 * Oracle's own TypeScript SDK (`oci-identitydomains` 2.139.1, unmodified) configures a SAML identity provider with
 * JIT provisioning and its MappedAttribute, as an OCI IAM administrator's tooling would: the models it serialises
 * (`$ref` as `ref`, upper-case enums, PatchOp) must be accepted, and what we answer must come back through its
 * deserialisers as the models it declares.
 */
describe('OCI TypeScript SDK (oci-identitydomains) against IdentityProviders and MappedAttributes', () => {
  let s: TestServer;
  let client: IdentityDomainsClient;
  let authorization: string;
  let cert: TestKeyPair;
  let finance: models.Group;
  let ops: models.Group;

  beforeAll(async () => {
    // The SDK's retrier prints "Request cannot be retried" with a stack for every error answer; the tests assert those errors.
    const warn = console.warn;
    jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (!String(args[0]).startsWith('Request cannot be retried')) warn(...args);
    });
    s = await TestServer.start();
    client = ociClient(s);
    authorization = `Bearer ${await s.token()}`;
    cert = await makeKeyPair('sdk-adfs');
    finance = (await client.createGroup({ authorization, group: { schemas: [GROUP_SCHEMA], displayName: 'SDK Finance' } })).group;
    ops = (await client.createGroup({ authorization, group: { schemas: [GROUP_SCHEMA], displayName: 'SDK Ops' } })).group;
  });
  afterAll(async () => {
    client?.close();
    await s?.stop();
    jest.restoreAllMocks();
  });

  const samlIdp = (partnerName: string, extra: Partial<models.IdentityProvider> = {}): models.IdentityProvider => ({
    schemas: [IDENTITY_PROVIDER_SCHEMA_ID],
    partnerName,
    type: models.IdentityProvider.Type.Saml,
    enabled: true,
    partnerProviderId: `https://idp.example.com/${partnerName}/adfs/services/trust`,
    idpSsoUrl: `https://idp.example.com/${partnerName}/adfs/ls/`,
    signingCertificate: cert.certificateB64,
    nameIdFormat: 'saml-emailaddress',
    authnRequestBinding: models.IdentityProvider.AuthnRequestBinding.Redirect,
    signatureHashAlgorithm: models.IdentityProvider.SignatureHashAlgorithm.Sha256,
    userMappingMethod: models.IdentityProvider.UserMappingMethod.NameIdToUserAttribute,
    userMappingStoreAttribute: 'userName',
    ...extra,
  });

  // The SDK model declares the read-only `ref` of a group mapping as required; a client fills it with the group's URI.
  const groupMapping = (idpGroup: string, g: models.Group): models.IdentityProviderJitUserProvGroupMappings => ({ idpGroup, value: g.id!, ref: g.meta!.location! });

  const jit = (): Partial<models.IdentityProvider> => ({
    jitUserProvEnabled: true,
    jitUserProvCreateUserEnabled: true,
    jitUserProvAttributeUpdateEnabled: true,
    jitUserProvGroupAssertionAttributeEnabled: true,
    jitUserProvGroupSAMLAttributeName: 'groups',
    jitUserProvGroupMappingMode: models.IdentityProvider.JitUserProvGroupMappingMode.Explicit,
    jitUserProvGroupMappings: [groupMapping('CN=Finance,OU=Groups', finance), groupMapping('CN=Ops,OU=Groups', ops)],
    jitUserProvGroupAssignmentMethod: models.IdentityProvider.JitUserProvGroupAssignmentMethod.Merge,
    jitUserProvIgnoreErrorOnAbsentGroups: true,
  });

  const mappings: models.MappedAttributeAttributeMappings[] = [
    { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' },
    { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.firstName)' },
    { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.familyName)' },
    { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
  ];

  let idpId: string;
  let idpEtag: string;
  let mappedId: string;

  it('creates a SAML identity provider with JIT settings and returns the model with its ETag', async () => {
    const res = await client.createIdentityProvider({ authorization, identityProvider: samlIdp('SDK-ADFS', jit()) });
    const idp = res.identityProvider;
    expect(idp.id).toBeTruthy();
    expect(idp.schemas).toEqual([IDENTITY_PROVIDER_SCHEMA_ID]);
    expect(idp.partnerName).toBe('SDK-ADFS');
    expect(idp.type).toBe(models.IdentityProvider.Type.Saml);
    expect(idp.enabled).toBe(true);
    expect(idp.signingCertificate).toBe(cert.certificateB64);
    expect(idp.authnRequestBinding).toBe(models.IdentityProvider.AuthnRequestBinding.Redirect);
    expect(idp).toMatchObject({
      jitUserProvEnabled: true,
      jitUserProvCreateUserEnabled: true,
      jitUserProvAttributeUpdateEnabled: true,
      jitUserProvGroupAssertionAttributeEnabled: true,
      jitUserProvGroupSAMLAttributeName: 'groups',
      jitUserProvGroupMappingMode: models.IdentityProvider.JitUserProvGroupMappingMode.Explicit,
      jitUserProvGroupAssignmentMethod: models.IdentityProvider.JitUserProvGroupAssignmentMethod.Merge,
      jitUserProvIgnoreErrorOnAbsentGroups: true,
    });
    // `$ref` of each mapping comes back as the SDK's `ref`.
    expect(idp.jitUserProvGroupMappings?.map(({ idpGroup, value, ref }) => ({ idpGroup, value, ref }))).toEqual([
      { idpGroup: 'CN=Finance,OU=Groups', value: finance.id, ref: `${s.publicUrl}/admin/v1/Groups/${finance.id}` },
      { idpGroup: 'CN=Ops,OU=Groups', value: ops.id, ref: `${s.publicUrl}/admin/v1/Groups/${ops.id}` },
    ]);
    // The service creates the MappedAttribute and links it; its `$ref` is the SDK's `ref`.
    mappedId = idp.jitUserProvAttributes!.value;
    expect(mappedId).toBeTruthy();
    expect(idp.jitUserProvAttributes).toEqual({ value: mappedId, ref: `${s.publicUrl}/admin/v1/MappedAttributes/${mappedId}` });
    expect(idp.meta?.resourceType).toBe('IdentityProvider');
    expect(idp.meta?.location).toBe(`${s.publicUrl}/admin/v1/IdentityProviders/${idp.id}`);
    expect(res.etag).toBe(idp.meta?.version);
    expect(res.opcRequestId).toMatch(/^[A-Za-z0-9_-]+$/);
    idpId = idp.id!;
    idpEtag = res.etag!;
  });

  it('gets the identity provider by id', async () => {
    const res = await client.getIdentityProvider({ authorization, identityProviderId: idpId });
    expect(res.identityProvider.id).toBe(idpId);
    expect(res.identityProvider.partnerName).toBe('SDK-ADFS');
    expect(res.identityProvider.meta?.version).toBe(idpEtag);
    expect(res.identityProvider.jitUserProvAttributes?.value).toBe(mappedId);
    expect(res.identityProvider.jitUserProvGroupMappings?.map((m) => m.value)).toEqual([finance.id, ops.id]);

    const narrow = await client.getIdentityProvider({ authorization, identityProviderId: idpId, attributes: 'jitUserProvGroupSAMLAttributeName' });
    expect(narrow.identityProvider.jitUserProvGroupSAMLAttributeName).toBe('groups');
    expect(narrow.identityProvider.partnerName).toBe('SDK-ADFS'); // returned always
    expect(narrow.identityProvider.jitUserProvGroupMappings).toBeUndefined();
  });

  it('lists identity providers with a partnerName filter and searches them', async () => {
    await client.createIdentityProvider({ authorization, identityProvider: samlIdp('SDK-Okta') });

    const listed = await client.listIdentityProviders({ authorization, filter: 'partnerName eq "SDK-ADFS"' });
    expect(listed.identityProviders.schemas).toEqual([LIST_SCHEMA]);
    expect(listed.identityProviders.totalResults).toBe(1);
    expect(listed.identityProviders.resources.map((i) => i.id)).toEqual([idpId]);
    expect(listed.identityProviders.resources[0].jitUserProvAttributes?.value).toBe(mappedId);

    const sorted = await client.listIdentityProviders({
      authorization,
      filter: 'partnerName sw "SDK-"',
      sortBy: 'partnerName',
      sortOrder: models.SortOrder.Descending,
      attributes: 'partnerName',
      attributeSets: [models.AttributeSets.Always],
    });
    expect(sorted.identityProviders.resources.map((i) => i.partnerName)).toEqual(['SDK-Okta', 'SDK-ADFS']);
    expect(sorted.identityProviders.resources[0].jitUserProvGroupMappingMode).toBeUndefined();

    const searched = await client.searchIdentityProviders({
      authorization,
      identityProviderSearchRequest: {
        schemas: [SEARCH_SCHEMA],
        filter: 'type eq "SAML" and partnerName sw "SDK-"',
        sortBy: 'partnerName',
        sortOrder: models.SortOrder.Ascending,
        startIndex: 1,
        count: 1,
        attributes: ['jitUserProvEnabled'],
        attributeSets: [models.IdentityProviderSearchRequest.AttributeSets.Always],
      },
    });
    expect(searched.identityProviders.totalResults).toBe(2);
    expect(searched.identityProviders.itemsPerPage).toBe(1);
    expect(searched.identityProviders.resources.map((i) => i.partnerName)).toEqual(['SDK-ADFS']);
    expect(searched.identityProviders.resources[0].jitUserProvEnabled).toBe(true);
    expect(searched.identityProviders.resources[0].idpSsoUrl).toBeUndefined();
  });

  it('patches a jitUserProv attribute with the SDK upper-case ops and If-Match', async () => {
    const res = await client.patchIdentityProvider({
      authorization,
      identityProviderId: idpId,
      ifMatch: idpEtag,
      patchOp: {
        schemas: [PATCH_SCHEMA],
        operations: [
          { op: models.Operations.Op.Replace, path: 'jitUserProvAttributeUpdateEnabled', value: false },
          { op: models.Operations.Op.Replace, path: 'jitUserProvGroupAssignmentMethod', value: models.IdentityProvider.JitUserProvGroupAssignmentMethod.Overwrite },
        ],
      },
    });
    expect(res.identityProvider.jitUserProvAttributeUpdateEnabled).toBe(false);
    expect(res.identityProvider.jitUserProvGroupAssignmentMethod).toBe(models.IdentityProvider.JitUserProvGroupAssignmentMethod.Overwrite);
    expect(res.identityProvider.jitUserProvCreateUserEnabled).toBe(true);
    expect(res.etag).toBe(res.identityProvider.meta?.version);
    expect(res.etag).not.toBe(idpEtag);

    const stale = await ociError(
      client.patchIdentityProvider({
        authorization,
        identityProviderId: idpId,
        ifMatch: idpEtag,
        patchOp: { schemas: [PATCH_SCHEMA], operations: [{ op: models.Operations.Op.Replace, path: 'jitUserProvEnabled', value: false }] },
      }),
    );
    expect(stale.statusCode).toBe(412);
    expect(stale.serviceCode).toBe('PreconditionFailed');
    idpEtag = res.etag!;
  });

  it('replaces the identity provider (PUT) from the model it read, keeping its MappedAttribute', async () => {
    const read = await client.getIdentityProvider({ authorization, identityProviderId: idpId });
    const identityProvider: models.IdentityProvider = {
      ...read.identityProvider,
      description: 'Corporate ADFS',
      jitUserProvAttributeUpdateEnabled: true,
      jitUserProvGroupAssignmentMethod: models.IdentityProvider.JitUserProvGroupAssignmentMethod.Merge,
      jitUserProvGroupMappings: [groupMapping('CN=Finance,OU=Groups', finance)],
    };
    const res = await client.putIdentityProvider({ authorization, identityProviderId: idpId, ifMatch: read.identityProvider.meta?.version, identityProvider });
    const idp = res.identityProvider;
    expect(idp.id).toBe(idpId);
    expect(idp.description).toBe('Corporate ADFS');
    expect(idp.jitUserProvAttributeUpdateEnabled).toBe(true);
    expect(idp.jitUserProvGroupAssignmentMethod).toBe(models.IdentityProvider.JitUserProvGroupAssignmentMethod.Merge);
    expect(idp.jitUserProvGroupMappings?.map((m) => [m.idpGroup, m.value])).toEqual([['CN=Finance,OU=Groups', finance.id]]);
    expect(idp.jitUserProvAttributes).toEqual(read.identityProvider.jitUserProvAttributes);
    expect(idp.meta?.created).toBe(read.identityProvider.meta?.created);
    expect(res.etag).toBe(idp.meta?.version);
    expect(res.etag).not.toBe(read.identityProvider.meta?.version);

    // The SDK model makes `ref` of jitUserProvAttributes optional: naming the same MappedAttribute by value alone is no change.
    const byValue = await client.putIdentityProvider({
      authorization,
      identityProviderId: idpId,
      identityProvider: { ...identityProvider, jitUserProvAttributes: { value: mappedId }, description: 'Corporate ADFS (by value)' },
    });
    expect(byValue.identityProvider.description).toBe('Corporate ADFS (by value)');
    expect(byValue.identityProvider.jitUserProvAttributes).toEqual(read.identityProvider.jitUserProvAttributes);
    // Another MappedAttribute is still refused: the link is immutable.
    const relinked = await ociError(
      client.putIdentityProvider({ authorization, identityProviderId: idpId, identityProvider: { ...identityProvider, jitUserProvAttributes: { value: 'another-mapping' } } }),
    );
    expect(relinked.statusCode).toBe(400);
    expect(relinked.serviceCode).toBe('InvalidParameter');
    expect(relinked.message).toMatch(/"jitUserProvAttributes" is immutable/);
    idpEtag = byValue.etag!;
  });

  it('reads the MappedAttribute the identity provider links to', async () => {
    const res = await client.getMappedAttribute({ authorization, mappedAttributeId: mappedId });
    const ma = res.mappedAttribute;
    expect(ma.id).toBe(mappedId);
    expect(ma.schemas).toEqual([MAPPED_ATTRIBUTE_SCHEMA_ID]);
    expect(ma.idcsResourceType).toBe(models.MappedAttribute.IdcsResourceType.User);
    expect(ma.refResourceType).toBe(models.MappedAttribute.RefResourceType.IdentityProvider);
    expect(ma.refResourceID).toBe(idpId);
    expect(ma.direction).toBe(models.MappedAttribute.Direction.Inbound);
    expect(ma.attributeMappings).toEqual([{ idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' }]);
    expect(ma.meta?.resourceType).toBe('MappedAttribute');
    expect(ma.meta?.location).toBe(`${s.publicUrl}/admin/v1/MappedAttributes/${mappedId}`);
  });

  it('replaces the attributeMappings with PUT, from the model it read', async () => {
    const read = await client.getMappedAttribute({ authorization, mappedAttributeId: mappedId });
    const res = await client.putMappedAttribute({
      authorization,
      mappedAttributeId: mappedId,
      ifMatch: read.mappedAttribute.meta?.version,
      mappedAttribute: { ...read.mappedAttribute, attributeMappings: mappings },
    });
    expect(res.mappedAttribute.attributeMappings).toEqual(mappings);
    expect(res.mappedAttribute.refResourceID).toBe(idpId);
    expect(res.etag).toBe(res.mappedAttribute.meta?.version);
    expect(res.etag).not.toBe(read.mappedAttribute.meta?.version);
  });

  it('changes the attributeMappings with PATCH', async () => {
    const added: models.MappedAttributeAttributeMappings = {
      idcsAttributeName: 'phoneNumbers[type eq "mobile"].value',
      managedObjectAttributeName: '$(assertion.mobile)',
      required: false,
      appliesToActions: [models.MappedAttributeAttributeMappings.AppliesToActions.Create],
    };
    const res = await client.patchMappedAttribute({
      authorization,
      mappedAttributeId: mappedId,
      patchOp: { schemas: [PATCH_SCHEMA], operations: [{ op: models.Operations.Op.Add, path: 'attributeMappings', value: [added] }] },
    });
    expect(res.mappedAttribute.attributeMappings).toEqual([...mappings, added]);

    const replaced = await client.patchMappedAttribute({
      authorization,
      mappedAttributeId: mappedId,
      ifMatch: res.etag,
      patchOp: { schemas: [PATCH_SCHEMA], operations: [{ op: models.Operations.Op.Replace, path: 'attributeMappings', value: mappings.slice(0, 2) }] },
    });
    expect(replaced.mappedAttribute.attributeMappings).toEqual(mappings.slice(0, 2));
    expect(replaced.etag).toBe(replaced.mappedAttribute.meta?.version);
  });

  it('lists and searches MappedAttributes', async () => {
    const all = await client.listMappedAttributes({ authorization, sortBy: 'meta.created', sortOrder: models.SortOrder.Ascending });
    expect(all.mappedAttributes.schemas).toEqual([LIST_SCHEMA]);
    // One per identity provider: SDK-ADFS and SDK-Okta.
    expect(all.mappedAttributes.totalResults).toBe(2);
    expect(all.mappedAttributes.resources[0].id).toBe(mappedId);
    expect(all.mappedAttributes.resources.every((m) => m.refResourceType === models.MappedAttribute.RefResourceType.IdentityProvider)).toBe(true);

    const mine = await client.listMappedAttributes({ authorization, filter: `refResourceID eq "${idpId}"`, attributes: 'attributeMappings' });
    expect(mine.mappedAttributes.resources.map((m) => m.id)).toEqual([mappedId]);
    expect(mine.mappedAttributes.resources[0].attributeMappings).toEqual(mappings.slice(0, 2));

    const searched = await client.searchMappedAttributes({
      authorization,
      mappedAttributeSearchRequest: { schemas: [SEARCH_SCHEMA], filter: `refResourceID eq "${idpId}"` },
    });
    expect(searched.mappedAttributes.resources.map((m) => m.id)).toEqual([mappedId]);
  });

  it('answers a validation error with a 400 OciError carrying InvalidParameter and our detail', async () => {
    const e = await ociError(
      client.createIdentityProvider({
        authorization,
        identityProvider: samlIdp('SDK-Invalid', { jitUserProvEnabled: true, jitUserProvCreateUserEnabled: false, jitUserProvAttributeUpdateEnabled: false }),
      }),
    );
    expect(e.statusCode).toBe(400);
    expect(e.serviceCode).toBe('InvalidParameter');
    expect(e.message).toBe('jitUserProvEnabled needs jitUserProvCreateUserEnabled or jitUserProvAttributeUpdateEnabled to be true');
    expect(e.operationName).toBe('createIdentityProvider');

    const badMapping = await ociError(
      client.patchMappedAttribute({
        authorization,
        mappedAttributeId: mappedId,
        patchOp: {
          schemas: [PATCH_SCHEMA],
          operations: [{ op: models.Operations.Op.Add, path: 'attributeMappings', value: [{ idcsAttributeName: 'shoeSize', managedObjectAttributeName: '$(assertion.x)' }] }],
        },
      }),
    );
    expect(badMapping.statusCode).toBe(400);
    expect(badMapping.serviceCode).toBe('InvalidParameter');
    expect(badMapping.message).toMatch(/^attributeMappings\[2\] \(shoeSize\): idcsAttributeName/);
    const listed = await client.listIdentityProviders({ authorization, filter: 'partnerName eq "SDK-Invalid"' });
    expect(listed.identityProviders.totalResults).toBe(0);
  });

  it('deletes the identity provider; it and its MappedAttribute then give 404', async () => {
    const res = await client.deleteIdentityProvider({ authorization, identityProviderId: idpId, ifMatch: idpEtag, forceDelete: true });
    expect(res.opcRequestId).toMatch(/^[A-Za-z0-9_-]+$/);

    const idp = await ociError(client.getIdentityProvider({ authorization, identityProviderId: idpId }));
    expect(idp.statusCode).toBe(404);
    expect(idp.serviceCode).toBe('NotFound');
    expect(idp.message).toBe(`No identity provider with id "${idpId}"`);
    expect(idp.operationName).toBe('getIdentityProvider');

    const ma = await ociError(client.getMappedAttribute({ authorization, mappedAttributeId: mappedId }));
    expect(ma.statusCode).toBe(404);
    expect(ma.serviceCode).toBe('NotFound');
    expect(ma.message).toBe(`No mapped attribute with id "${mappedId}"`);
    expect(ma.operationName).toBe('getMappedAttribute');

    const again = await ociError(client.deleteIdentityProvider({ authorization, identityProviderId: idpId }));
    expect(again.statusCode).toBe(404);
    // The groups the JIT mappings named are untouched.
    expect((await client.getGroup({ authorization, groupId: finance.id! })).group.displayName).toBe('SDK Finance');
  });
});
