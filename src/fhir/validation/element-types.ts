/**
 * Element types from the StructureDefinitions (Medplum's indexed schemas): which FHIR type a JSON
 * key holds, with choice elements expanded. The JSON schema stage names types in its messages
 * with it; the structure stage walks the resource with it. Lookups are cached per process.
 */
import type { InternalSchemaElement, InternalTypeSchema } from '@medplum/core';
import { getDataType } from '@medplum/core';
import { isResourceType } from '../definitions';
import { isObject, member } from './json';
import type { JsonObject } from './json';

/** The FHIR primitive types: their names start in lower case, complex types' in upper case. */
export const PRIMITIVE_TYPES: ReadonlySet<string> = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer', 'markdown',
  'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
]);

/** The type named by a choice-key suffix (`valueDateTime` → dateTime; `Quantity` stays). */
export function typeFromSuffix(suffix: string): string {
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVE_TYPES.has(lower) ? lower : suffix;
}

/** The JSON key of a choice element for one of its types (`value[x]`, dateTime → valueDateTime). */
export function choiceKey(choice: string, type: string): string {
  return choice.slice(0, -3) + type.charAt(0).toUpperCase() + type.slice(1);
}

export interface ElementInfo {
  code: string;
  element: InternalSchemaElement;
  /** Name of the choice element (`value[x]`) this key belongs to. */
  choice?: string;
  /** The resource types a Reference here may point to, from the target profiles (empty: any). */
  referenceTargets: readonly string[];
  /** The key of this element's primitive extensions: `_` and the key. */
  extensionKey: string;
  /** Its location below its object's: `.name`, or `.value.ofType(string)` for a choice type. */
  pathSuffix: string;
}

const elementIndexes = new WeakMap<InternalTypeSchema, Map<string, ElementInfo>>();
const typeSchemas = new Map<string, InternalTypeSchema | null>();

/** JSON key → element, with choice elements expanded (`valueString` → `value[x]` of type string). */
export function elementIndex(schema: InternalTypeSchema): Map<string, ElementInfo> {
  let index = elementIndexes.get(schema);
  if (!index) {
    index = new Map();
    for (const [name, element] of Object.entries(schema.elements)) {
      const referenceTargets = element.type.flatMap((t) => t.targetProfile ?? []).map((u) => u.slice(u.lastIndexOf('/') + 1));
      // Keys and locations made once here: building them for every element walked (with the
      // Set of primitives seen, now gone) was a quarter of the structure stage.
      if (name.endsWith('[x]')) {
        for (const t of element.type) {
          const key = choiceKey(name, t.code);
          index.set(key, { code: t.code, element, choice: name, referenceTargets, extensionKey: `_${key}`, pathSuffix: choiceLocation('', name, t.code) });
        }
      } else if (!name.includes('.') && element.type[0]) {
        index.set(name, { code: element.type[0].code, element, referenceTargets, extensionKey: `_${name}`, pathSuffix: member('', name) });
      }
    }
    elementIndexes.set(schema, index);
  }
  return index;
}

/** Schema of a complex type, backbone element or resource; undefined for primitives. */
export function typeSchema(code: string): InternalTypeSchema | undefined {
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

/** An element holding a whole resource (Bundle.entry.resource, contained): its type is its resourceType. */
export function isResourceElement(code: string): boolean {
  return code === 'Resource' || code === 'DomainResource';
}

/** FHIR type of the value at the given JSON keys below the resource, if known. */
export function fhirTypeAt(resource: JsonObject, type: string, keys: readonly string[]): string | undefined {
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

/** `Observation.value[x]` of type Quantity → `Observation.value.ofType(Quantity)`, as FHIRPath and the HL7 validator name it. */
export function choiceLocation(parent: string, choice: string, code: string): string {
  return `${parent}.${choice.slice(0, -3)}.ofType(${code})`;
}

/**
 * The FHIRPath location of the value at the given JSON keys below the resource: `ofType()` for a
 * choice type, the primitive's own path for its `_name` part, indexes kept; keys the definitions
 * do not know are appended as they are.
 */
export function locationOf(resource: JsonObject, type: string, keys: readonly string[]): string {
  let location = type;
  let code: string | undefined = type;
  let value: unknown = resource;
  for (const key of keys) {
    if (Array.isArray(value)) {
      location += `[${key}]`;
      value = value[Number(key)];
      continue;
    }
    const container = value;
    value = isObject(container) ? container[key] : undefined;
    const schema: InternalTypeSchema | undefined =
      code === undefined || !isObject(container)
        ? undefined
        : typeSchema(isResourceElement(code) && isResourceType(container.resourceType) ? container.resourceType : code);
    const name = key.startsWith('_') ? key.slice(1) : key;
    const info: ElementInfo | undefined = schema ? elementIndex(schema).get(name) : undefined;
    if (!info) {
      location = member(location, key);
      code = undefined;
      continue;
    }
    location = info.choice ? choiceLocation(location, info.choice, info.code) : member(location, name);
    code = key.startsWith('_') ? 'Element' : info.code;
  }
  return location;
}
