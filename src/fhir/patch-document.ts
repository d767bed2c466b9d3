/**
 * Patch documents: JSON Patch (RFC 6902, application/json-patch+json) or FHIRPath Patch (a
 * Parameters resource, application/fhir+json), parsed and applied to a resource. Pure.
 * See: https://hl7.org/fhir/R4/http.html#patch and https://hl7.org/fhir/R4/fhirpatch.html
 */
import type { Resource } from '@medplum/fhirtypes';
import { type Operation, JsonPatchError, applyPatch, validate as validatePatch } from 'fast-json-patch';
import type { FhirPathPatchOperation } from './fhirpath-patch';
import { applyFhirPathPatch, isFhirPathPatch, parseFhirPathPatch } from './fhirpath-patch';
import { cloneFhirJson } from './json-text';
import { FHIR_JSON, JSON_PATCH, mediaTypeOf } from './media-types';
import { FhirError } from './outcomes';

export type PatchDocument = { format: 'json-patch'; operations: Operation[] } | { format: 'fhirpath-patch'; operations: FhirPathPatchOperation[] };

/**
 * Applies a parsed patch to a stored resource. The result must still be a resource of the same
 * type and id; whether it is valid is the write pipeline's question (a patch that leaves an
 * invalid resource fails as PATCH_FAILED there).
 */
export function applyPatchDocument(base: Resource & { id: string }, document: PatchDocument): Resource & { id: string } {
  const patched = document.format === 'json-patch' ? applyJsonPatch(base, document.operations) : applyFhirPathPatch(base, document.operations);
  if (patched === null || typeof patched !== 'object' || Array.isArray(patched)) {
    throw new FhirError('PATCH_FAILED', 'The patch must leave a resource (a JSON object)');
  }
  if (patched.resourceType !== base.resourceType || patched.id !== base.id) {
    throw new FhirError('PATCH_FAILED', 'A patch cannot change the resourceType or id of a resource', {
      expression: [patched.resourceType !== base.resourceType ? 'resourceType' : `${base.resourceType}.id`],
    });
  }
  return { ...patched, id: base.id };
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
