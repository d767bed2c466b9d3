/**
 * Bundle builders and entry shapes. See: https://hl7.org/fhir/R4/bundle.html
 */
import type { Bundle, BundleEntry, BundleLink, OperationOutcome, Resource } from '@medplum/fhirtypes';

/** "201 Created": Bundle entry.response.status carries the code and the reason phrase. */
export function statusLine(status: number): string {
  return `${status} ${REASONS[status] ?? ''}`.trim();
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** A Bundle; without entries it has no `entry` at all (JSON arrays are never empty: json.html). */
export function bundle(type: Bundle['type'], options: { entry?: BundleEntry[]; link?: BundleLink[]; total?: number; timestamp?: Date } = {}): Bundle {
  return {
    resourceType: 'Bundle',
    type,
    ...(options.timestamp ? { timestamp: options.timestamp.toISOString() } : {}),
    ...(options.total !== undefined ? { total: options.total } : {}),
    ...(options.link && options.link.length > 0 ? { link: options.link } : {}),
    ...(options.entry && options.entry.length > 0 ? { entry: options.entry } : {}),
  };
}

export function resourceUrl(baseUrl: string, resource: Pick<Resource, 'resourceType' | 'id'>): string {
  return `${baseUrl}/${resource.resourceType}/${resource.id}`;
}

/** The response part of a batch/transaction entry. */
export function responseEntry(options: {
  status: number;
  resource?: Resource;
  location?: string;
  etag?: string;
  lastModified?: string;
  outcome?: OperationOutcome;
  fullUrl?: string;
}): BundleEntry {
  return {
    ...(options.fullUrl ? { fullUrl: options.fullUrl } : {}),
    ...(options.resource ? { resource: options.resource } : {}),
    response: {
      status: statusLine(options.status),
      ...(options.location ? { location: options.location } : {}),
      ...(options.etag ? { etag: options.etag } : {}),
      ...(options.lastModified ? { lastModified: options.lastModified } : {}),
      ...(options.outcome ? { outcome: options.outcome } : {}),
    },
  };
}
