/**
 * _summary and _elements: trimmed views of a resource, marked SUBSETTED.
 * See: https://hl7.org/fhir/R4/search.html#summary and #elements
 */
import type { Resource } from '@medplum/fhirtypes';
import { tryGetDataType } from '@medplum/core';
import { loadDefinitions } from './definitions';
import { FhirError } from './outcomes';

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';

export const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' } as const;

const ALWAYS_KEPT = ['resourceType', 'id', 'meta'];

export function parseSummaryMode(value: string): SummaryMode {
  if (value === 'true' || value === 'text' || value === 'data' || value === 'count' || value === 'false') {
    return value;
  }
  throw new FhirError('INVALID_REQUEST', `_summary must be one of true, text, data, count, false; got "${value}"`, {
    expression: ['_summary'],
  });
}

/** Applies _summary to one resource; `false` and `count` leave it whole. */
export function summarize<T extends Resource>(resource: T, mode: SummaryMode): T {
  switch (mode) {
    case 'false':
    case 'count':
      return resource;
    case 'data': {
      const { text: _text, ...rest } = resource as T & { text?: unknown };
      return markSubsetted(rest as T);
    }
    case 'text':
      return keep(resource, (key) => key === 'text' || mandatory(resource.resourceType).has(key));
    case 'true': {
      const summary = summaryElements(resource.resourceType);
      return keep(resource, (key) => summary.has(key) || mandatory(resource.resourceType).has(key));
    }
  }
}

/** Applies _elements (top-level element names; choice names like `value` cover valueQuantity). */
export function selectElements<T extends Resource>(resource: T, elements: readonly string[]): T {
  const wanted = new Set(elements);
  const required = mandatory(resource.resourceType);
  return keep(resource, (name, key) => required.has(name) || wanted.has(name) || wanted.has(key));
}

/** Keeps the top-level keys whose element name (choice base, without the `_` of primitive extensions) passes. */
function keep<T extends Resource>(resource: T, predicate: (elementName: string, key: string) => boolean): T {
  const choices = choiceElements(resource.resourceType);
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    const bare = key.startsWith('_') ? key.slice(1) : key;
    const name = choiceBase(bare, choices);
    if (ALWAYS_KEPT.includes(name) || predicate(name, bare)) {
      result[key] = value;
    }
  }
  return markSubsetted(result as T);
}

function markSubsetted<T extends Resource>(resource: T): T {
  const tags = (resource.meta?.tag ?? []).filter((t) => !(t.system === SUBSETTED.system && t.code === SUBSETTED.code));
  return { ...resource, meta: { ...resource.meta, tag: [...tags, { ...SUBSETTED }] } };
}

/** `valueQuantity` → `value` when `value[x]` is a choice element of the type; else the key. */
function choiceBase(key: string, choices: ReadonlySet<string>): string {
  for (const base of choices) {
    if (key.length > base.length && key.startsWith(base) && /[A-Z]/.test(key.charAt(base.length))) {
      return base;
    }
  }
  return key;
}

const mandatoryCache = new Map<string, Set<string>>();
const choiceCache = new Map<string, Set<string>>();
const summaryCache = new Map<string, Set<string>>();

function mandatory(resourceType: string): Set<string> {
  let names = mandatoryCache.get(resourceType);
  if (!names) {
    loadDefinitions();
    const schema = tryGetDataType(resourceType);
    names = new Set(
      Object.entries(schema?.elements ?? {})
        .filter(([, element]) => element.min > 0)
        .map(([path]) => path.replace('[x]', '')),
    );
    mandatoryCache.set(resourceType, names);
  }
  return names;
}

function choiceElements(resourceType: string): Set<string> {
  let names = choiceCache.get(resourceType);
  if (!names) {
    loadDefinitions();
    const schema = tryGetDataType(resourceType);
    names = new Set(Object.keys(schema?.elements ?? {}).filter((p) => p.endsWith('[x]')).map((p) => p.slice(0, -3)));
    choiceCache.set(resourceType, names);
  }
  return names;
}

function summaryElements(resourceType: string): Set<string> {
  let names = summaryCache.get(resourceType);
  if (!names) {
    loadDefinitions();
    const schema = tryGetDataType(resourceType);
    names = new Set([...(schema?.summaryProperties ?? [])].map((p) => p.replace('[x]', '')));
    summaryCache.set(resourceType, names);
  }
  return names;
}
