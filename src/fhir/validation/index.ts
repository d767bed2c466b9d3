/**
 * Validation of every FHIR write: pure code, no I/O beyond loading definitions once per process.
 *
 * validateResource() runs these stages and returns every issue (errors and warnings) as
 * OperationOutcome issues located by FHIRPath expressions in the HL7 validator's conventions
 * (`Patient.name[0].given[1]`, `Parameters.parameter[0].value.ofType(integer)`):
 *  1. shape.ts: a JSON object whose resourceType is a concrete R4 type (and the expected one);
 *  2. storage-hazards.ts: keys MongoDB or JavaScript would interpret, bad characters, nested or
 *     empty arrays, excessive depth, anywhere in the tree;
 *  3. json-schema.ts: the FHIR JSON schema, compiled by ajv at build time (generated-validator.ts):
 *     JSON types, unknown elements, formats, the enums the schema has;
 *  4. structure.ts: one walk along the StructureDefinitions: the JSON format rules (empty
 *     objects, nulls, `_x` parts), primitive forms and ranges, cardinality, choice types,
 *     required bindings, narrative, and every invariant of the R4 definitions with FHIRPath
 *     (invariants.ts, HL7's fhirpath.js);
 *  5. ../profiles: when the resource is valid so far and claims profiles in meta.profile, the
 *     CaseBridge profiles among them (profiles/); an unknown profile is a warning.
 * A later stage does not repeat what an earlier stage reported at the same element or above it
 * (issues.ts). Stages 1-4 find structural faults (400, INVALID_RESOURCE); stage 5 finds profile
 * violations (422, PROFILE_VIOLATION): "400 for unparseable or structurally invalid input, 422 for
 * business-rule or profile failures".
 *
 * See: https://hl7.org/fhir/R4/json.html, https://hl7.org/fhir/R4/datatypes.html,
 * https://hl7.org/fhir/R4/validation.html
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from '../definitions';
import { ERROR_CODE_SYSTEM, FhirError } from '../outcomes';
import { type ConformancePackage, loadConformancePackage } from '../profiles';
import { jsonSchemaValidator } from './generated-validator';
import { IssueList, isError, issuePath, within } from './issues';
import { isObject } from './json';
import type { JsonObject } from './json';
import { checkJsonSchema } from './json-schema';
import { checkShape } from './shape';
import { scanHazards, withoutForbiddenKeys } from './storage-hazards';
import { checkStructure } from './structure';

export { MAX_ISSUES } from './issues';
export { MAX_DEPTH } from './storage-hazards';

export interface ValidateOptions {
  /** The type named by the request (URL); a resource of another type is reported. */
  expectedType?: string;
  /** The profiles a meta.profile claim is checked against (default: profiles/ of this installation). */
  profiles?: ConformancePackage;
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

  list.addStage(checkJsonSchema(target, type).issues);
  const structure = checkStructure(target, type, (p) => list.touchesError(p));
  // Removing a forbidden key can leave its object empty: that is not a second problem.
  const removed = hazards.issues.filter((i) => i.code === 'security').map(issuePath);
  list.addStage(removed.length === 0 ? structure : structure.filter((i) => !(i.code === 'structure' && removed.some((r) => within(r, issuePath(i))))));
  if (target.meta !== undefined && !list.hasErrors()) {
    list.addStage((options.profiles ?? loadConformancePackage()).checkProfiles(target as unknown as Resource));
  }
  return list.result();
}

/**
 * Throws FhirError carrying every issue when the resource has errors: INVALID_RESOURCE (400) for
 * structural faults, PROFILE_VIOLATION (422) when it is well formed but fails a profile it
 * claims. Otherwise returns its warnings (possibly none).
 */
export function assertValid(resource: unknown, expectedType?: string, options: Omit<ValidateOptions, 'expectedType'> = {}): OperationOutcomeIssue[] {
  const issues = validateResource(resource, { ...options, expectedType });
  const errors = issues.filter(isError);
  if (errors.length > 0) {
    const n = `${errors.length} error${errors.length === 1 ? '' : 's'}`;
    if (errors.some(isProfileIssue)) {
      throw new FhirError('PROFILE_VIOLATION', `The resource does not conform to the profiles it claims: ${n}`, { issues });
    }
    throw new FhirError('INVALID_RESOURCE', `Invalid resource: ${n}`, { issues });
  }
  return issues;
}

function isProfileIssue(issue: OperationOutcomeIssue): boolean {
  return issue.details?.coding?.some((c) => c.system === ERROR_CODE_SYSTEM && c.code === 'PROFILE_VIOLATION') ?? false;
}

/**
 * Loads the generated ajv validator and the StructureDefinitions (idempotent). Call it at
 * start-up so the first write does not pay ~1.5 s; validateResource() calls it anyway.
 */
export function loadValidator(): void {
  jsonSchemaValidator(); // first: the cheap one that can fail
  loadDefinitions();
}
