/** A person who can sign in at the demo IdP. The password is shown on the login page: this is a demo. */
export interface DemoUser {
  /** What the person types in "User name"; also the SAML NameID (emailAddress format) and the `email` attribute. */
  email: string;
  password: string;
  firstName: string;
  familyName: string;
  /** Sent as the multi-valued `groups` attribute. */
  groups: string[];
}

/**
 * The demo's people. Their groups are IdP group names: the demo registration maps "Administrators" and
 * "Engineering" to local groups; "Admins" is mapped to nothing, so JIT skips it (absent groups are ignored).
 */
export const DEMO_USERS: readonly DemoUser[] = [
  { email: 'alice@example.com', password: 'alice-demo-pw', firstName: 'Alice', familyName: 'Anderson', groups: ['Administrators', 'Admins'] },
  { email: 'bob@example.com', password: 'bob-demo-pw', firstName: 'Bob', familyName: 'Brown', groups: ['Engineering'] },
  { email: 'carol@example.com', password: 'carol-demo-pw', firstName: 'Carol', familyName: 'Chen', groups: ['Administrators', 'Engineering'] },
];

/** The user with these credentials, if any. User names match case-insensitively, passwords exactly. */
export function checkPassword(users: readonly DemoUser[], userName: string, password: string): DemoUser | undefined {
  const user = users.find((u) => u.email.toLowerCase() === userName.trim().toLowerCase());
  return user && user.password === password ? user : undefined;
}
