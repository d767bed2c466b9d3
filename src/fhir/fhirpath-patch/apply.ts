/**
 * Applies FHIRPath Patch operations, in order, to a copy of a resource. Values are type-checked
 * against the element definitions; the caller validates the patched resource as for any write.
 */
import type { InternalSchemaElement } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { cloneFhirJson, setDecimalText } from '../json-text';
import { FhirError } from '../outcomes';
import { PRIMITIVE_TYPES, choiceKey, isResourceElement, typeSchema } from '../validation/element-types';
import type { JsonObject } from '../validation/json';
import { isObject } from '../validation/json';
import { asSlot, collection, elementOf, locate, pathAtom, presentChoiceKey, single, type Location, type Slot, typeAt, valueAt } from './locate';
import { type FhirPathPatchOperation, type PatchValue, failed, invalid, patchValue } from './parse';

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
