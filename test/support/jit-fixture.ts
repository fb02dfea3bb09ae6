/** The OCI + Okta tutorial's attribute mappings (seeds/000 §1): NameID → userName, firstName, familyName, email. */
export const TUTORIAL_MAPPINGS = [
  { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' },
  { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.firstName)' },
  { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.familyName)' },
  { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
];

/** A PUT body for an IdP's MappedAttribute with the given mappings. */
export function mappedAttributeBody(attributeMappings: Record<string, unknown>[] = TUTORIAL_MAPPINGS): Record<string, unknown> {
  return { schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:MappedAttribute'], idcsResourceType: 'User', direction: 'inbound', attributeMappings };
}
