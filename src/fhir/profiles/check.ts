/**
 * Checks one resource against one compiled profile (compile.ts): walks the rule tree over the
 * JSON, and reports each failed constraint as an OperationOutcome issue located by a FHIRPath
 * expression (`CarePlan.activity[0].detail`), whose details name the profile and the constraint
 * (an invariant's key, or `<element id>/<min|max|fixed|pattern|binding|type|slicing>`).
 *
 * Issue types: `required` (below min), `structure` (above max, a type the profile does not
 * allow, an element outside a closed slicing), `value` (fixed, pattern, binding, reference
 * target), `invariant` (FHIRPath constraints). Pure: no I/O.
 * See: https://hl7.org/fhir/R4/profiling.html and https://hl7.org/fhir/R4/validation.html
 */
import { evalFhirPathTyped, toTypedValue } from '@medplum/core';
import type { TypedValue } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isResourceType } from '../definitions';
import { ERROR_CODE_SYSTEM } from '../outcomes';
import { typeFromSuffix } from '../validation/element-types';
import type { IssueType } from '../outcomes';
import type { CompiledProfile, ElementRule, InvariantRule } from './model';
import { isObject } from '../validation/json';
import { equalsFixed, matchesPattern } from './values';

/** A profile stops reporting after this many issues (the validation caps the total anyway). */
export const MAX_PROFILE_ISSUES = 100;

/** One occurrence of an element in the instance. */
interface Occurrence {
  /** The JSON value; undefined for a primitive that has only an extension (`_birthDate`). */
  readonly value: unknown;
  /** The `_name` object of a primitive (its id and extensions). */
  readonly primitiveExtension?: unknown;
  readonly location: string;
  /** The FHIR type, when known. */
  readonly type: string | undefined;
}

interface Walk {
  readonly profile: CompiledProfile;
  readonly resource: Record<string, unknown>;
  readonly root: TypedValue;
  readonly issues: OperationOutcomeIssue[];
}

export function checkProfile(resource: Record<string, unknown>, profile: CompiledProfile): OperationOutcomeIssue[] {
  const walk: Walk = { profile, resource, root: toTypedValue(resource), issues: [] };
  checkOccurrence(walk, profile.root, { value: resource, location: profile.type, type: profile.type });
  return walk.issues;
}

function full(walk: Walk): boolean {
  return walk.issues.length >= MAX_PROFILE_ISSUES;
}

function report(walk: Walk, init: { type: IssueType; key: string; message: string; location: string; severity?: 'error' | 'warning' }): void {
  if (full(walk)) {
    return;
  }
  const text = `${init.message} (profile ${walk.profile.url}, constraint ${init.key})`;
  walk.issues.push({
    severity: init.severity ?? 'error',
    code: init.type,
    details: { coding: [{ system: ERROR_CODE_SYSTEM, code: 'PROFILE_VIOLATION' }], text },
    diagnostics: text,
    expression: [init.location],
  });
}

function checkOccurrence(walk: Walk, rule: ElementRule, occ: Occurrence): void {
  if (full(walk)) {
    return;
  }
  checkValue(walk, rule, occ);
  checkTypes(walk, rule, occ);
  checkBinding(walk, rule, occ);
  for (const inv of rule.invariants) {
    checkInvariant(walk, inv, occ, rule.id === walk.profile.type);
  }
  for (const child of rule.children.values()) {
    const items = childOccurrences(occ, child);
    const where = `${occ.location}.${child.name.replace('[x]', '')}`;
    checkCardinality(walk, child, items, where);
    if (child.slices.length > 0) {
      checkSlices(walk, child, items, where);
    }
    for (const item of items) {
      checkOccurrence(walk, child, item);
    }
  }
}

function checkCardinality(walk: Walk, rule: ElementRule, items: readonly Occurrence[], where: string): void {
  const what = rule.sliceName ? `slice ${rule.sliceName} of ${rule.name}` : rule.name;
  if (rule.min !== undefined && items.length < rule.min) {
    report(walk, {
      type: 'required',
      key: `${rule.id}/min`,
      message: `${what} is required: at least ${rule.min} expected, ${items.length} found`,
      location: where,
    });
  }
  if (rule.max !== undefined && items.length > rule.max) {
    report(walk, {
      type: 'structure',
      key: `${rule.id}/max`,
      message: rule.max === 0 ? `${what} is not allowed here` : `${what}: at most ${rule.max} allowed, ${items.length} found`,
      location: items[rule.max]?.location ?? where,
    });
  }
}

/** Assigns each item to the first slice it matches, then checks each slice's own rules. */
function checkSlices(walk: Walk, sliced: ElementRule, items: readonly Occurrence[], where: string): void {
  const members = sliced.slices.map((): Occurrence[] => []);
  for (const item of items) {
    const index = sliced.slices.findIndex((s) => matchesSlice(s, item));
    if (index >= 0) {
      members[index]?.push(item);
    } else if (sliced.slicing?.rules === 'closed') {
      report(walk, {
        type: 'structure',
        key: `${sliced.id}/slicing`,
        message: `${sliced.name} matches none of the slices ${sliced.slices.map((s) => s.sliceName).join(', ')} and the slicing is closed`,
        location: item.location,
      });
    }
  }
  sliced.slices.forEach((slice, i) => {
    const mine = members[i] ?? [];
    checkCardinality(walk, slice, mine, where);
    for (const item of mine) {
      checkOccurrence(walk, slice, item);
    }
  });
}

function matchesSlice(slice: ElementRule, item: Occurrence): boolean {
  return (slice.match ?? []).every((m) => {
    const values = m.path === '$this' ? [item.value] : valuesAt(item.value, m.path.split('.'));
    return values.some((v) => (m.constraint.kind === 'fixed' ? equalsFixed(v, m.constraint.value) : matchesPattern(v, m.constraint.value)));
  });
}

function valuesAt(value: unknown, names: readonly string[]): unknown[] {
  let current: unknown[] = [value];
  for (const name of names) {
    current = current.flatMap((v) => {
      const next = isObject(v) ? v[name] : undefined;
      return Array.isArray(next) ? next : next === undefined ? [] : [next];
    });
  }
  return current;
}

/** The occurrences of `rule`'s element inside `occ` (choice elements: every `name<Type>` key). */
function childOccurrences(occ: Occurrence, rule: ElementRule): Occurrence[] {
  const container = isObject(occ.value) ? occ.value : isObject(occ.primitiveExtension) ? occ.primitiveExtension : undefined;
  if (!container) {
    return [];
  }
  const keys: [string, string | undefined][] = [];
  if (rule.name.endsWith('[x]')) {
    const base = rule.name.slice(0, -3);
    const suffixes = new Set<string>();
    for (const key of Object.keys(container)) {
      const bare = key.startsWith('_') ? key.slice(1) : key;
      const suffix = bare.slice(base.length);
      if (bare.startsWith(base) && /^[A-Z]/.test(suffix)) {
        suffixes.add(suffix);
      }
    }
    for (const suffix of suffixes) {
      keys.push([base + suffix, typeFromSuffix(suffix)]);
    }
  } else {
    keys.push([rule.name, rule.baseTypes.length === 1 ? rule.baseTypes[0] : undefined]);
  }
  const result: Occurrence[] = [];
  for (const [key, declared] of keys) {
    const value = container[key];
    const extension = container[`_${key}`];
    if (Array.isArray(value) || Array.isArray(extension)) {
      const values = Array.isArray(value) ? value : [];
      const extensions = Array.isArray(extension) ? extension : [];
      for (let i = 0; i < Math.max(values.length, extensions.length); i++) {
        result.push(occurrence(values[i] ?? undefined, extensions[i] ?? undefined, `${occ.location}.${key}[${i}]`, declared));
      }
    } else if (value !== undefined || extension !== undefined) {
      result.push(occurrence(value, extension, `${occ.location}.${key}`, declared));
    }
  }
  return result;
}

function occurrence(value: unknown, primitiveExtension: unknown, location: string, declared: string | undefined): Occurrence {
  // A contained or inline resource is typed by its resourceType.
  const type = isObject(value) && typeof value.resourceType === 'string' ? value.resourceType : declared;
  return { value, location, type, ...(primitiveExtension !== undefined ? { primitiveExtension } : {}) };
}

function checkValue(walk: Walk, rule: ElementRule, occ: Occurrence): void {
  const constraint = rule.value;
  if (!constraint) {
    return;
  }
  const ok = constraint.kind === 'fixed' ? equalsFixed(occ.value, constraint.value) : matchesPattern(occ.value, constraint.value);
  if (!ok) {
    report(walk, {
      type: 'value',
      key: `${rule.id}/${constraint.kind}`,
      message: `${rule.name} must ${constraint.kind === 'fixed' ? 'be exactly' : 'match the pattern'} ${JSON.stringify(constraint.value)}`,
      location: occ.location,
    });
  }
}

function checkTypes(walk: Walk, rule: ElementRule, occ: Occurrence): void {
  const types = rule.types;
  if (!types) {
    return;
  }
  if (rule.name.endsWith('[x]') && occ.type !== undefined && !types.some((t) => t.code === occ.type)) {
    report(walk, {
      type: 'structure',
      key: `${rule.id}/type`,
      message: `${rule.name.replace('[x]', '')} must be of type ${types.map((t) => t.code).join(' or ')}, not ${occ.type}`,
      location: occ.location,
    });
    return;
  }
  if (occ.type !== 'Reference') {
    return;
  }
  const targets = new Set(types.filter((t) => t.code === 'Reference').flatMap((t) => t.targetTypes));
  const target = referencedType(occ.value, walk.resource);
  if (targets.size > 0 && target !== undefined && !targets.has(target)) {
    report(walk, {
      type: 'value',
      key: `${rule.id}/type`,
      message: `${rule.name.replace('[x]', '')} must refer to ${[...targets].join(' or ')}, not ${target}`,
      location: occ.location,
    });
  }
}

/**
 * The resource type a Reference points to, from its literal reference (`Patient/1`, an absolute
 * URL ending in `Patient/1` or `Patient/1/_history/2`, a conditional `Patient?…`, a contained
 * `#id`) or else its `type`. Undefined when it cannot tell (`urn:uuid:`, identifier only).
 */
export function referencedType(reference: unknown, resource: Record<string, unknown>): string | undefined {
  if (!isObject(reference)) {
    return undefined;
  }
  const literal = reference.reference;
  if (typeof literal === 'string') {
    if (literal.startsWith('#')) {
      const contained = Array.isArray(resource.contained) ? resource.contained : [];
      const found = contained.find((c) => isObject(c) && c.id === literal.slice(1));
      return isObject(found) && typeof found.resourceType === 'string' ? found.resourceType : undefined;
    }
    const conditional = /^([A-Z][A-Za-z]+)\?/.exec(literal);
    if (conditional?.[1] && isResourceType(conditional[1])) {
      return conditional[1];
    }
    const m = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(literal);
    if (m?.[1] && isResourceType(m[1])) {
      return m[1];
    }
  }
  if (typeof reference.type === 'string') {
    const type = reference.type.slice(reference.type.lastIndexOf('/') + 1);
    return isResourceType(type) ? type : undefined;
  }
  return undefined;
}

function checkBinding(walk: Walk, rule: ElementRule, occ: Occurrence): void {
  const binding = rule.binding;
  if (!binding || occ.value === undefined) {
    return;
  }
  const value = occ.value;
  const pair = (c: unknown) => (isObject(c) ? `${String(c.system ?? '')}|${String(c.code ?? '')}` : '');
  let ok: boolean;
  if (typeof value === 'string') {
    ok = binding.bareCodes.has(value);
  } else if (isObject(value) && (occ.type === 'CodeableConcept' || Array.isArray(value.coding))) {
    ok = Array.isArray(value.coding) && value.coding.some((c) => binding.codes.has(pair(c)));
  } else {
    ok = binding.codes.has(pair(value));
  }
  if (!ok) {
    report(walk, {
      type: 'value',
      key: `${rule.id}/binding`,
      message: `${rule.name.replace('[x]', '')} must have a code from the value set ${binding.valueSet}`,
      location: occ.location,
    });
  }
}

/**
 * An invariant holds when its expression evaluates to `true`; `false` or an empty result fail
 * it (as the HL7 reference validator reads them). One the engine cannot evaluate is reported as
 * a warning: our limitation, not the client's error.
 */
function checkInvariant(walk: Walk, inv: InvariantRule, occ: Occurrence, isRoot: boolean): void {
  const context: TypedValue = isRoot ? walk.root : { type: occ.type ?? 'BackboneElement', value: occ.value };
  let result: TypedValue[];
  try {
    result = evalFhirPathTyped(inv.atom, [context], { '%resource': walk.root, '%rootResource': walk.root, '%context': context });
  } catch (err) {
    report(walk, {
      type: 'processing',
      severity: 'warning',
      key: inv.key,
      message: `Constraint ${inv.key} could not be evaluated: ${err instanceof Error ? err.message : String(err)}`,
      location: occ.location,
    });
    return;
  }
  const holds = result.length === 1 && result[0]?.value === true;
  if (!holds) {
    report(walk, {
      type: 'invariant',
      severity: inv.severity,
      key: inv.key,
      message: `Constraint ${inv.key} not met: ${inv.human} [${inv.expression}]`,
      location: occ.location,
    });
  }
}
