/**
 * FHIRPath Patch: a Parameters resource whose `operation` parameters add, insert, delete, replace
 * or move elements located by FHIRPath. HAPI, Oracle and other servers accept it beside JSON Patch,
 * and HAPI's client sends it, so a PATCH with Content-Type application/fhir+json is one.
 * Pure: parse.ts reads the operations, locate.ts finds the places a path designates,
 * apply.ts changes a copy of the resource.
 * See: https://hl7.org/fhir/R4/fhirpatch.html
 */
export { applyFhirPathPatch } from './apply';
export { type FhirPathPatchOperation, type PatchOperationType, type PatchValue, isFhirPathPatch, parseFhirPathPatch } from './parse';
