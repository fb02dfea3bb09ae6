import { attr, complex, ScimSchema } from '@app/scim/core';

export const OCI_TAGS_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:OCITags';

/**
 * OCI tags (SDK model ExtensionOCITags), an extension of Users and Groups in IDCS (also Apps and dynamic groups,
 * which we do not have). Stored as data: tags have no meaning here beyond being returned and filtered on. Defined
 * next to the User schema because the groups library already depends on this one, not the other way round.
 */
export const OCI_TAGS_SCHEMA: ScimSchema = {
  id: OCI_TAGS_SCHEMA_ID,
  name: 'OCITags',
  description: 'Oracle Cloud Infrastructure tags (IDCS extension of Users and Groups); stored as data',
  attributes: [
    complex(
      'freeformTags',
      'Free-form tags',
      [
        attr('key', 'string', 'Tag key', { required: true, example: 'costCenter' }),
        attr('value', 'string', 'Tag value', { required: true, example: '42' }),
      ],
      { multiValued: true },
    ),
    complex(
      'definedTags',
      'Defined tags: a key of a tag namespace, with a value',
      [
        attr('namespace', 'string', 'Tag namespace', { required: true, example: 'Operations' }),
        attr('key', 'string', 'Tag key within the namespace', { required: true, example: 'Environment' }),
        attr('value', 'string', 'Tag value', { required: true, example: 'Production' }),
      ],
      { multiValued: true },
    ),
  ],
};
