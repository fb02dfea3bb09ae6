import { attr, complex, ScimSchema } from '@app/scim/core';

/**
 * Oracle's User extensions beyond `user:User`, as the OCI SDK models describe them (lib/identitydomains model
 * extension-*-user.ts). IDCS automation sends them (Oracle's Terraform provider sends most of them in every user
 * body), so they are accepted. Only `userState` has an effect here (a locked user cannot sign in); the others are
 * stored and returned as data, because what they configure in IDCS (API keys, POSIX accounts, risk scoring,
 * passwordless factors, Secure Form Fill) does not exist in this server. docs/idcs-compatibility.md lists them.
 * Attributes IDCS returns `never` and does not mark as secrets are instructions for one request, never stored
 * (see `dropRequestOnly`).
 */

export const USER_STATE_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User';
export const ADAPTIVE_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:adaptive:User';
export const CAPABILITIES_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:capabilities:User';
export const DB_CREDENTIALS_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:dbCredentials:User';
export const PASSWORDLESS_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:passwordless:User';
export const POSIX_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:posix:User';
export const SELF_CHANGE_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:selfChange:User';
export const SFF_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:sff:User';

/** IDCS's `locked.reason` of an administrator's lock (the others are locks IDCS sets itself after failed sign-ins). */
export const ADMIN_LOCK_REASON = 1;

const lockState = (name: string, description: string, extra: ReturnType<typeof attr>[] = []) =>
  complex(name, description, [
    attr('on', 'boolean', 'Whether the account is locked', { example: true }),
    attr('lockDate', 'dateTime', 'When the lock was set; set by the server when `on` becomes true, ignored on input', { mutability: 'readOnly' }),
    ...extra,
  ]);

export const USER_STATE_SCHEMA: ScimSchema = {
  id: USER_STATE_SCHEMA_ID,
  name: 'UserStateUser',
  description: 'Oracle IDCS user state: account lock (a user whose locked.on is true cannot sign in) and the last successful sign-in',
  attributes: [
    lockState('locked', 'Account lock: a locked user cannot sign in. An administrator locks with {"on": true} and unlocks with {"on": false}; a PUT that leaves locked out keeps the lock as it is', [
      // Server-set: a lock made through this API is an administrator's lock; the other reasons are IDCS's own locks.
      attr('reason', 'integer', 'Why the account is locked (IDCS codes: 0 failed password logins, 1 admin lock, 2 failed password resets, 3 and 4 failed MFA logins, 5 failed database logins); set by the server, 1 for a lock made through this API, ignored on input', {
        mutability: 'readOnly',
        example: 1,
      }),
      attr('expired', 'boolean', 'Whether the password is expired (stored as data: this server signs users in through identity providers only)', { returned: 'request' }),
    ]),
    lockState('recoveryLocked', 'Account-recovery lock (stored as data: this server has no account recovery); a PUT that leaves it out keeps it'),
    attr('maxConcurrentSessions', 'integer', 'Maximum number of concurrent sessions, at least 1 (stored as data: not enforced here)', { example: 10 }),
    // As IDCS describes it: returned on request, searchable. Kept outside the user's document, so a sign-in gives the
    // user no new version (an administrator's If-Match stays valid).
    attr('lastSuccessfulLoginDate', 'dateTime', 'When the user last signed in successfully (SAML or OpenID Connect, through any identity provider); absent for a user who never did. Set by the server; a sign-in does not change the user\'s meta.version. Returned on request, as IDCS does (attributes=urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User:lastSuccessfulLoginDate, or attributeSets=all); filterable and sortable', {
      mutability: 'readOnly',
      returned: 'request',
      example: '2026-11-26T09:15:00.000Z',
    }),
  ],
};

export const ADAPTIVE_USER_SCHEMA: ScimSchema = {
  id: ADAPTIVE_USER_SCHEMA_ID,
  name: 'AdaptiveUser',
  description: 'Oracle IDCS adaptive security: the user\'s risk level (stored as data)',
  attributes: [attr('riskLevel', 'string', 'Risk level', { returned: 'request', canonicalValues: ['LOW', 'MEDIUM', 'HIGH'], example: 'LOW' })],
};

const canUse = (name: string, what: string) => attr(name, 'boolean', `Whether the user may use ${what} (stored as data: not issued by this server)`);

export const CAPABILITIES_USER_SCHEMA: ScimSchema = {
  id: CAPABILITIES_USER_SCHEMA_ID,
  name: 'CapabilitiesUser',
  description: 'Oracle IDCS user capabilities: which OCI credential types the user may use (stored as data)',
  attributes: [
    canUse('canUseApiKeys', 'API signing keys'),
    canUse('canUseAuthTokens', 'auth tokens'),
    canUse('canUseConsolePassword', 'a Console password'),
    canUse('canUseCustomerSecretKeys', 'customer secret keys'),
    canUse('canUseOAuth2ClientCredentials', 'OAuth 2.0 client credentials'),
    canUse('canUseSmtpCredentials', 'SMTP credentials'),
    canUse('canUseDbCredentials', 'database credentials'),
    canUse('canUseConsole', 'the OCI Console'),
  ],
};

export const DB_CREDENTIALS_USER_SCHEMA: ScimSchema = {
  id: DB_CREDENTIALS_USER_SCHEMA_ID,
  name: 'DbCredentialsUser',
  description: 'Oracle IDCS database credentials of the user: the database user name (stored as data)',
  attributes: [
    attr('dbUserName', 'string', 'Database user name', { returned: 'request', example: 'BJENSEN' }),
  ],
};

export const PASSWORDLESS_USER_SCHEMA: ScimSchema = {
  id: PASSWORDLESS_USER_SCHEMA_ID,
  name: 'PasswordlessUser',
  description: 'Oracle IDCS passwordless sign-in preference (stored as data)',
  attributes: [
    attr('factorType', 'string', 'Authentication factor type', {
      canonicalValues: ['EMAIL', 'SMS', 'PHONE_CALL', 'TOTP', 'PUSH', 'OFFLINETOTP', 'SECURITY_QUESTIONS', 'VOICE', 'USERNAME_PASSWORD', 'THIRDPARTY', 'FIDO_AUTHENTICATOR'],
      example: 'EMAIL',
    }),
    attr('factorMethod', 'string', 'Authentication factor method'),
  ],
};

export const POSIX_USER_SCHEMA: ScimSchema = {
  id: POSIX_USER_SCHEMA_ID,
  name: 'PosixUser',
  description: 'Oracle IDCS POSIX account attributes (stored as data)',
  attributes: [
    attr('uidNumber', 'integer', 'Numeric user id', { returned: 'request', example: 500 }),
    attr('gidNumber', 'integer', 'Numeric id of the primary group', { returned: 'request', example: 500 }),
    attr('gecos', 'string', 'General information (GECOS field)', { returned: 'request' }),
    attr('homeDirectory', 'string', 'Absolute path of the home directory', { returned: 'request', example: '/home/bjensen' }),
    attr('loginShell', 'string', 'Path of the login shell', { returned: 'request', example: '/bin/bash' }),
  ],
};

export const SELF_CHANGE_USER_SCHEMA: ScimSchema = {
  id: SELF_CHANGE_USER_SCHEMA_ID,
  name: 'SelfChangeUser',
  description: 'Oracle IDCS self-change flag: an instruction for one request, accepted and never stored',
  attributes: [
    attr('allowSelfChange', 'boolean', 'In IDCS, lets a user change their own record in this request; accepted and without effect here (never stored or returned)', {
      mutability: 'writeOnly',
      returned: 'never',
    }),
  ],
};

export const SFF_USER_SCHEMA: ScimSchema = {
  id: SFF_USER_SCHEMA_ID,
  name: 'SffUser',
  description: 'Oracle IDCS Secure Form Fill keys (stored as data, returned on request, as IDCS does)',
  attributes: [attr('sffAuthKeys', 'string', 'Secure Form Fill authentication keys', { returned: 'request' })],
};
