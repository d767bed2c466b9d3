/**
 * The FHIR interaction layer speaks FhirRequest → FhirResponse and knows nothing of express:
 * the HTTP adapter builds requests from the wire, Bundle entries build them from JSON, and both
 * go through the same router.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Caller } from '../auth/caller';
import type { Logger } from '../platform/logger';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

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

/** Everything an interaction knows about the call besides its request. */
export interface RequestContext {
  readonly requestId: string;
  readonly caller: Caller;
  readonly log: Logger;
  readonly prefer: Prefer;
}
