/**
 * What a FHIR interaction takes and gives, whoever calls it: the HTTP adapter builds a
 * FhirRequest from the wire, a Bundle entry builds one from JSON, and both are dispatched
 * through the same route table (rest/). Nothing here knows express.
 * See: https://hl7.org/fhir/R4/http.html
 */
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/outcomes';
import { parseVersionTag } from '../fhir/versioning';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const HTTP_METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Query parameters as a multimap, in request order. */
export type QueryParams = Readonly<Record<string, readonly string[]>>;

/** Prefer header, parsed. See: https://hl7.org/fhir/R4/http.html#ops */
export interface Prefer {
  readonly return?: 'minimal' | 'representation' | 'OperationOutcome';
  readonly handling?: 'strict' | 'lenient';
  readonly respondAsync?: boolean;
}

export interface FhirRequestHeaders {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  readonly ifNoneExist?: string;
  readonly ifModifiedSince?: string;
  readonly contentType?: string;
}

export interface FhirRequest {
  readonly method: HttpMethod;
  /** Path below [base] without leading slash, e.g. "Patient/123/_history/2". */
  readonly path: string;
  readonly query: QueryParams;
  readonly headers: FhirRequestHeaders;
  readonly body?: unknown;
}

export interface FhirResponseHeaders {
  location?: string;
  etag?: string;
  lastModified?: string;
  contentLocation?: string;
}

export interface FhirResponse {
  status: number;
  /** The resource, Bundle or OperationOutcome to send; absent for an empty body. */
  body?: Resource;
  headers: FhirResponseHeaders;
  /** When the body was trimmed by _summary/_elements (for Bundle entries and logs). */
  subsetted?: boolean;
}

/**
 * A query string (`a=1&b=2&a=3`, with or without its leading `?`) as a multimap in order; `+` is
 * a space, as in any form encoding. The one parser for URLs, _search forms, Bundle entry URLs,
 * If-None-Exist and conditional references.
 */
export function parseQueryString(text: string): QueryParams {
  const query: Record<string, string[]> = {};
  try {
    for (const [name, value] of new URLSearchParams(text.startsWith('?') ? text.slice(1) : text)) {
      (query[name] ??= []).push(value);
    }
  } catch {
    throw new FhirError('INVALID_REQUEST', 'The query string is not valid URL encoding');
  }
  return query;
}

/** The version If-Match names (W/"3"), or undefined without the header; `headerName` locates a malformed one. */
export function ifMatchVersion(request: FhirRequest, headerName = 'If-Match'): number | undefined {
  return request.headers.ifMatch === undefined ? undefined : parseVersionTag(request.headers.ifMatch, headerName);
}
