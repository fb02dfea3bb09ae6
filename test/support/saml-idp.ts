import { randomUUID } from 'node:crypto';
import * as samlify from 'samlify';
import type { TestKeyPair } from './certs';

samlify.setSchemaValidator({ validate: async () => 'not needed: samlify only writes responses here' });

export const IDP_ENTITY_ID = 'https://idp.samlify.test/metadata';
export const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

/** Tags of samlify's default login response template that a case may override; undefined drops an attribute. */
export interface ResponseTags {
  ID?: string;
  AssertionID?: string | undefined;
  Destination?: string | undefined;
  Issuer?: string;
  AssertionIssuer?: string;
  Audience?: string;
  SubjectRecipient?: string;
  InResponseTo?: string | undefined;
  ConditionsNotBefore?: string;
  ConditionsNotOnOrAfter?: string;
  SubjectConfirmationDataNotOnOrAfter?: string;
  IssueInstant?: string;
  NameID?: string;
  StatusCode?: string;
}

/** A real SAML IdP (samlify) that signs responses for our SP with real keys. */
export class TestIdp {
  private readonly sp: ReturnType<typeof samlify.ServiceProvider>;

  constructor(
    spMetadata: string,
    private readonly sp_: { entityId: string; acsUrl: string },
    private readonly keys: TestKeyPair,
    readonly entityId = IDP_ENTITY_ID,
  ) {
    this.sp = samlify.ServiceProvider({ metadata: spMetadata });
  }

  private ownEntity?: ReturnType<typeof samlify.IdentityProvider>;

  /** The samlify IdP signing with `keys` (built once for the IdP's own keys: the benchmark signs thousands). */
  entity(keys: TestKeyPair = this.keys): ReturnType<typeof samlify.IdentityProvider> {
    if (keys === this.keys) return (this.ownEntity ??= this.makeEntity(keys));
    return this.makeEntity(keys);
  }

  private makeEntity(keys: TestKeyPair, extra: Record<string, unknown> = {}): ReturnType<typeof samlify.IdentityProvider> {
    return samlify.IdentityProvider({
      ...extra,
      entityID: this.entityId,
      signingCert: keys.certificatePem,
      privateKey: keys.privateKeyPem,
      nameIDFormat: [EMAIL_FORMAT],
      singleSignOnService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: 'https://idp.samlify.test/sso' }],
    });
  }

  /** The response XML, before signing: samlify's default template with our values. */
  responseXml(tags: ResponseTags, attrs: Record<string, string[]>): string {
    const now = new Date();
    const values: Record<string, string | undefined> = {
      ID: `_${randomUUID()}`,
      AssertionID: `_${randomUUID()}`,
      Destination: this.sp_.acsUrl,
      Issuer: this.entityId,
      Audience: this.sp_.entityId,
      SubjectRecipient: this.sp_.acsUrl,
      IssueInstant: now.toISOString(),
      ConditionsNotBefore: new Date(now.getTime() - 1000).toISOString(),
      ConditionsNotOnOrAfter: new Date(now.getTime() + 5 * 60_000).toISOString(),
      SubjectConfirmationDataNotOnOrAfter: new Date(now.getTime() + 5 * 60_000).toISOString(),
      NameIDFormat: EMAIL_FORMAT,
      NameID: 'jit.user@example.com',
      StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      AuthnStatement: '',
      ...tags,
    };
    const statement = `<saml:AttributeStatement>${Object.entries(attrs)
      .map(([name, vs]) => `<saml:Attribute Name="${name}">${vs.map((v) => `<saml:AttributeValue xsi:type="xs:string">${v}</saml:AttributeValue>`).join('')}</saml:Attribute>`)
      .join('')}</saml:AttributeStatement>`;
    let template = samlify.SamlLib.defaultLoginResponseTemplate.context.replace('{AttributeStatement}', statement);
    if (tags.AssertionIssuer) template = template.replace('<saml:Issuer>{Issuer}</saml:Issuer><saml:Subject>', '<saml:Issuer>{AssertionIssuer}</saml:Issuer><saml:Subject>');
    if ('InResponseTo' in tags && tags.InResponseTo === undefined) template = template.replace(/ InResponseTo="\{InResponseTo\}"/g, '');
    if ('Destination' in tags && tags.Destination === undefined) template = template.replace(' Destination="{Destination}"', '');
    if ('AssertionID' in tags && tags.AssertionID === undefined) template = template.replace(' ID="{AssertionID}"', '');
    return samlify.SamlLib.replaceTagsByValue(template, values as Record<string, string>);
  }

  /**
   * A base64 SAMLResponse whose signed assertion samlify then encrypts (an EncryptedAssertion) with the given
   * algorithms, to the encryption certificate of our SP metadata, or of `spMetadata` when a case gives another.
   */
  async encryptedResponse(
    tags: ResponseTags,
    attrs: Record<string, string[]>,
    encryption: { dataEncryptionAlgorithm: string; keyEncryptionAlgorithm: string; spMetadata?: string },
  ): Promise<string> {
    const xml = this.responseXml(tags, attrs);
    const entity = this.makeEntity(this.keys, {
      isAssertionEncrypted: true,
      dataEncryptionAlgorithm: encryption.dataEncryptionAlgorithm,
      keyEncryptionAlgorithm: encryption.keyEncryptionAlgorithm,
    });
    const sp = encryption.spMetadata ? samlify.ServiceProvider({ metadata: encryption.spMetadata }) : this.sp;
    const { context } = await entity.createLoginResponse(sp, { extract: {} } as never, 'post', {}, () => ({ id: 'unused', context: xml }));
    return context;
  }

  /** A base64 SAMLResponse whose assertion is signed by `keys` (the IdP's unless a case says otherwise). */
  async signedResponse(tags: ResponseTags, attrs: Record<string, string[]>, keys?: TestKeyPair): Promise<string> {
    const xml = this.responseXml(tags, attrs);
    const { context } = await this.entity(keys).createLoginResponse(this.sp, { extract: {} } as never, 'post', {}, () => ({ id: 'unused', context: xml }));
    return context;
  }
}
