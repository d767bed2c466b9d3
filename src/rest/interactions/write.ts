/**
 * create, update (with If-Match and update-as-create) and delete, through the write pipeline.
 * See: https://hl7.org/fhir/R4/http.html#create, #update, #delete
 */
import type { RequestContext } from '../../core/context';
import { type FhirRequest, type FhirResponse, ifMatchVersion } from '../../core/exchange';
import type { FhirServices } from '../../core/services';
import { writeOne } from '../../core/write-pipeline';
import { informational } from '../../fhir/outcomes';
import { assertId, assertResourceBody, assertUpdateBody } from '../../fhir/resource-body';
import { etag } from '../../fhir/versioning';
import { newId } from '../../platform/ids';
import type { PlannedWrite } from '../../store/repository';
import { writeResponse } from '../responses';

/** POST [type]: the server assigns the id; a client-supplied one is ignored (http.html#create). */
export async function create(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const { result, warnings } = await writeOne(services, ctx, createWrite(resourceType, request.body));
  return writeResponse({ baseUrl: services.settings.baseUrl, ...result, prefer: ctx.prefer, warnings });
}

/** PUT [type]/[id]: a compare-and-set when If-Match names a version; creates when absent. */
export async function update(services: FhirServices, ctx: RequestContext, request: FhirRequest, target: { resourceType: string; id: string }): Promise<FhirResponse> {
  const resource = assertUpdateBody(target.resourceType, target.id, request.body);
  const expected = ifMatchVersion(request);
  const { result, warnings } = await writeOne(services, ctx, { kind: 'update', resource, method: 'PUT', ...(expected !== undefined ? { ifMatchVersion: expected } : {}) });
  return writeResponse({ baseUrl: services.settings.baseUrl, ...result, prefer: ctx.prefer, warnings });
}

/** DELETE [type]/[id]: deleting what is absent or already deleted succeeds too (http.html#delete). */
export async function remove(services: FhirServices, ctx: RequestContext, request: FhirRequest, target: { resourceType: string; id: string }): Promise<FhirResponse> {
  assertId(target.resourceType, target.id);
  const expected = ifMatchVersion(request);
  const { result } = await writeOne(services, ctx, { kind: 'delete', ...target, ...(expected !== undefined ? { ifMatchVersion: expected } : {}) });
  const deleted = result.version.versionId > 0;
  return {
    status: 200,
    body: informational(deleted ? `Deleted ${target.resourceType}/${target.id}` : `${target.resourceType}/${target.id} was not present`),
    headers: deleted ? { etag: etag(result.version.versionId) } : {},
  };
}

/** A create of a request body, under a fresh server-assigned id unless one is given. */
export function createWrite(resourceType: string, body: unknown, id: string = newId(), method: 'POST' | 'PUT' = 'POST'): PlannedWrite & { kind: 'create' } {
  const resource = assertResourceBody(resourceType, body);
  return { kind: 'create', resource: { ...resource, id }, ...(method === 'PUT' ? { method } : {}) };
}
