/**
 * Referential integrity of the case commands: every reference a payload names (`to`,
 * `caseManager`, `consent`, `basis[2]`…) must be to a resource that exists and that the caller may
 * see, or the command is refused with 422 naming the field, before anything is planned. FHIR lets
 * a server refuse a reference it cannot resolve (https://hl7.org/fhir/R4/references.html#integrity);
 * a case record pointing at an agency that does not exist is worse than no record.
 *
 * The references are found by walking the command's JSON Schema together with its payload: the
 * fields built by schemas/common `reference()` are references. So a new command or field cannot
 * forget the check. What the caller may not see answers as unknown (the store is scoped), as
 * the FHIR API's 404 does.
 */
import type { FhirServices } from '../core/services';
import { FhirError, issue } from '../fhir/outcomes';
import { searchAll } from './case-record';
import { jsonPath } from './payload';
import { type JsonSchema, referenceTypes } from './schemas/common';

export interface PayloadReference {
  /** Where the payload names it: `objectives[1].measure`, `basis[0]`. */
  readonly field: string;
  /** `Type/id`, as the schema has already checked. */
  readonly reference: string;
}

/** The references `payload` names, with their fields, in payload order. */
export function payloadReferences(schema: JsonSchema, payload: unknown): PayloadReference[] {
  const found: PayloadReference[] = [];
  walk(schema, payload, '', found);
  return found;
}

function walk(schema: JsonSchema, value: unknown, pointer: string, found: PayloadReference[]): void {
  if (referenceTypes(schema) && typeof value === 'string') {
    found.push({ field: jsonPath(pointer), reference: value });
    return;
  }
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    for (const branch of (schema[key] as JsonSchema[] | undefined) ?? []) {
      if (typeof branch === 'object' && branch.properties) walk({ ...branch, type: branch.type ?? schema.type }, value, pointer, found);
    }
  }
  if (Array.isArray(value) && schema.items && typeof schema.items === 'object') {
    value.forEach((item, i) => walk(schema.items as JsonSchema, item, `${pointer}/${i}`, found));
    return;
  }
  const properties = schema.properties as Record<string, JsonSchema | boolean> | undefined;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && properties) {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const property = properties[key];
      if (property && typeof property === 'object') walk(property, child, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, found);
    }
  }
}

const CHUNK = 100;

/** Throws UNKNOWN_REFERENCE (422), one issue per field, when a reference of the payload names nothing the caller can see. */
export async function assertReferencesExist(services: FhirServices, schema: JsonSchema, payload: unknown): Promise<void> {
  const references = payloadReferences(schema, payload);
  if (references.length === 0) return;
  const byType = new Map<string, Set<string>>();
  for (const { reference } of references) {
    const [type, id] = reference.split('/') as [string, string];
    byType.set(type, (byType.get(type) ?? new Set()).add(id));
  }
  const existing = new Set<string>();
  for (const [type, ids] of byType) {
    const list = [...ids];
    for (let i = 0; i < list.length; i += CHUNK) {
      const found = await searchAll(services, type, { _id: list.slice(i, i + CHUNK).join(',') });
      found.matches.forEach((m) => existing.add(`${type}/${m.id}`));
    }
  }
  const missing = references.filter((r) => !existing.has(r.reference));
  if (missing.length > 0) {
    const issues = missing.map((m) => issue('UNKNOWN_REFERENCE', `${m.field}: ${m.reference} does not exist (or this client may not see it)`, [m.field]));
    throw new FhirError('UNKNOWN_REFERENCE', issues[0]?.diagnostics ?? 'Unknown reference', { issues });
  }
}
