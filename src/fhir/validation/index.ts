/**
 * Validation of every FHIR write: pure code, no I/O beyond loading definitions once per process.
 *
 * validateResource() runs five stages and returns every issue (errors and warnings) as
 * OperationOutcome issues addressed by a FHIRPath-like expression (`Patient.name[0].given[1]`):
 *  1. shape.ts: a JSON object whose resourceType is a concrete R4 type (and the expected one);
 *  2. storage-hazards.ts: keys MongoDB or JavaScript would interpret, bad characters, nested or
 *     empty arrays, excessive depth, anywhere in the tree;
 *  3. json-schema.ts: the FHIR JSON schema, compiled by ajv at build time (generated-validator.ts);
 *  4. structure.ts: Medplum's StructureDefinition validator (cardinality, invariants, empty objects);
 *  5. semantics.ts: what neither checks: calendar dates, required bindings the schema lacks,
 *     choice-type conflicts, narrative, data-type invariants.
 * A later stage does not repeat what an earlier stage reported at the same element or above it
 * (issues.ts).
 *
 * See: https://hl7.org/fhir/R4/json.html, https://hl7.org/fhir/R4/datatypes.html,
 * https://hl7.org/fhir/R4/validation.html
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { loadDefinitions } from '../definitions';
import { FhirError } from '../outcomes';
import { jsonSchemaValidator } from './generated-validator';
import { IssueList, isError, issuePath } from './issues';
import { isObject } from './json';
import type { JsonObject } from './json';
import { checkJsonSchema } from './json-schema';
import { checkSemantics } from './semantics';
import { checkShape } from './shape';
import { scanHazards, withoutForbiddenKeys } from './storage-hazards';
import { checkStructureDefinitions } from './structure';

export { MAX_ISSUES } from './issues';
export { MAX_DEPTH } from './storage-hazards';

export interface ValidateOptions {
  /** The type named by the request (URL); a resource of another type is reported. */
  expectedType?: string;
}

/**
 * Validates a resource about to be written. Returns all issues (errors and warnings); an empty
 * array means valid. Never throws for invalid input; throws only when the validator cannot be
 * loaded (generated/fhir-validate.cjs missing or stale).
 */
export function validateResource(resource: unknown, options: ValidateOptions = {}): OperationOutcomeIssue[] {
  const shape = checkShape(resource, options.expectedType);
  if (shape.type === undefined || !isObject(resource)) {
    return shape.issues;
  }
  loadValidator();
  const type = shape.type;
  const list = new IssueList(type);
  list.addStage(shape.issues);

  const hazards = scanHazards(resource, type);
  list.addStage(hazards.issues);
  if (hazards.tooDeep) {
    return list.result();
  }
  const target = hazards.forbiddenKeys ? (withoutForbiddenKeys(resource) as JsonObject) : resource;

  const schema = checkJsonSchema(target, type);
  list.addStage(schema.issues);
  // Medplum aborts on the first unknown nested resource type; ajv has reported it already.
  if (!schema.unknownNestedType) {
    const removedKeys = hazards.issues.filter((i) => i.code === 'security').map(issuePath);
    list.addStage(checkStructureDefinitions(target, type, removedKeys));
  }
  list.addStage(checkSemantics(target, type, (p) => list.touchesError(p)));
  return list.result();
}

/**
 * Throws FhirError('INVALID_RESOURCE') carrying every issue when the resource has errors;
 * otherwise returns its warnings (possibly none).
 */
export function assertValid(resource: unknown, expectedType?: string): OperationOutcomeIssue[] {
  const issues = validateResource(resource, { expectedType });
  const errors = issues.filter(isError).length;
  if (errors > 0) {
    throw new FhirError('INVALID_RESOURCE', `Invalid resource: ${errors} error${errors === 1 ? '' : 's'}`, { issues });
  }
  return issues;
}

/**
 * Loads the generated ajv validator and the StructureDefinitions (idempotent). Call it at
 * start-up so the first write does not pay ~1.5 s; validateResource() calls it anyway.
 */
export function loadValidator(): void {
  jsonSchemaValidator(); // first: the cheap one that can fail
  loadDefinitions();
}
