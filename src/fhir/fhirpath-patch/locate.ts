/**
 * Where a patch path points: the places (parent object, JSON key, array position) of the elements
 * it designates. The FHIRPath syntax tree is walked rather than evaluated, because evaluation
 * yields values, and a primitive value cannot tell where it lives. Supported: member access,
 * indexers, where(), first(), last() and ofType().
 */
import type { Atom, InternalSchemaElement } from '@medplum/core';
import { DotAtom, FhirPathAtom, FunctionAtom, IndexerAtom, LiteralAtom, SymbolAtom, evalFhirPathTyped, parseFhirPath } from '@medplum/core';
import { isResourceType } from '../definitions';
import { elementIndex, isResourceElement, typeFromSuffix, typeSchema } from '../validation/element-types';
import type { JsonObject } from '../validation/json';
import { isObject } from '../validation/json';
import { failed, invalid } from './parse';

/** A place in the resource: the parent object, the key, the position if the element repeats. */
export interface Slot {
  parent: JsonObject;
  key: string;
  index?: number;
  /** FHIR type of the value held there. */
  type: string;
  /** Name of the choice element (`value[x]`) the key belongs to. */
  choice?: string;
}

export type Location = { root: true } | Slot;

export function pathAtom(path: string): Atom {
  try {
    return parseFhirPath(path).child;
  } catch {
    throw invalid(`"${path}" is not a FHIRPath expression`);
  }
}

/** Every place the path designates, in document order. */
export function locate(resource: JsonObject, atom: Atom): Location[] {
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
export function elementOf(parent: JsonObject, type: string, name: string): ElementRef | undefined {
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

export function presentChoiceKey(parent: JsonObject, choice: string): string | undefined {
  const base = choice.slice(0, -3);
  return Object.keys(parent).find((key) => key.startsWith(base) && /^[A-Z]/.test(key.slice(base.length)));
}

function choiceType(choice: string, key: string): string {
  return typeFromSuffix(key.slice(choice.length - 3));
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

export function valueAt(resource: JsonObject, location: Location): unknown {
  if ('root' in location) {
    return resource;
  }
  const value = location.parent[location.key];
  return location.index === undefined ? value : (value as unknown[])[location.index];
}

export function typeAt(resource: JsonObject, location: Location): string {
  return 'root' in location ? (resource.resourceType as string) : location.type;
}

export function asSlot(location: Location): Slot {
  if ('root' in location) {
    throw invalid('the path designates the resource itself, which a patch cannot replace or delete');
  }
  return location;
}

export function single(found: Location[], what: string): Location {
  if (found.length !== 1) {
    throw failed(found.length === 0 ? `the path matches nothing (${what})` : `the path matches ${found.length} elements; it must designate one (${what})`);
  }
  return found[0] as Location;
}

/** insert and move address a repeating element: `<path to its parent>.<name>`. */
export function collection(resource: JsonObject, path: string): { parent: JsonObject; key: string; type: string; items: unknown[] } {
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
