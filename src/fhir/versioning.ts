/**
 * Version-aware HTTP: ETag W/"n" and Last-Modified from meta, If-Match parsing.
 * See: https://hl7.org/fhir/R4/http.html#versioning
 */
import { FhirError } from './outcomes';

export function etag(versionId: number | string): string {
  return `W/"${versionId}"`;
}

/** Parses an ETag as sent in If-Match (W/"3", "3" or bare 3) into a version number. */
export function parseVersionTag(header: string, headerName = 'If-Match'): number {
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!match?.[1]) {
    throw new FhirError('INVALID_HEADER', `${headerName} must name a version as W/"<versionId>", got ${JSON.stringify(header)}`, {
      expression: [headerName],
    });
  }
  return Number(match[1]);
}

/**
 * A compare-and-set found another version than the one the writer expected (If-Match, a Bundle
 * entry's ifMatch, the version a patch or a case command read).
 */
export function versionConflict(args: { expected: number; actual: number | undefined; target?: string; header?: string }): FhirError {
  const found = args.actual === undefined ? 'it has no current version' : `the current version is ${args.actual}`;
  return new FhirError('VERSION_CONFLICT', `${args.header ?? 'If-Match'} expected version ${args.expected}${args.target ? ` of ${args.target}` : ''}, but ${found}`);
}

/** A version id from a URL segment (…/_history/3). */
export function parseVersionId(segment: string): number | undefined {
  return /^[1-9]\d{0,14}$/.test(segment) ? Number(segment) : undefined;
}

/** RFC 7231 HTTP-date. */
export function httpDate(instant: Date): string {
  return instant.toUTCString();
}

/**
 * FHIR id: [A-Za-z0-9\-\.]{1,64}, except `.` and `..`: as a URL path segment they mean "this" and
 * "the parent" (RFC 3986 §5.2.4), so `Patient/..` would name no Patient once any client, proxy
 * or cache normalises it. See: https://hl7.org/fhir/R4/datatypes.html#id
 */
export const ID_PATTERN = /^(?!\.\.?$)[A-Za-z0-9\-.]{1,64}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}
