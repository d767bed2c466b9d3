/**
 * The entries of a batch or transaction Bundle, read into FhirRequests, ordered as a transaction
 * processes them, and their failures located at the entry. Pure: no I/O.
 * See: https://hl7.org/fhir/R4/http.html#transaction and https://hl7.org/fhir/R4/bundle.html#transaction
 */
import type { Binary, Bundle, BundleEntry, BundleEntryRequest, Resource } from '@medplum/fhirtypes';
import { type FhirRequest, type FhirResponse, HTTP_METHODS, type HttpMethod, type QueryParams, parseQueryString } from '../../core/exchange';
import { responseEntry } from '../../fhir/bundles';
import { FHIR_JSON, JSON_PATCH } from '../../fhir/media-types';
import { FhirError, toFhirError } from '../../fhir/outcomes';
import { httpDate } from '../../fhir/versioning';

export interface ParsedEntry {
  readonly index: number;
  readonly method: HttpMethod;
  readonly request: FhirRequest;
  readonly fullUrl?: string;
  readonly resource?: Resource;
}

/** Processing order inside a transaction: deletes, creates, updates and patches, then reads (http.html#trules). */
const ORDER: Record<HttpMethod, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

export function transactionOrder(entries: readonly ParsedEntry[]): ParsedEntry[] {
  return [...entries].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
}

export function isRead(entry: ParsedEntry): boolean {
  return entry.method === 'GET' || entry.method === 'HEAD';
}

/** An entry that would itself be a batch or transaction (POST [base]). */
export function isNestedBundle(entry: ParsedEntry): boolean {
  return entry.request.path === '' && entry.method === 'POST';
}

/** The body of POST [base]: a batch or transaction Bundle of at most `maxEntries` entries. */
export function assertBundle(body: unknown, maxEntries: number): Bundle {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || (body as Resource).resourceType !== 'Bundle') {
    throw new FhirError('INVALID_BUNDLE', 'POST to the base URL takes a Bundle of type batch or transaction', { expression: ['resourceType'] });
  }
  const input = body as Bundle;
  if (input.type !== 'batch' && input.type !== 'transaction') {
    throw new FhirError('INVALID_BUNDLE', `Bundle.type must be batch or transaction, got ${JSON.stringify(input.type)}`, { expression: ['Bundle.type'] });
  }
  if (input.entry !== undefined && !Array.isArray(input.entry)) {
    throw new FhirError('INVALID_BUNDLE', 'Bundle.entry must be an array', { expression: ['Bundle.entry'] });
  }
  if ((input.entry?.length ?? 0) > maxEntries) {
    throw new FhirError('PAYLOAD_TOO_LARGE', `A Bundle may hold at most ${maxEntries} entries`, { expression: ['Bundle.entry'] });
  }
  return input;
}

/** entry.request as a FhirRequest; entry.request.url is relative to [base] (an absolute URL on our base is accepted too). */
export function parseEntry(baseUrl: string, entry: BundleEntry, index: number): ParsedEntry {
  const where = `Bundle.entry[${index}]`;
  const request = entry?.request as BundleEntryRequest | undefined;
  if (!request || typeof request !== 'object') {
    throw new FhirError('INVALID_BUNDLE', `${where}.request is required in a batch or transaction`, { expression: [`${where}.request`] });
  }
  const method = request.method as HttpMethod;
  if (!HTTP_METHODS.includes(method)) {
    throw new FhirError('INVALID_BUNDLE', `${where}.request.method must be one of ${HTTP_METHODS.join(', ')}`, { expression: [`${where}.request.method`] });
  }
  if (typeof request.url !== 'string' || request.url === '') {
    throw new FhirError('INVALID_BUNDLE', `${where}.request.url is required`, { expression: [`${where}.request.url`] });
  }
  const { path, query } = splitUrl(baseUrl, request.url);
  if ((method === 'POST' || method === 'PUT') && !entry.resource) {
    throw new FhirError('INVALID_BUNDLE', `${where}.resource is required for ${method}`, { expression: [`${where}.resource`] });
  }
  if (entry.fullUrl !== undefined && typeof entry.fullUrl !== 'string') {
    throw new FhirError('INVALID_BUNDLE', `${where}.fullUrl must be a string`, { expression: [`${where}.fullUrl`] });
  }
  return {
    index,
    method,
    fullUrl: entry.fullUrl,
    resource: entry.resource,
    request: {
      method,
      path,
      query,
      headers: {
        ...(request.ifMatch ? { ifMatch: request.ifMatch } : {}),
        ...(request.ifNoneMatch ? { ifNoneMatch: request.ifNoneMatch } : {}),
        ...(request.ifNoneExist ? { ifNoneExist: request.ifNoneExist } : {}),
        ...(request.ifModifiedSince ? { ifModifiedSince: httpDate(new Date(request.ifModifiedSince)) } : {}),
        contentType: method === 'PATCH' && entry.resource?.resourceType === 'Binary' ? JSON_PATCH : FHIR_JSON,
      },
      body: method === 'PATCH' ? parsePatchBody(entry.resource) : entry.resource,
    },
  };
}

/** A PATCH entry carries a FHIRPath Patch (Parameters) or a JSON Patch in a Binary. */
export function patchFromEntry(resource: Resource | undefined): unknown {
  if (resource?.resourceType === 'Parameters') {
    return resource;
  }
  const binary = resource as Binary | undefined;
  if (binary?.resourceType !== 'Binary' || binary.contentType !== JSON_PATCH || typeof binary.data !== 'string') {
    throw new FhirError('INVALID_BUNDLE', 'A PATCH entry must carry a FHIRPath Patch (Parameters) or a Binary with contentType application/json-patch+json and the patch in data');
  }
  try {
    return JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8'));
  } catch {
    throw new FhirError('INVALID_PATCH', 'The Binary data of a PATCH entry is not base64-encoded JSON');
  }
}

/** A FhirResponse as a Bundle entry (entry.response.lastModified is an instant, not an HTTP date). */
export function toResponseEntry(baseUrl: string, response: FhirResponse): BundleEntry {
  const isOutcome = response.body?.resourceType === 'OperationOutcome';
  const lastModified = response.headers.lastModified ? new Date(response.headers.lastModified).toISOString() : undefined;
  const resource = response.body && !(isOutcome && response.status >= 400) ? response.body : undefined;
  return responseEntry({
    status: response.status,
    ...(resource ? { resource } : {}),
    ...(resource?.id && !isOutcome && resource.resourceType !== 'Bundle' ? { fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}` } : {}),
    ...(response.headers.location ? { location: response.headers.location } : {}),
    ...(response.headers.etag ? { etag: response.headers.etag } : {}),
    ...(lastModified ? { lastModified } : {}),
    ...(isOutcome && response.status >= 400 && response.body?.resourceType === 'OperationOutcome' ? { outcome: response.body } : {}),
  });
}

/** Runs `run` for `entry`, locating its failure at the entry. */
export async function withEntry<T>(entry: ParsedEntry, run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw entryError(entry, err);
  }
}

/** Points an entry's failure at the entry: expressions and messages name Bundle.entry[i]. */
export function entryError(entry: Pick<ParsedEntry, 'index'>, err: unknown): FhirError {
  if (!(err instanceof FhirError)) {
    return toFhirError(err);
  }
  const where = `Bundle.entry[${entry.index}]`;
  const issues = err.outcome.issue.map((i) => ({
    ...i,
    ...(i.diagnostics ? { diagnostics: `${where}: ${i.diagnostics}` } : {}),
    ...(i.details?.text ? { details: { ...i.details, text: `${where}: ${i.details.text}` } } : {}),
    // An issue without a place of its own is at least located at its entry.
    expression: i.expression ? i.expression.map((e) => locateInEntry(where, e)) : [where],
  }));
  return new FhirError(err.code, `${where}: ${err.message}`, { issues, cause: err });
}

/** `Patient.name[0]` → `Bundle.entry[3].resource.name[0]`; a query parameter → the entry's request.url. */
export function locateInEntry(where: string, expression: string): string {
  if (expression.startsWith('Bundle.entry[')) {
    return expression;
  }
  if (/^[A-Z]/.test(expression)) {
    return `${where}.resource${expression.replace(/^[A-Z][A-Za-z]*/, '')}`;
  }
  if (expression.startsWith('[')) {
    return `${where}.resource.data`; // a JSON Patch operation, carried in a Binary
  }
  return expression === 'resourceType' ? `${where}.resource.resourceType` : `${where}.request.url`;
}

function parsePatchBody(resource: Resource | undefined): unknown {
  try {
    return patchFromEntry(resource);
  } catch {
    return undefined;
  }
}

function splitUrl(baseUrl: string, url: string): { path: string; query: QueryParams } {
  const relative = url.startsWith(`${baseUrl}/`) ? url.slice(baseUrl.length + 1) : url.replace(/^\//, '');
  const [path = '', search = ''] = relative.split(/\?(.*)/s, 2);
  return { path: path.replace(/\/$/, ''), query: parseQueryString(search) };
}
