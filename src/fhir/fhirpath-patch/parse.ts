/**
 * The operations of a FHIRPath Patch, read from its Parameters resource: each `operation`
 * parameter's type, path and arguments, checked before anything is applied (400 naming the part).
 * See: https://hl7.org/fhir/R4/fhirpatch.html
 */
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { decimalTextOf } from '../json-text';
import { FhirError } from '../outcomes';
import { typeFromSuffix } from '../validation/element-types';
import { isObject } from '../validation/json';

export type PatchOperationType = 'add' | 'insert' | 'delete' | 'replace' | 'move';

/** One `operation` parameter, parsed. */
export interface FhirPathPatchOperation {
  type: PatchOperationType;
  path: string;
  /** add: the name of the element to add below the path. */
  name?: string;
  /** add, insert, replace: the value, as given (a typed value[x] or anonymous parts). */
  value?: PatchValue;
  index?: number;
  source?: number;
  destination?: number;
  /** Where the operation sits in the Parameters resource, for issue.expression. */
  expression: string;
}

/**
 * A value[x] carries its type (and, for a decimal, the text the client wrote); an anonymous
 * element (parts) takes the type of where it goes.
 */
export type PatchValue = { type: string; json: unknown; text?: string } | { parts: ParametersParameter[] };

const OPERATION_TYPES: ReadonlySet<string> = new Set(['add', 'insert', 'delete', 'replace', 'move']);

const PART_NAMES: ReadonlySet<string> = new Set(['type', 'path', 'name', 'value', 'index', 'source', 'destination']);

export function isFhirPathPatch(body: unknown): body is Parameters {
  return isObject(body) && body.resourceType === 'Parameters';
}

/** Reads the operations of a FHIRPath Patch; a malformed one is a 400 naming the parameter. */
export function parseFhirPathPatch(parameters: Parameters): FhirPathPatchOperation[] {
  const list: unknown = parameters.parameter ?? [];
  if (!Array.isArray(list)) {
    throw invalid('Parameters.parameter must be an array of operations', 'Parameters.parameter');
  }
  return (list as unknown[]).map((parameter, i) => parseOperation(parameter, `Parameters.parameter[${i}]`));
}

function parseOperation(parameter: unknown, where: string): FhirPathPatchOperation {
  if (!isObject(parameter) || parameter.name !== 'operation') {
    throw invalid('Each parameter of a FHIRPath Patch must be named "operation"', `${where}.name`);
  }
  if (!Array.isArray(parameter.part)) {
    throw invalid('An operation parameter carries its type, path and arguments as parts', `${where}.part`);
  }
  const parts = new Map<string, { part: ParametersParameter; expression: string }>();
  (parameter.part as unknown[]).forEach((part, j) => {
    const expression = `${where}.part[${j}]`;
    if (!isObject(part) || typeof part.name !== 'string' || !PART_NAMES.has(part.name)) {
      throw invalid(`Operation parts are named ${[...PART_NAMES].join(', ')}`, `${expression}.name`);
    }
    if (parts.has(part.name)) {
      throw invalid(`The part "${part.name}" is given twice`, expression);
    }
    parts.set(part.name, { part: part as unknown as ParametersParameter, expression });
  });
  const text = (name: string, key: 'valueCode' | 'valueString'): string | undefined => {
    const found = parts.get(name);
    const value = found?.part[key];
    if (found && (typeof value !== 'string' || value === '')) {
      throw invalid(`The part "${name}" must carry ${key}`, found.expression);
    }
    return value;
  };
  const integer = (name: string): number | undefined => {
    const found = parts.get(name);
    const value = found?.part.valueInteger;
    if (found && (!Number.isInteger(value) || (value as number) < 0)) {
      throw invalid(`The part "${name}" must carry a valueInteger of 0 or more`, found.expression);
    }
    return value;
  };
  const type = text('type', 'valueCode');
  const path = text('path', 'valueString');
  if (type === undefined || !OPERATION_TYPES.has(type)) {
    throw invalid('An operation needs a type part: add, insert, delete, replace or move', `${where}.part`);
  }
  if (path === undefined) {
    throw invalid('An operation needs a path part (valueString)', `${where}.part`);
  }
  const operation: FhirPathPatchOperation = { type: type as PatchOperationType, path, expression: where };
  const name = text('name', 'valueString');
  const value = parts.get('value');
  const index = integer('index');
  const source = integer('source');
  const destination = integer('destination');
  Object.assign(
    operation,
    name === undefined ? {} : { name },
    value === undefined ? {} : { value: patchValue(value.part, value.expression) },
    index === undefined ? {} : { index },
    source === undefined ? {} : { source },
    destination === undefined ? {} : { destination },
  );
  const required: Record<PatchOperationType, readonly string[]> = {
    add: ['name', 'value'],
    insert: ['value', 'index'],
    delete: [],
    replace: ['value'],
    move: ['source', 'destination'],
  };
  const missing = required[operation.type].filter((part) => !parts.has(part));
  if (missing.length > 0) {
    throw invalid(`A ${operation.type} operation needs the part${missing.length > 1 ? 's' : ''} ${missing.join(' and ')}`, `${where}.part`);
  }
  return operation;
}

export function patchValue(part: ParametersParameter, expression: string): PatchValue {
  const keys = Object.keys(part).filter((key) => key.startsWith('value'));
  if (keys.length === 1) {
    const key = keys[0] as string;
    const text = decimalTextOf(part, key);
    return { type: typeFromSuffix(key.slice('value'.length)), json: (part as unknown as Record<string, unknown>)[key], ...(text !== undefined ? { text } : {}) };
  }
  if (keys.length === 0 && Array.isArray(part.part) && part.part.length > 0) {
    return { parts: part.part };
  }
  throw invalid('A value part carries exactly one value[x], or parts that build an element', expression);
}

export function invalid(message: string, expression?: string): FhirError {
  return new FhirError('INVALID_PATCH', message, expression ? { expression: [expression] } : {});
}

export function failed(message: string): FhirError {
  return new FhirError('PATCH_FAILED', message);
}
