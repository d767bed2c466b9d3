/**
 * patch with JSON Patch (RFC 6902, application/json-patch+json) or FHIRPath Patch (a Parameters
 * resource, application/fhir+json). The patched resource must still be valid and keep its
 * identity; the write is a compare-and-set on the version the patch was applied to.
 * See: https://hl7.org/fhir/R4/http.html#patch and https://hl7.org/fhir/R4/fhirpatch.html
 */
import type { Resource } from '@medplum/fhirtypes';
import { type Operation, JsonPatchError, applyPatch, validate as validatePatch } from 'fast-json-patch';
import type { FhirPathPatchOperation } from '../fhir/fhirpath-patch';
import { applyFhirPathPatch, isFhirPathPatch, parseFhirPathPatch } from '../fhir/fhirpath-patch';
import { cloneFhirJson } from '../fhir/json-text';
import { FHIR_JSON, JSON_PATCH, mediaTypeOf } from '../fhir/media-types';
import { FhirError } from '../fhir/outcomes';
import { assertValid } from '../fhir/validation';
import type { CurrentResource } from '../store/repository';
import { writeWithDerived } from './derivations';
import { writeResponse } from './responses';
import type { FhirServices } from './services';
import type { FhirRequest, FhirResponse, RequestContext } from './types';
import { assertId, ifMatch } from './write';

/** Retries when another writer changed the resource between our read and our write. */
const MAX_PATCH_ATTEMPTS = 10;

export async function patch(
  services: FhirServices,
  ctx: RequestContext,
  request: FhirRequest,
  target: { resourceType: string; id: string },
): Promise<FhirResponse> {
  assertId(target.resourceType, target.id);
  const document = parsePatchDocument(request.body, request.headers.contentType);
  const expected = ifMatch(request);
  for (let attempt = 1; ; attempt++) {
    const current = await services.repo.read(target.resourceType, target.id);
    if (expected !== undefined && current.versionId !== expected) {
      throw new FhirError('VERSION_CONFLICT', `If-Match expected version ${expected}, but the current version is ${current.versionId}`);
    }
    const { resource, warnings } = applyPatchDocument(current, document);
    try {
      const result = await writeWithDerived(services, { kind: 'update', resource, method: 'PATCH', ifMatchVersion: current.versionId });
      return writeResponse({ baseUrl: services.settings.baseUrl, ...result, prefer: ctx.prefer, warnings });
    } catch (err) {
      // Without If-Match the client asked for "apply to the latest": re-read and re-apply.
      if (!(err instanceof FhirError && err.code === 'VERSION_CONFLICT') || expected !== undefined || attempt >= MAX_PATCH_ATTEMPTS) {
        throw err;
      }
    }
  }
}

export type PatchDocument = { format: 'json-patch'; operations: Operation[] } | { format: 'fhirpath-patch'; operations: FhirPathPatchOperation[] };

/** Applies a parsed patch to the current version and validates the result (pure). */
export function applyPatchDocument(current: CurrentResource, document: PatchDocument) {
  const base = current.resource;
  const patched = document.format === 'json-patch' ? applyJsonPatch(base, document.operations) : applyFhirPathPatch(base, document.operations);
  if (patched === null || typeof patched !== 'object' || Array.isArray(patched)) {
    throw new FhirError('PATCH_FAILED', 'The patch must leave a resource (a JSON object)');
  }
  if (patched.resourceType !== base.resourceType || patched.id !== base.id) {
    throw new FhirError('PATCH_FAILED', 'A patch cannot change the resourceType or id of a resource', {
      expression: [patched.resourceType !== base.resourceType ? 'resourceType' : `${base.resourceType}.id`],
    });
  }
  const resource = { ...patched, id: current.id };
  try {
    return { resource, warnings: assertValid(resource, current.resourceType) };
  } catch (err) {
    if (err instanceof FhirError && err.code === 'PROFILE_VIOLATION') {
      throw err; // the patched resource fails a profile it claims: say so, as for any write
    }
    if (err instanceof FhirError) {
      // The patch was well formed; the resource it produces is not acceptable.
      throw new FhirError('PATCH_FAILED', 'The patched resource is not valid', { issues: err.outcome.issue });
    }
    throw err;
  }
}

function applyJsonPatch(base: Resource, operations: Operation[]): Resource {
  try {
    // Patch our own copy: fast-json-patch's copy (a JSON round trip) would drop decimal precision.
    return applyPatch(cloneFhirJson(base), operations, true, true).newDocument;
  } catch (err) {
    throw patchError(err);
  }
}

/**
 * A JSON Patch is an array (application/json-patch+json); a FHIRPath Patch is a Parameters
 * resource (application/fhir+json). A body that contradicts its Content-Type is refused, so that
 * a client learns which format it actually sent; plain application/json may carry either.
 */
export function parsePatchDocument(body: unknown, contentType?: string): PatchDocument {
  const mediaType = contentType === undefined ? undefined : mediaTypeOf(contentType);
  if (isFhirPathPatch(body)) {
    if (mediaType === JSON_PATCH) {
      throw new FhirError('INVALID_PATCH', 'A JSON Patch document must be a JSON array of operations; send a FHIRPath Patch (Parameters) as application/fhir+json');
    }
    return { format: 'fhirpath-patch', operations: parseFhirPathPatch(body) };
  }
  if (!Array.isArray(body) || mediaType === FHIR_JSON) {
    throw new FhirError(
      'INVALID_PATCH',
      mediaType === JSON_PATCH
        ? 'A JSON Patch document must be a JSON array of operations'
        : 'A PATCH body is a JSON Patch array (application/json-patch+json) or a FHIRPath Patch Parameters resource (application/fhir+json)',
    );
  }
  const error = validatePatch(body as Operation[]);
  if (error) {
    throw patchError(error);
  }
  return { format: 'json-patch', operations: body as Operation[] };
}

function patchError(err: unknown): FhirError {
  if (err instanceof JsonPatchError) {
    const where = err.index === undefined ? '' : ` (operation ${err.index})`;
    const code = err.name === 'TEST_OPERATION_FAILED' || err.name === 'OPERATION_PATH_UNRESOLVABLE' ? 'PATCH_FAILED' : 'INVALID_PATCH';
    return new FhirError(code, `${describe(err.name)}${where}`, { expression: err.index === undefined ? [] : [`[${err.index}]`] });
  }
  // fast-json-patch throws a TypeError for prototype-polluting paths such as /__proto__.
  if (err instanceof TypeError) {
    return new FhirError('INVALID_PATCH', 'The patch addresses a forbidden path');
  }
  return new FhirError('INVALID_PATCH', 'The patch could not be applied');
}

function describe(name: string): string {
  const messages: Record<string, string> = {
    SEQUENCE_NOT_AN_ARRAY: 'A JSON Patch document must be an array of operations',
    OPERATION_NOT_AN_OBJECT: 'Each patch operation must be an object',
    OPERATION_OP_INVALID: 'Patch operation "op" must be add, remove, replace, move, copy or test',
    OPERATION_PATH_INVALID: 'Patch operation "path" must be a JSON Pointer string',
    OPERATION_FROM_REQUIRED: 'Patch operations move and copy need "from"',
    OPERATION_VALUE_REQUIRED: 'Patch operations add, replace and test need "value"',
    OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED: 'Patch values cannot contain undefined',
    OPERATION_PATH_CANNOT_ADD: 'The patch adds at a path whose parent does not exist',
    OPERATION_PATH_UNRESOLVABLE: 'The patch addresses a path that does not exist in the resource',
    OPERATION_FROM_UNRESOLVABLE: 'The patch "from" path does not exist in the resource',
    OPERATION_PATH_ILLEGAL_ARRAY_INDEX: 'The patch uses an invalid array index',
    OPERATION_VALUE_OUT_OF_BOUNDS: 'The patch array index is out of bounds',
    TEST_OPERATION_FAILED: 'A patch "test" operation failed: the resource does not hold the expected value',
  };
  return messages[name] ?? 'The patch is not valid';
}
