import { SCIM_SCHEMAS } from './schema';

export type ScimType =
  | 'uniqueness'
  | 'mutability'
  | 'invalidFilter'
  | 'invalidPath'
  | 'invalidValue'
  | 'invalidSyntax'
  | 'tooMany'
  | 'noTarget'
  | 'invalidVers'
  | 'sensitive';

/** Oracle's SDKs read `code` from error bodies; these are the OCI service error codes for each status. */
const OCI_CODES: Record<number, string> = {
  400: 'InvalidParameter',
  401: 'NotAuthenticated',
  403: 'NotAuthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  412: 'PreconditionFailed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalServerError',
};

/** An error that reaches the client as a SCIM error envelope (RFC 7644 §3.12). */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType,
    readonly messageId?: string,
  ) {
    super(detail);
  }

  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = {
      schemas: [SCIM_SCHEMAS.error],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.detail,
      code: OCI_CODES[this.status] ?? String(this.status),
      message: this.detail,
    };
    if (this.messageId) {
      (body.schemas as string[]).push(SCIM_SCHEMAS.oracleError);
      body[SCIM_SCHEMAS.oracleError] = { messageId: this.messageId };
    }
    return body;
  }

  static badRequest(scimType: ScimType, detail: string, messageId?: string): ScimError {
    return new ScimError(400, detail, scimType, messageId);
  }
  static notFound(detail: string): ScimError {
    return new ScimError(404, detail);
  }
  static conflict(detail: string): ScimError {
    return new ScimError(409, detail, 'uniqueness');
  }
}
