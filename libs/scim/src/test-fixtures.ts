import { attr, complex, ScimResourceType } from './schema';

/** A small resource type for unit tests of the SCIM core. */
export const WIDGET: ScimResourceType = {
  name: 'Widget',
  endpoint: '/Widgets',
  description: 'Test resource',
  schema: {
    id: 'urn:test:Widget',
    name: 'Widget',
    description: 'Test',
    attributes: [
      attr('userName', 'string', 'Name', { required: true, returned: 'always', uniqueness: 'server' }),
      attr('code', 'string', 'Case-exact code', { caseExact: true }),
      attr('active', 'boolean', 'Active'),
      attr('size', 'integer', 'Size'),
      attr('secret', 'string', 'Write-only', { mutability: 'writeOnly', returned: 'never' }),
      attr('serial', 'string', 'Immutable', { mutability: 'immutable' }),
      attr('note', 'string', 'Returned on request', { returned: 'request' }),
      complex('name', 'Name parts', [attr('givenName', 'string', 'Given'), attr('familyName', 'string', 'Family')]),
      complex(
        'emails',
        'Emails',
        [attr('value', 'string', 'Address', { required: true }), attr('type', 'string', 'Kind'), attr('primary', 'boolean', 'Primary')],
        { multiValued: true },
      ),
      attr('keywords', 'string', 'Keywords', { multiValued: true }),
      complex('owners', 'Read-only', [attr('value', 'string', 'Id')], { multiValued: true, mutability: 'readOnly' }),
    ],
  },
  schemaExtensions: [
    {
      required: false,
      schema: { id: 'urn:test:ext:Widget', name: 'Ext', description: 'Ext', attributes: [attr('department', 'string', 'Department')] },
    },
  ],
};
