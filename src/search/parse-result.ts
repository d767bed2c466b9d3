/**
 * Result parameters (search.html#return): `_type`, `_count`, `_offset`, `_sort`, `_total`,
 * `_summary`, `_elements`, `_include`/`_revinclude`. Each invalid value is a 400 naming it.
 */
import { isResourceType } from '../fhir/definitions';
import { invalid } from './parse-value';
import type { SearchParameterRegistry } from './registry';
import type { IncludeTarget, SortRule } from './request';

const ELEMENT = /^([A-Z][A-Za-z]+\.)?[a-z][A-Za-z0-9_]*$/;

export function parseTypes(value: string | undefined, registry: SearchParameterRegistry): string[] {
  if (value === undefined) {
    return [];
  }
  const types = value.split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const t of types) {
    if (!isResourceType(t) || registry.list(t).length === 0) {
      throw invalid('_type', `Parameter '_type' names an unknown resource type '${t}'`);
    }
  }
  return [...new Set(types)];
}

export function nonNegativeInteger(name: string, value: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw invalid(name, `Parameter '${name}' must be a non-negative integer, got '${value}'`);
  }
  return Number(value);
}

export function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalid(name, `Parameter '${name}' must be one of ${allowed.join(', ')}, got '${value}'`);
  }
  return value as T;
}

export function parseElements(value: string): string[] {
  const elements = value.split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const e of elements) {
    if (!ELEMENT.test(e)) {
      throw invalid('_elements', `Parameter '_elements' has an invalid element name '${e}'`);
    }
  }
  if (elements.length === 0) {
    throw invalid('_elements', `Parameter '_elements' is empty`);
  }
  return elements;
}

/** `_sort=a,-b`: each key must be a sortable parameter (`sortable` looks it up for the scope). */
export function parseSort(value: string, sortable: (code: string) => boolean): SortRule[] {
  return value.split(',').map((key) => {
    const descending = key.startsWith('-');
    const code = descending ? key.slice(1) : key;
    if (!sortable(code)) {
      throw invalid('_sort', `Parameter '_sort' names an unknown or unsortable search parameter '${code}'`);
    }
    return { code, descending };
  });
}

/** `Type:param[:targetType]`, `Type:*`, or `*`. */
export function parseInclude(name: string, value: string, registry: SearchParameterRegistry): IncludeTarget {
  const iterate = name.endsWith(':iterate');
  if (value === '*') {
    return { resourceType: '*', code: '*', iterate };
  }
  const [resourceType = '', code = '', targetType, ...rest] = value.split(':');
  if (rest.length > 0 || !isResourceType(resourceType) || code === '') {
    throw invalid(name, `Parameter '${name}' must be Type:parameter[:targetType], got '${value}'`);
  }
  if (code === '*') {
    if (targetType !== undefined) {
      throw invalid(name, `Parameter '${name}' cannot name a target type with '*'`);
    }
    return { resourceType, code, iterate };
  }
  const def = registry.get(resourceType, code);
  if (!def || def.type !== 'reference') {
    throw invalid(name, `Parameter '${name}': '${code}' is not a reference parameter of ${resourceType}`);
  }
  if (targetType !== undefined && !(isResourceType(targetType) && (def.targets.length === 0 || def.targets.includes(targetType)))) {
    throw invalid(name, `Parameter '${name}': ${resourceType}.${code} cannot reference '${targetType}'`);
  }
  return { resourceType, code, ...(targetType !== undefined ? { targetType } : {}), iterate };
}
