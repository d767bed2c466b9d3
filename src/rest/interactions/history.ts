/**
 * history at instance, type and system level: a Bundle of type history, newest first, with
 * request and response on every entry, _count, _since, _at and keyset paging links.
 * See: https://hl7.org/fhir/R4/http.html#history
 */
import type { BundleEntry, BundleLink } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse, QueryParams } from '../../core/exchange';
import { pageSize } from '../../core/paging';
import type { FhirServices } from '../../core/services';
import { bundle, statusLine } from '../../fhir/bundles';
import { FhirError } from '../../fhir/outcomes';
import { etag } from '../../fhir/versioning';
import { parseDateRange } from '../../search/date-range';
import type { HistoryQuery, HistoryScope, ResourceVersion } from '../../store/repository';

const HISTORY_PARAMETERS = new Set(['_count', '_since', '_at', '_cursor', '_format', '_pretty', '_list', '_sort']);

export async function history(services: FhirServices, request: FhirRequest, scope: HistoryScope): Promise<FhirResponse> {
  const query = parseHistoryQuery(request.query, services);
  const page = await services.repo.history(scope, query);
  const { baseUrl } = services.settings;
  const path = scopePath(scope);
  const link: BundleLink[] = [{ relation: 'self', url: `${baseUrl}/${path}${queryString(request.query, undefined)}` }];
  if (page.nextCursor) {
    link.push({ relation: 'next', url: `${baseUrl}/${path}${queryString(request.query, page.nextCursor)}` });
  }
  return {
    status: 200,
    body: bundle('history', { link, entry: page.versions.map((v) => historyEntry(baseUrl, v)), timestamp: services.now() }),
    headers: {},
  };
}

export function parseHistoryQuery(params: QueryParams, services: Pick<FhirServices, 'settings'>): HistoryQuery {
  for (const name of Object.keys(params)) {
    if (!HISTORY_PARAMETERS.has(name)) {
      throw new FhirError('INVALID_REQUEST', `History does not support the parameter "${name}"`, { expression: [name] });
    }
  }
  if (params._list || params._sort) {
    throw new FhirError('NOT_IMPLEMENTED', 'History with _list or _sort is not supported', { expression: [params._list ? '_list' : '_sort'] });
  }
  const since = single(params, '_since');
  const at = single(params, '_at');
  const cursor = single(params, '_cursor');
  return {
    count: pageSize(single(params, '_count'), services.settings),
    ...(since !== undefined ? { since: new Date(dateParameter('_since', since).lo) } : {}),
    ...(at !== undefined ? { at: toInterval(dateParameter('_at', at)) } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
  };
}

function dateParameter(name: string, value: string) {
  const range = parseDateRange(value);
  if (!range) {
    throw new FhirError('INVALID_REQUEST', `${name}: "${value}" is not a valid FHIR instant or date`, { expression: [name] });
  }
  return range;
}

function toInterval(range: { lo: string; hi: string }): { from: Date; to: Date } {
  return { from: new Date(range.lo), to: new Date(range.hi) };
}

function historyEntry(baseUrl: string, version: ResourceVersion): BundleEntry {
  const url = version.method === 'POST' ? version.resourceType : `${version.resourceType}/${version.id}`;
  const status = version.method === 'DELETE' ? 204 : version.method === 'POST' ? 201 : 200;
  return {
    fullUrl: `${baseUrl}/${version.resourceType}/${version.id}`,
    ...(version.resource ? { resource: version.resource } : {}),
    request: { method: version.method, url },
    response: { status: statusLine(status), etag: etag(version.versionId), lastModified: version.lastUpdated.toISOString() },
  };
}

function scopePath(scope: HistoryScope): string {
  switch (scope.level) {
    case 'system':
      return '_history';
    case 'type':
      return `${scope.resourceType}/_history`;
    case 'instance':
      return `${scope.resourceType}/${scope.id}/_history`;
  }
}

function queryString(params: QueryParams, cursor: string | undefined): string {
  const search = new URLSearchParams();
  for (const [name, values] of Object.entries(params)) {
    if (name !== '_cursor') {
      values.forEach((v) => search.append(name, v));
    }
  }
  if (cursor !== undefined) {
    search.append('_cursor', cursor);
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

function single(params: QueryParams, name: string): string | undefined {
  const values = params[name];
  if (values === undefined) {
    return undefined;
  }
  if (values.length !== 1) {
    throw new FhirError('INVALID_REQUEST', `${name} may appear only once`, { expression: [name] });
  }
  return values[0];
}
