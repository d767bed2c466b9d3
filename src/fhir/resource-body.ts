/**
 * What a write's body must be before anything else is checked: a JSON object of the URL's
 * resource type, with a valid id, and no server-managed meta.
 * See: https://hl7.org/fhir/R4/http.html#create and #update
 */
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from './outcomes';
import { isValidId } from './versioning';

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

/** An update body: its id must be present and equal the URL's id. */
export function assertUpdateBody(resourceType: string, id: string, body: unknown): Resource & { id: string } {
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
  return { ...resource, id };
}

export function assertId(resourceType: string, id: string): void {
  if (!isValidId(id)) {
    throw new FhirError('INVALID_ID', `"${id}" is not a valid FHIR id (1-64 of A-Z a-z 0-9 - ., and not "." or "..")`, { expression: [`${resourceType}.id`] });
  }
}

/** meta.versionId and meta.lastUpdated belong to the server; the rest of meta is the client's (profiles, labels, tags). */
export function withoutServerMeta<T extends Resource>(resource: T): T {
  if (!resource.meta) {
    return resource;
  }
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...meta } = resource.meta;
  const { meta: _meta, ...rest } = resource;
  return (Object.keys(meta).length > 0 ? { ...rest, meta } : rest) as T;
}
