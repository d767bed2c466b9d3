/**
 * create, update (with If-Match and update-as-create) and delete. Each write is prepared
 * (checked and validated) by a pure step that transaction Bundles reuse, then committed.
 * See: https://hl7.org/fhir/R4/http.html#create, #update, #delete
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError, informational } from '../fhir/outcomes';
import { assertValid } from '../fhir/validation';
import { etag, isValidId, parseVersionTag } from '../fhir/versioning';
import { newId } from '../platform/ids';
import { writeWithDerived } from './derivations';
import { writeResponse } from './responses';
import type { FhirServices } from './services';
import type { FhirRequest, FhirResponse, RequestContext } from './types';

export interface PreparedResource {
  readonly resource: Resource & { id: string };
  readonly warnings: readonly OperationOutcomeIssue[];
}

/** A create body, checked against the URL's type, validated, with a fresh server-assigned id. */
export function prepareCreate(resourceType: string, body: unknown, id: string = newId()): PreparedResource {
  const resource = assertResourceBody(resourceType, body);
  // The server assigns the id; a client-supplied one is ignored. See http.html#create
  const candidate = withServerMeta({ ...resource, id });
  const warnings = assertValid(candidate, resourceType);
  return { resource: candidate, warnings };
}

/** An update body: its id must be present and equal the URL's id. */
export function prepareUpdate(resourceType: string, id: string, body: unknown): PreparedResource {
  const resource = assertResourceBody(resourceType, body);
  if (resource.id === undefined) {
    throw new FhirError('MISSING_ID', `The ${resourceType} in an update must carry id "${id}"`, { expression: [`${resourceType}.id`] });
  }
  if (resource.id !== id) {
    throw new FhirError('ID_MISMATCH', `The resource id "${resource.id}" does not match the id in the URL "${id}"`, {
      expression: [`${resourceType}.id`],
    });
  }
  assertId(resourceType, id);
  const candidate = withServerMeta({ ...resource, id });
  const warnings = assertValid(candidate, resourceType);
  return { resource: candidate, warnings };
}

export async function create(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const prepared = prepareCreate(resourceType, request.body);
  const result = await writeWithDerived(services, { kind: 'create', resource: prepared.resource });
  return writeResponse({ baseUrl: services.settings.baseUrl, ...result, prefer: ctx.prefer, warnings: prepared.warnings });
}

export async function update(
  services: FhirServices,
  ctx: RequestContext,
  request: FhirRequest,
  target: { resourceType: string; id: string },
): Promise<FhirResponse> {
  const prepared = prepareUpdate(target.resourceType, target.id, request.body);
  const ifMatchVersion = ifMatch(request);
  const result = await writeWithDerived(services, {
    kind: 'update',
    resource: prepared.resource,
    method: 'PUT',
    ...(ifMatchVersion !== undefined ? { ifMatchVersion } : {}),
  });
  return writeResponse({ baseUrl: services.settings.baseUrl, ...result, prefer: ctx.prefer, warnings: prepared.warnings });
}

export async function remove(services: FhirServices, request: FhirRequest, target: { resourceType: string; id: string }): Promise<FhirResponse> {
  assertId(target.resourceType, target.id);
  const deleted = await services.repo.delete(target.resourceType, target.id, { ifMatchVersion: ifMatch(request) });
  // Deleting what is absent or already deleted succeeds too (http.html#delete).
  return {
    status: 200,
    body: informational(deleted ? `Deleted ${target.resourceType}/${target.id}` : `${target.resourceType}/${target.id} was not present`),
    headers: deleted ? { etag: etag(deleted.versionId) } : {},
  };
}

export function ifMatch(request: FhirRequest): number | undefined {
  return request.headers.ifMatch === undefined ? undefined : parseVersionTag(request.headers.ifMatch);
}

export function assertId(resourceType: string, id: string): void {
  if (!isValidId(id)) {
    throw new FhirError('INVALID_ID', `"${id}" is not a valid FHIR id (1-64 of A-Z a-z 0-9 - .)`, { expression: [`${resourceType}.id`] });
  }
}

/** The body must be a JSON object of the URL's resource type. */
export function assertResourceBody(resourceType: string, body: unknown): Resource {
  if (body === undefined || body === null || (typeof body === 'string' && body === '')) {
    throw new FhirError('INVALID_RESOURCE', `A ${resourceType} resource is required in the request body`);
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new FhirError('INVALID_RESOURCE', 'The request body must be a JSON object (a FHIR resource)');
  }
  const declared = (body as { resourceType?: unknown }).resourceType;
  if (declared !== resourceType) {
    throw new FhirError(
      'RESOURCE_TYPE_MISMATCH',
      declared === undefined
        ? `The body has no resourceType; expected "${resourceType}"`
        : `The body's resourceType ${JSON.stringify(declared)} does not match the URL's type "${resourceType}"`,
      { expression: ['resourceType'] },
    );
  }
  return body as Resource;
}

/** meta.versionId and meta.lastUpdated belong to the server; the rest of meta is the client's. */
function withServerMeta<T extends Resource>(resource: T): T {
  if (!resource.meta) {
    return resource;
  }
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...meta } = resource.meta;
  const { meta: _meta, ...rest } = resource;
  return (Object.keys(meta).length > 0 ? { ...rest, meta } : rest) as T;
}
