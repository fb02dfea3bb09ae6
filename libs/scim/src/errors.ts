import type { IncomingHttpHeaders } from 'node:http';
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

/**
 * Who reads an error body. `scim`: the body RFC 7644 §3.12 defines, plus Oracle's message extension (listed in
 * `schemas`, as IDCS sends it) when there is a message id. `oracleSdk`: the same, plus the top-level `code` and
 * `message` that Oracle's SDKs turn into an error's service code and message (oci-common's handleErrorResponse reads
 * nothing else). No single body serves both: strict SCIM clients (python-scim's scim2-models) refuse any key the
 * Error schema does not define, so these two are only sent to a client that says it is an Oracle SDK.
 */
export type ErrorAudience = 'scim' | 'oracleSdk';

/**
 * Oracle's SDKs name themselves in User-Agent ("Oracle-TypeScriptSDK/2.x", "Oracle-PythonSDK/2.x" under the OCI CLI,
 * "Oracle-JavaSDK/3.x"), the Go SDK (under Terraform too) also in opc-client-info ("Oracle-GoSDK/65.x"), and the
 * TypeScript SDK in X-Orcl-User-Agent when it runs in a browser, which does not let it set User-Agent.
 */
const ORACLE_SDK = /^Oracle-\w+SDK\//;

export function errorAudienceOf(headers: IncomingHttpHeaders): ErrorAudience {
  const named = [headers['user-agent'], headers['opc-client-info'], headers['x-orcl-user-agent']];
  return named.some((h) => typeof h === 'string' && ORACLE_SDK.test(h)) ? 'oracleSdk' : 'scim';
}

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

  toJSON(audience: ErrorAudience = 'scim'): Record<string, unknown> {
    const schemas: string[] = [SCIM_SCHEMAS.error];
    const body: Record<string, unknown> = {
      schemas,
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.detail,
    };
    if (this.messageId) {
      // RFC 7643 §3: an extension's attributes sit under its URN, which `schemas` lists.
      schemas.push(SCIM_SCHEMAS.oracleError);
      body[SCIM_SCHEMAS.oracleError] = { messageId: this.messageId };
    }
    if (audience === 'oracleSdk') {
      body.code = OCI_CODES[this.status] ?? String(this.status);
      body.message = this.detail;
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
