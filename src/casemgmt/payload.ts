/**
 * Payload validation of the case API: each command's JSON Schema compiled once by ajv (draft
 * 2020-12, strict mode, all errors), and ajv's errors turned into one OperationOutcome (400)
 * whose issues locate each problem with the field's path in the command
 * (`objectives[1].measure`, `answers['44250-9']`).
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { FhirError, issue } from '../fhir/outcomes';
import type { JsonSchema } from './schemas/common';

const MAX_ISSUES = 20;

/** A new ajv in strict mode with the two formats the schemas use; exported for the OpenAPI test. */
export function caseApiAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, verbose: true });
  ajv.addFormat('date', { type: 'string', validate: isCalendarDate });
  ajv.addFormat('fhir-date-time', { type: 'string', validate: isFhirDateTime });
  return ajv;
}

let shared: Ajv2020 | undefined;
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

export function compileSchema(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    shared ??= caseApiAjv();
    validate = shared.compile(schema as Record<string, unknown>);
    compiled.set(schema, validate);
  }
  return validate;
}

/** Returns the payload typed as T when it satisfies the schema; throws INVALID_REQUEST (400) otherwise. */
export function validatePayload<T>(schema: JsonSchema, payload: unknown, what: string): T {
  if (payload === undefined) {
    throw new FhirError('INVALID_REQUEST', `The ${what} command needs a JSON body (Content-Type: application/json)`);
  }
  const validate = compileSchema(schema);
  if (validate(payload)) {
    return payload as T;
  }
  const issues = describeErrors(validate.errors ?? []);
  const first = issues[0]?.diagnostics ?? 'invalid';
  throw new FhirError('INVALID_REQUEST', `The ${what} command is not valid: ${first}`, { issues });
}

/** ajv errors → located issues, without the umbrella errors of anyOf/oneOf/if that say nothing more. */
export function describeErrors(errors: readonly ErrorObject[]): OperationOutcomeIssue[] {
  const alternatives = errors.filter((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf') && requiredOnly(e.schema));
  const explained = new Set(alternatives.map((e) => e.schemaPath));
  const issues: OperationOutcomeIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (error.keyword === 'if') continue;
    if ((error.keyword === 'anyOf' || error.keyword === 'oneOf') && !explained.has(error.schemaPath)) {
      // Reported through the errors of its branches.
      if (errors.some((e) => e !== error && e.schemaPath.startsWith(`${error.schemaPath}/`))) continue;
    }
    if ([...explained].some((p) => error.schemaPath.startsWith(`${p}/`))) continue;
    const { path, message } = describe(error);
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue('INVALID_REQUEST', `${path === '' ? 'The body' : path}: ${message}`, [path === '' ? '$' : path]));
    if (issues.length >= MAX_ISSUES) break;
  }
  return issues;
}

function describe(error: ErrorObject): { path: string; message: string } {
  const path = jsonPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { path: join(path, String(params.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return { path: join(path, String(params.additionalProperty)), message: 'is not a field of this command' };
    case 'enum':
      return { path, message: `must be one of ${((params.allowedValues as unknown[]) ?? []).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'format':
      return { path, message: params.format === 'date' ? 'must be a date, YYYY-MM-DD' : 'must be a date (YYYY-MM-DD) or a date and time with a time zone (2025-03-01T09:30:00-08:00)' };
    case 'pattern':
      return { path, message: `does not have the expected form${schemaDescription(error)}` };
    case 'anyOf':
    case 'oneOf': {
      const sets = (error.schema as { required: string[] }[]).map((b) => b.required.join(' and '));
      const exactly = error.keyword === 'oneOf' ? 'exactly one of' : 'at least one of';
      return { path, message: `needs ${exactly}: ${sets.join('; ')}` };
    }
    default:
      return { path, message: error.message ?? 'is not valid' };
  }
}

function schemaDescription(error: ErrorObject): string {
  const description = (error.parentSchema as { description?: unknown } | undefined)?.description;
  return typeof description === 'string' ? ` (${description})` : '';
}

function requiredOnly(schema: unknown): boolean {
  return Array.isArray(schema) && schema.every((b) => b && typeof b === 'object' && Array.isArray((b as { required?: unknown }).required));
}

/** `/goals/0/objectives/1` → `goals[0].objectives[1]`; keys that are not names are quoted. */
export function jsonPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, segment) => join(acc, segment), '');
}

function join(path: string, segment: string): string {
  if (/^\d+$/.test(segment)) return `${path}[${segment}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) return path === '' ? segment : `${path}.${segment}`;
  return `${path}['${segment.replace(/'/g, "\\'")}']`;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-](0\d|1[0-4]):[0-5]\d)$/;

export function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  return year >= 1 && d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

export function isFhirDateTime(value: string): boolean {
  if (isCalendarDate(value)) return true;
  const m = DATE_TIME.exec(value);
  return m !== null && isCalendarDate(m[1] as string);
}
