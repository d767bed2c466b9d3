/**
 * Every failure CaseBridge reports is an OperationOutcome. One error type (FhirError) carries a
 * stable error code; one table (ERRORS) maps each code to its HTTP status and IssueType.
 * See: https://hl7.org/fhir/R4/operationoutcome.html and https://hl7.org/fhir/R4/http.html
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueType = OperationOutcomeIssue['code'];

/** System of the stable error codes placed in issue.details.coding. */
export const ERROR_CODE_SYSTEM = 'http://casebridge.org/fhir/CodeSystem/error';

/** The catalogue: stable code → HTTP status and IssueType. Add a row rather than a special case. */
export const ERRORS = {
  // 400: the request cannot be understood
  MALFORMED_JSON: { status: 400, issue: 'structure' },
  INVALID_REQUEST: { status: 400, issue: 'invalid' },
  INVALID_RESOURCE: { status: 400, issue: 'structure' },
  RESOURCE_TYPE_MISMATCH: { status: 400, issue: 'invalid' },
  ID_MISMATCH: { status: 400, issue: 'invalid' },
  MISSING_ID: { status: 400, issue: 'required' },
  INVALID_ID: { status: 400, issue: 'value' },
  INVALID_HEADER: { status: 400, issue: 'invalid' },
  INVALID_PATCH: { status: 400, issue: 'invalid' },
  INVALID_BUNDLE: { status: 400, issue: 'invalid' },
  INVALID_SEARCH: { status: 400, issue: 'invalid' },
  UNKNOWN_SEARCH_PARAMETER: { status: 400, issue: 'not-supported' },
  SEARCH_NOT_SUPPORTED: { status: 400, issue: 'not-supported' },
  FORBIDDEN_KEY: { status: 400, issue: 'security' },
  TOO_DEEP: { status: 400, issue: 'too-costly' },
  // 401 / 403
  UNAUTHENTICATED: { status: 401, issue: 'login' },
  FORBIDDEN: { status: 403, issue: 'forbidden' },
  // 404 / 405 / 406 / 410
  UNKNOWN_TYPE: { status: 404, issue: 'not-supported' },
  NOT_FOUND: { status: 404, issue: 'not-found' },
  VERSION_NOT_FOUND: { status: 404, issue: 'not-found' },
  UNKNOWN_ROUTE: { status: 404, issue: 'not-supported' },
  METHOD_NOT_ALLOWED: { status: 405, issue: 'not-supported' },
  NOT_ACCEPTABLE: { status: 406, issue: 'not-supported' },
  GONE: { status: 410, issue: 'deleted' },
  // 409 / 412
  CONFLICT: { status: 409, issue: 'conflict' },
  TRANSACTION_CONFLICT: { status: 409, issue: 'conflict' },
  VERSION_CONFLICT: { status: 412, issue: 'conflict' },
  MULTIPLE_MATCHES: { status: 412, issue: 'multiple-matches' },
  NO_MATCH: { status: 412, issue: 'not-found' },
  PRECONDITION_REQUIRED: { status: 428, issue: 'business-rule' },
  // 413 / 415 / 422 / 429
  PAYLOAD_TOO_LARGE: { status: 413, issue: 'too-long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, issue: 'not-supported' },
  BUSINESS_RULE: { status: 422, issue: 'business-rule' },
  /** A command or write names a resource that does not exist (or that the caller may not see). */
  UNKNOWN_REFERENCE: { status: 422, issue: 'not-found' },
  PATCH_FAILED: { status: 422, issue: 'processing' },
  PROFILE_VIOLATION: { status: 422, issue: 'invariant' },
  TOO_COSTLY: { status: 422, issue: 'too-costly' },
  TOO_MANY_REQUESTS: { status: 429, issue: 'throttled' },
  // 5xx: never carries internal detail to the client
  INTERNAL: { status: 500, issue: 'exception' },
  NOT_IMPLEMENTED: { status: 501, issue: 'not-supported' },
  UNAVAILABLE: { status: 503, issue: 'transient' },
  /** The database is out of disk space: nothing was written (RFC 4918 §11.5). */
  INSUFFICIENT_STORAGE: { status: 507, issue: 'exception' },
} as const satisfies Record<string, { status: number; issue: IssueType }>;

export type ErrorCode = keyof typeof ERRORS;

export interface FhirErrorOptions {
  /** FHIRPath locations of the problem (issue.expression). */
  expression?: string[];
  /** Further issues (e.g. one per validation failure); the first issue is built from the message. */
  issues?: OperationOutcomeIssue[];
  cause?: unknown;
}

/** The only error type handlers throw for an expected failure. */
export class FhirError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: FhirErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'FhirError';
    this.status = ERRORS[code].status;
    this.outcome = operationOutcome(
      options.issues && options.issues.length > 0
        ? options.issues
        : [issue(code, message, options.expression)],
    );
  }
}

/** One error-severity issue for a catalogue code. */
export function issue(code: ErrorCode, message: string, expression?: string[]): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: ERRORS[code].issue,
    details: { coding: [{ system: ERROR_CODE_SYSTEM, code }], text: message },
    diagnostics: message,
    ...(expression && expression.length > 0 ? { expression } : {}),
  };
}

export function operationOutcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** An informational outcome, e.g. for Prefer: return=OperationOutcome on success. */
export function informational(message: string, severity: IssueSeverity = 'information'): OperationOutcome {
  return operationOutcome([{ severity, code: 'informational', diagnostics: message }]);
}

/** Normalises anything thrown into a FhirError; an unknown error becomes a 500 with no detail. */
export function toFhirError(err: unknown): FhirError {
  if (err instanceof FhirError) {
    return err;
  }
  return new FhirError('INTERNAL', 'Internal server error', { cause: err });
}

/** Highest severity rank of issues, used to decide whether a validation outcome is a failure. */
export function hasErrors(issues: readonly OperationOutcomeIssue[]): boolean {
  return issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
}
