import { attr, complex, ScimResourceType } from '@app/scim';

export const AUDIT_EVENT_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:AuditEvent';

const ro = { mutability: 'readOnly' as const };

export const AUDIT_EVENT_RESOURCE_TYPE: ScimResourceType = {
  name: 'AuditEvent',
  endpoint: '/AuditEvents',
  description: 'Who changed what, and every sign-in attempt (read-only)',
  schema: {
    id: AUDIT_EVENT_SCHEMA_ID,
    name: 'AuditEvent',
    description: 'Audit event',
    attributes: [
      attr('timestamp', 'dateTime', 'When it happened', { ...ro, returned: 'always' }),
      attr('eventId', 'string', 'What happened, e.g. admin.IdentityProvider.update', { ...ro, returned: 'always', caseExact: true, example: 'admin.IdentityProvider.create' }),
      attr('outcome', 'string', 'success or failure', { ...ro, canonicalValues: ['success', 'failure'] }),
      attr('reason', 'string', 'Reason code of a failure', { ...ro, caseExact: true }),
      attr('message', 'string', 'Human-readable summary', ro),
      attr('actorId', 'string', 'Who did it: client_id, provisioning token id or user id', { ...ro, caseExact: true }),
      attr('actorName', 'string', 'Name of the actor', ro),
      attr('actorType', 'string', 'Kind of actor', { ...ro, canonicalValues: ['Client', 'ProvisioningToken', 'User', 'Anonymous'] }),
      attr('adminResourceType', 'string', 'Type of the resource acted upon', { ...ro, caseExact: true }),
      attr('adminResourceId', 'string', 'Id of the resource acted upon', { ...ro, caseExact: true }),
      attr('adminResourceName', 'string', 'Name of the resource acted upon', ro),
      attr('correlationId', 'string', 'Request correlation id (also in the opc-request-id header)', { ...ro, caseExact: true }),
      complex(
        'changes',
        'Attributes changed: old and new values as JSON (secrets are never recorded)',
        [
          attr('attribute', 'string', 'Attribute path', ro),
          attr('oldValue', 'string', 'Old value (JSON)', ro),
          attr('newValue', 'string', 'New value (JSON)', ro),
          attr('replacedSource', 'string', 'sso.login: who had set the value this change replaced, as JSON {"sourceType": "jit"|"scim"|"admin", "sourceId", "sourceName", "updated"} (attribute ownership); absent when no source was recorded', ro),
        ],
        { ...ro, multiValued: true },
      ),
      attr('details', 'string', 'Further structured details (JSON)', ro),
    ],
  },
  schemaExtensions: [],
  example: {
    schemas: [AUDIT_EVENT_SCHEMA_ID],
    id: '2b6f0cc904d137be2e1730235f5664094b831186',
    timestamp: '2026-11-22T10:00:00.000Z',
    eventId: 'admin.IdentityProvider.update',
    outcome: 'success',
    actorId: 'client-3JmQx0d9PqkA',
    actorType: 'Client',
    adminResourceType: 'IdentityProvider',
    adminResourceId: '4bce9b677ab447f18b65ba7bf9a61c21',
    changes: [{ attribute: 'jitUserProvGroupAssignmentMethod', oldValue: '"Overwrite"', newValue: '"Merge"' }],
  },
};
