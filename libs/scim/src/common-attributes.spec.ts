import { ocidOf, resourceWriter, withCommonColumns, writerColumn, writerOf } from './common-attributes';
import { resolvePath } from './paths';
import { WIDGET } from './test-fixtures';

describe('common attributes', () => {
  describe(ocidOf.name, () => {
    it('should shape an OCID from the resource type and id', () => {
      expect(ocidOf('IdentityProvider', '4bce9b677ab447f18b65ba7bf9a61c21')).toBe('ocid1.identityprovider.oc1..4bce9b677ab447f18b65ba7bf9a61c21');
    });
  });

  describe(writerOf.name, () => {
    it.each([
      ['an admin client', { kind: 'client', id: 'client-1', name: 'Nightly sync' }],
      ['a provisioning token', { kind: 'provisioningToken', id: 'a1b2', name: 'Okta SCIM' }],
    ])('should make %s an App named by its id and name, knowing its kind without storing it', (_what, principal) => {
      const w = writerOf({ principal });
      expect(w).toEqual({ type: 'App', value: principal.id, display: principal.name, principalKind: principal.kind });
      // The kind tells a SCIM client from an administrator (attribute ownership); the writer columns do not keep it.
      expect(JSON.parse(writerColumn(w)!)).toEqual({ type: 'App', value: principal.id, display: principal.name });
    });

    it('should know no writer for a request without principal', () => {
      expect(writerOf({})).toBeUndefined();
      expect(writerOf(undefined)).toBeUndefined();
    });
  });

  describe(resourceWriter.name, () => {
    it('should make a resource of this API an App with its OCID and endpoint', () => {
      expect(resourceWriter({ name: 'IdentityProvider', endpoint: '/IdentityProviders' }, 'abc', 'Okta')).toEqual({
        type: 'App',
        value: 'abc',
        display: 'Okta',
        ocid: 'ocid1.identityprovider.oc1..abc',
        endpoint: '/IdentityProviders',
      });
    });
  });

  describe(withCommonColumns.name, () => {
    const own = { expr: 'r.user_name' };
    const mapping = (dialect: 'sqlite' | 'postgres') => withCommonColumns('Widget', { documentColumn: 'r.data', column: (p) => (p.canonical === 'userName' ? own : undefined) }, () => dialect);
    const column = (dialect: 'sqlite' | 'postgres', path: string) => mapping(dialect).column!(resolvePath(WIDGET, path));

    it.each([
      ['sqlite', 'ocid', { expr: `('ocid1.widget.oc1..' || r.id)` }],
      ['sqlite', 'idcsCreatedBy.value', { expr: `json_extract(r.created_by, '$.value')`, json: true }],
      ['postgres', 'idcsLastModifiedBy.display', { expr: `(r.last_modified_by::jsonb #>> '{display}')`, json: true }],
      ['postgres', 'idcsCreatedBy.$ref', { expr: 'NULL' }],
      ['postgres', 'domainOcid', { expr: '(SELECT ocid FROM identity_domain)' }],
      ['sqlite', 'userName', own],
      ['sqlite', 'externalId', undefined],
    ] as const)('should map %s %s to where it is stored', (dialect, path, expected) => {
      expect(column(dialect, path)).toEqual(expected);
    });
  });
});
