/**
 * Errors of the OAuth endpoints, answered as OAuth clients expect them: JSON
 * `{ "error": …, "error_description": … }` with 400 or 401, not an OperationOutcome.
 * See: https://www.rfc-editor.org/rfc/rfc6749#section-5.2 and
 * https://www.rfc-editor.org/rfc/rfc6750#section-3.1 (invalid_token)
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_token';

const STATUS: Readonly<Record<OAuthErrorCode, 400 | 401>> = {
  invalid_request: 400,
  // Client authentication failed: 401 (RFC 6749 §5.2).
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_token: 401,
};

export class OAuthError extends Error {
  override name = 'OAuthError';
  readonly status: 400 | 401;

  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    options: { cause?: unknown } = {},
  ) {
    super(description, options);
    this.status = STATUS[code];
  }

  /** The response body. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}
