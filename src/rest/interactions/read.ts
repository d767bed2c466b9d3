/**
 * read and vread, with conditional read (If-None-Match, If-Modified-Since) and _summary/_elements.
 * See: https://hl7.org/fhir/R4/http.html#read and #vread
 */
import type { FhirRequest, FhirResponse, QueryParams } from '../../core/exchange';
import type { FhirServices } from '../../core/services';
import { FhirError } from '../../fhir/outcomes';
import { parseSummaryMode, selectElements, summarize } from '../../fhir/summary';
import { etag, parseVersionId } from '../../fhir/versioning';
import { versionResponse } from '../responses';

export async function read(services: FhirServices, request: FhirRequest, target: { resourceType: string; id: string }): Promise<FhirResponse> {
  const current = await services.repo.read(target.resourceType, target.id);
  if (notModified(request, current.versionId, current.lastUpdated)) {
    return { status: 304, headers: { etag: etag(current.versionId) } };
  }
  return shaped(versionResponse(current), request.query);
}

export async function vread(
  services: FhirServices,
  request: FhirRequest,
  target: { resourceType: string; id: string; versionSegment: string },
): Promise<FhirResponse> {
  const versionId = parseVersionId(target.versionSegment);
  if (versionId === undefined) {
    throw new FhirError('VERSION_NOT_FOUND', `"${target.versionSegment}" is not a version of ${target.resourceType}/${target.id}`);
  }
  const version = await services.repo.vread(target.resourceType, target.id, versionId);
  if (!version.resource) {
    throw new FhirError('GONE', `Version ${versionId} of ${target.resourceType}/${target.id} is a deletion`);
  }
  return shaped(versionResponse(version), request.query);
}

/** Applies _summary and _elements to a single-resource response. */
export function shaped(response: FhirResponse, query: QueryParams): FhirResponse {
  const summary = query._summary?.[0];
  const elements = query._elements;
  if (!response.body || (summary === undefined && elements === undefined)) {
    return response;
  }
  if (summary !== undefined && elements !== undefined) {
    throw new FhirError('INVALID_REQUEST', '_summary and _elements cannot be combined', { expression: ['_summary', '_elements'] });
  }
  if (summary !== undefined) {
    const mode = parseSummaryMode(summary);
    if (mode === 'count') {
      throw new FhirError('INVALID_REQUEST', '_summary=count applies to searches only', { expression: ['_summary'] });
    }
    return mode === 'false' ? response : { ...response, body: summarize(response.body, mode), subsetted: true };
  }
  const names = (elements ?? []).flatMap((e) => e.split(',')).map((e) => e.trim()).filter((e) => e !== '');
  return { ...response, body: selectElements(response.body, names), subsetted: true };
}

/** If-None-Match (ETag) and If-Modified-Since let a client skip an unchanged resource. */
function notModified(request: FhirRequest, versionId: number, lastUpdated: Date): boolean {
  const { ifNoneMatch, ifModifiedSince } = request.headers;
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || tag.trim().replace(/^W\//, '') === `"${versionId}"`);
  }
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    // HTTP dates have second precision.
    return !Number.isNaN(since) && Math.floor(lastUpdated.getTime() / 1000) * 1000 <= since;
  }
  return false;
}
