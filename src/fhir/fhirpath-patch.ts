/**
 * FHIRPath Patch: a Parameters resource whose `operation` parameters add, insert, delete, replace
 * or move elements located by FHIRPath. HAPI, Oracle and other servers accept it beside JSON Patch,
 * and HAPI's client sends it by default, so a PATCH with Content-Type application/fhir+json is one.
 *
 * Paths are resolved by walking the FHIRPath syntax tree ourselves rather than by evaluating it:
 * evaluation yields values, and a patch needs the place a value lives (its parent object, JSON key
 * and array position), which a primitive value cannot tell. The walk supports what patch paths
 * use: member access, indexers, where(), first(), last() and ofType(). Pure: the caller applies the
 * result to a copy and validates it.
 * See: https://hl7.org/fhir/R4/fhirpatch.html
 */
import type { Atom, InternalSchemaElement } from '@medplum/core';
import { DotAtom, FhirPathAtom, FunctionAtom, IndexerAtom, LiteralAtom, SymbolAtom, evalFhirPathTyped, parseFhirPath } from '@medplum/core';
import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { isResourceType } from './definitions';
import { cloneFhirJson, decimalTextOf, setDecimalText } from './json-text';
import { FhirError } from './outcomes';
import { elementIndex, isResourceElement, typeSchema } from './validation/element-types';
import type { JsonObject } from './validation/json';
import { isObject } from './validation/json';

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

/** A place in the resource: the parent object, the key, the position if the element repeats. */
interface Slot {
  parent: JsonObject;
  key: string;
  index?: number;
  /** FHIR type of the value held there. */
  type: string;
  /** Name of the choice element (`value[x]`) the key belongs to. */
  choice?: string;
}

type Location = { root: true } | Slot;

const OPERATION_TYPES: ReadonlySet<string> = new Set(['add', 'insert', 'delete', 'replace', 'move']);
const PART_NAMES: ReadonlySet<string> = new Set(['type', 'path', 'name', 'value', 'index', 'source', 'destination']);
const PRIMITIVE_TYPES: ReadonlySet<string> = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer', 'markdown',
  'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
]);

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

function patchValue(part: ParametersParameter, expression: string): PatchValue {
  const keys = Object.keys(part).filter((key) => key.startsWith('value'));
  if (keys.length === 1) {
    const key = keys[0] as string;
    const text = decimalTextOf(part, key);
    return { type: typeOfValueKey(key.slice('value'.length)), json: (part as unknown as Record<string, unknown>)[key], ...(text !== undefined ? { text } : {}) };
  }
  if (keys.length === 0 && Array.isArray(part.part) && part.part.length > 0) {
    return { parts: part.part };
  }
  throw invalid('A value part carries exactly one value[x], or parts that build an element', expression);
}

/** `Date` → date, `HumanName` → HumanName: primitive type names start in lower case. */
function typeOfValueKey(suffix: string): string {
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVE_TYPES.has(lower) ? lower : suffix;
}

/** Applies the operations in order to a copy of the resource and returns the copy. */
export function applyFhirPathPatch(resource: Resource, operations: readonly FhirPathPatchOperation[]): Resource {
  const patched = cloneFhirJson(resource) as unknown as JsonObject;
  for (const operation of operations) {
    try {
      applyOperation(patched, operation);
    } catch (err) {
      if (err instanceof FhirError) {
        throw new FhirError(err.code, `${operation.type} ${operation.path}: ${err.message}`, { expression: [operation.expression] });
      }
      throw err;
    }
  }
  return patched as unknown as Resource;
}

function applyOperation(resource: JsonObject, operation: FhirPathPatchOperation): void {
  switch (operation.type) {
    case 'add': {
      const container = single(locate(resource, pathAtom(operation.path)), 'the element to add to');
      addElement(resource, container, operation.name as string, operation.value as PatchValue);
      return;
    }
    case 'insert': {
      const list = collection(resource, operation.path);
      const index = operation.index as number;
      if (index > list.items.length) {
        throw failed(`index ${index} is past the end of the list (${list.items.length} items)`);
      }
      list.items.splice(index, 0, toJson(operation.value as PatchValue, list.type));
      setList(list.parent, list.key, list.items);
      return;
    }
    case 'delete': {
      const found = locate(resource, pathAtom(operation.path));
      if (found.length > 1) {
        throw failed(`the path matches ${found.length} elements; delete removes one`);
      }
      if (found[0]) {
        removeSlot(asSlot(found[0]));
      }
      return;
    }
    case 'replace': {
      const slot = asSlot(single(locate(resource, pathAtom(operation.path)), 'the element to replace'));
      replaceSlot(slot, operation.value as PatchValue);
      return;
    }
    case 'move': {
      const list = collection(resource, operation.path);
      const { source, destination } = operation as Required<FhirPathPatchOperation>;
      if (source >= list.items.length || destination >= list.items.length) {
        throw failed(`source and destination must be below the list length (${list.items.length})`);
      }
      const [item] = list.items.splice(source, 1);
      list.items.splice(destination, 0, item);
      moveExtension(list.parent, list.key, source, destination);
      return;
    }
  }
}

function pathAtom(path: string): Atom {
  try {
    return parseFhirPath(path).child;
  } catch {
    throw invalid(`"${path}" is not a FHIRPath expression`);
  }
}

/** Every place the path designates, in document order. */
function locate(resource: JsonObject, atom: Atom): Location[] {
  if (atom instanceof SymbolAtom) {
    if (atom.name === resource.resourceType || atom.name === 'Resource' || atom.name === 'DomainResource') {
      return [{ root: true }];
    }
    return children(resource, { root: true }, atom.name);
  }
  if (atom instanceof DotAtom) {
    const left = locate(resource, atom.left);
    if (atom.right instanceof SymbolAtom) {
      const name = atom.right.name;
      return left.flatMap((location) => children(resource, location, name));
    }
    if (atom.right instanceof FunctionAtom) {
      return filter(resource, left, atom.right);
    }
  }
  if (atom instanceof IndexerAtom) {
    const index = literalInteger(atom.expr);
    const found = locate(resource, atom.left)[index];
    return found ? [found] : [];
  }
  if (atom instanceof FunctionAtom) {
    return filter(resource, [{ root: true }], atom);
  }
  throw invalid(`a patch path uses member names, [index], where(), first(), last() and ofType(); "${atom.toString()}" is not supported`);
}

function children(resource: JsonObject, location: Location, name: string): Slot[] {
  const parent = valueAt(resource, location);
  if (!isObject(parent)) {
    return [];
  }
  const info = elementOf(parent, typeAt(resource, location), name);
  if (!info) {
    return [];
  }
  const key = 'key' in info ? info.key : presentChoiceKey(parent, info.choice);
  const value = key === undefined ? undefined : parent[key];
  if (key === undefined || value === undefined) {
    return [];
  }
  const type = (item: unknown): string =>
    isResourceElement(info.code) && isObject(item) && isResourceType(item.resourceType) ? item.resourceType : info.code;
  const choice = 'choice' in info ? { choice: info.choice } : {};
  if (Array.isArray(value)) {
    return value.map((item, index) => ({ parent, key, index, type: type(item), ...choice }));
  }
  return [{ parent, key, type: 'choice' in info ? choiceType(info.choice, key) : type(value), ...choice }];
}

type ElementRef = { key: string; code: string; element: InternalSchemaElement } | { choice: string; code: string; element: InternalSchemaElement };

/** The element `name` of a type: a plain element, a choice element by its base name, or a typed choice key. */
function elementOf(parent: JsonObject, type: string, name: string): ElementRef | undefined {
  const schema = typeSchema(isResourceElement(type) && isResourceType(parent.resourceType) ? parent.resourceType : type);
  if (!schema) {
    return undefined;
  }
  const choice = schema.elements[`${name}[x]`];
  if (choice) {
    return { choice: `${name}[x]`, code: '', element: choice };
  }
  const info = elementIndex(schema).get(name);
  return info ? { key: name, code: info.code, element: info.element } : undefined;
}

function presentChoiceKey(parent: JsonObject, choice: string): string | undefined {
  const base = choice.slice(0, -3);
  return Object.keys(parent).find((key) => key.startsWith(base) && /^[A-Z]/.test(key.slice(base.length)));
}

function choiceType(choice: string, key: string): string {
  return typeOfValueKey(key.slice(choice.length - 3));
}

function choiceKey(choice: string, type: string): string {
  return choice.slice(0, -3) + type.charAt(0).toUpperCase() + type.slice(1);
}

/** where(), first(), last() and ofType() narrow the places found so far. */
function filter(resource: JsonObject, found: Location[], fn: FunctionAtom): Location[] {
  switch (fn.name) {
    case 'first':
      return found.slice(0, 1);
    case 'last':
      return found.slice(-1);
    case 'where': {
      const condition = fn.args[0];
      if (fn.args.length !== 1 || !condition) {
        throw invalid('where() takes one condition');
      }
      const criterion = new FhirPathAtom(condition.toString(), condition);
      return found.filter((location) => {
        const result = evalFhirPathTyped(criterion, [{ type: typeAt(resource, location), value: valueAt(resource, location) }]);
        return result.length === 1 && result[0]?.value === true;
      });
    }
    case 'ofType': {
      const type = fn.args[0];
      if (fn.args.length !== 1 || !(type instanceof SymbolAtom)) {
        throw invalid('ofType() takes a type name');
      }
      return found.filter((location) => typeAt(resource, location) === type.name);
    }
    default:
      throw invalid(`${fn.name}() is not supported in a patch path (use where(), first(), last(), ofType() or [index])`);
  }
}

function literalInteger(atom: Atom): number {
  const value = atom instanceof LiteralAtom ? atom.value.value : undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalid('an indexer takes a literal integer, e.g. name[0]');
  }
  return value;
}

function valueAt(resource: JsonObject, location: Location): unknown {
  if ('root' in location) {
    return resource;
  }
  const value = location.parent[location.key];
  return location.index === undefined ? value : (value as unknown[])[location.index];
}

function typeAt(resource: JsonObject, location: Location): string {
  return 'root' in location ? (resource.resourceType as string) : location.type;
}

function asSlot(location: Location): Slot {
  if ('root' in location) {
    throw invalid('the path designates the resource itself, which a patch cannot replace or delete');
  }
  return location;
}

function single(found: Location[], what: string): Location {
  if (found.length !== 1) {
    throw failed(found.length === 0 ? `the path matches nothing (${what})` : `the path matches ${found.length} elements; it must designate one (${what})`);
  }
  return found[0] as Location;
}

/** insert and move address a repeating element: `<path to its parent>.<name>`. */
function collection(resource: JsonObject, path: string): { parent: JsonObject; key: string; type: string; items: unknown[] } {
  const atom = pathAtom(path);
  const parentAtom = atom instanceof DotAtom ? atom.left : undefined;
  const name = atom instanceof DotAtom ? atom.right : atom;
  if (!(name instanceof SymbolAtom)) {
    throw invalid('insert and move take the path of a list, ending in its element name (e.g. Patient.identifier)');
  }
  const parentLocation = parentAtom ? single(locate(resource, parentAtom), 'the list owner') : { root: true as const };
  const parent = valueAt(resource, parentLocation);
  const info = isObject(parent) ? elementOf(parent, typeAt(resource, parentLocation), name.name) : undefined;
  if (!isObject(parent) || !info || !('key' in info) || !info.element.isArray) {
    throw invalid(`${name.name} is not a repeating element here`);
  }
  const items = parent[info.key] ?? [];
  if (!Array.isArray(items)) {
    throw failed(`${info.key} does not hold a list`);
  }
  return { parent, key: info.key, type: info.code, items };
}

function addElement(resource: JsonObject, container: Location, name: string, value: PatchValue): void {
  const parent = valueAt(resource, container);
  const info = isObject(parent) ? elementOf(parent, typeAt(resource, container), name) : undefined;
  if (!isObject(parent) || !info) {
    throw invalid(`${typeAt(resource, container)} has no element ${name}`);
  }
  if ('choice' in info) {
    if (presentChoiceKey(parent, info.choice) !== undefined) {
      throw failed(`${name} already has a value; use replace`);
    }
    const type = valueType(value, info.element);
    place(parent, choiceKey(info.choice, type), value, type);
    return;
  }
  const json = toJson(value, info.code);
  if (info.element.isArray) {
    const items = parent[info.key] ?? [];
    if (!Array.isArray(items)) {
      throw failed(`${info.key} does not hold a list`);
    }
    setList(parent, info.key, [...items, json]);
    return;
  }
  if (parent[info.key] !== undefined) {
    throw failed(`${name} already has a value; use replace`);
  }
  place(parent, info.key, value, info.code);
}

/** Sets parent[key] to the value, keeping a decimal's written text. */
function place(parent: JsonObject, key: string, value: PatchValue, type: string): void {
  parent[key] = toJson(value, type);
  setDecimalText(parent, key, 'text' in value ? value.text : undefined);
}

function replaceSlot(slot: Slot, value: PatchValue): void {
  if (slot.choice !== undefined) {
    // A choice may change type on replace (valueQuantity → valueString): the key follows the type.
    const type = 'type' in value ? value.type : slot.type;
    const key = choiceKey(slot.choice, type);
    toJson(value, type); // refuse a wrong type before anything is removed
    delete slot.parent[slot.key];
    delete slot.parent[`_${slot.key}`];
    place(slot.parent, key, value, type);
    return;
  }
  if (slot.index === undefined) {
    place(slot.parent, slot.key, value, slot.type);
  } else {
    (slot.parent[slot.key] as unknown[])[slot.index] = toJson(value, slot.type);
  }
}

function removeSlot(slot: Slot): void {
  const extensionKey = `_${slot.key}`;
  if (slot.index === undefined) {
    delete slot.parent[slot.key];
    delete slot.parent[extensionKey];
    return;
  }
  const items = slot.parent[slot.key] as unknown[];
  items.splice(slot.index, 1);
  const extensions = slot.parent[extensionKey];
  if (Array.isArray(extensions)) {
    extensions.splice(slot.index, 1);
  }
  if (items.length === 0) {
    delete slot.parent[slot.key];
    delete slot.parent[extensionKey];
  }
}

function setList(parent: JsonObject, key: string, items: unknown[]): void {
  parent[key] = items;
  // A primitive list's `_key` array pairs its extensions by position: keep it as long as the list.
  const extensions = parent[`_${key}`];
  if (Array.isArray(extensions)) {
    while (extensions.length < items.length) {
      extensions.push(null);
    }
  }
}

function moveExtension(parent: JsonObject, key: string, source: number, destination: number): void {
  const extensions = parent[`_${key}`];
  if (Array.isArray(extensions)) {
    const [item] = extensions.splice(source, 1);
    extensions.splice(destination, 0, item);
  }
}

/** The type a value takes in a choice element: its value[x] type, which the choice must allow. */
function valueType(value: PatchValue, element: InternalSchemaElement): string {
  if (!('type' in value)) {
    throw invalid('a choice element takes a typed value[x], not parts');
  }
  if (!element.type.some((t) => t.code === value.type)) {
    throw invalid(`the element takes ${element.type.map((t) => t.code).join(', ')}, not ${value.type}`);
  }
  return value.type;
}

/**
 * The JSON to store for a value going where type `type` is expected. A value[x] must have that
 * type (string-like primitives are interchangeable here: the validator checks their format); parts
 * build an anonymous element by the target type's definition.
 */
function toJson(value: PatchValue, type: string): unknown {
  if ('type' in value) {
    const targetPrimitive = PRIMITIVE_TYPES.has(type);
    const valuePrimitive = PRIMITIVE_TYPES.has(value.type);
    const compatible = value.type === type || (targetPrimitive && valuePrimitive) || isResourceElement(type) || type === 'Element';
    if (!compatible) {
      throw invalid(`the element takes ${type}, not ${value.type}`);
    }
    return value.json;
  }
  const schema = typeSchema(type);
  if (!schema) {
    throw invalid(`a ${type} value is given as value[x], not parts`);
  }
  const element: JsonObject = {};
  for (const part of value.parts) {
    const name = part.name;
    const info = typeof name === 'string' ? elementOf(element, type, name) : undefined;
    if (!info) {
      throw invalid(`${type} has no element ${String(name)}`);
    }
    const child = patchValue(part, String(name));
    if ('choice' in info) {
      const childType = valueType(child, info.element);
      place(element, choiceKey(info.choice, childType), child, childType);
    } else if (info.element.isArray) {
      const items = (element[info.key] ?? []) as unknown[];
      element[info.key] = [...items, toJson(child, info.code)];
    } else {
      place(element, info.key, child, info.code);
    }
  }
  return element;
}

function invalid(message: string, expression?: string): FhirError {
  return new FhirError('INVALID_PATCH', message, expression ? { expression: [expression] } : {});
}

function failed(message: string): FhirError {
  return new FhirError('PATCH_FAILED', message);
}
