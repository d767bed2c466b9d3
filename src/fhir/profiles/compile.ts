/**
 * Compiles a StructureDefinition's differential into an ElementRule tree (model.ts), once, when
 * profiles/ is loaded. Everything the checker cannot honour is refused here, with the element
 * id, so that a profile never claims a constraint CaseBridge silently ignores:
 * - only `derivation: constraint` profiles of a core R4 resource type;
 * - element ids must name elements of the base type (walked through the R4 definitions);
 * - slicing only with `value`/`pattern` discriminators (extensions: `url` by default);
 * - required bindings only to CaseBridge's own value sets (terminology.ts);
 * - targetProfile only core resource types or CaseBridge's own profiles.
 * See: https://hl7.org/fhir/R4/profiling.html#slicing and https://hl7.org/fhir/R4/elementdefinition.html#id
 */
import { getElementDefinition, parseFhirPath } from '@medplum/core';
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { isResourceType } from '../definitions';
import { typeFromSuffix } from '../validation/element-types';
import type { Discriminator, ElementRule, InvariantRule, SliceMatch, TypeRule, ValueConstraint } from './model';
import type { CompiledProfile } from './model';
import { TerminologyError, stripVersion } from './terminology';
import type { Terminology } from './terminology';

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
}

export interface CompileContext {
  readonly terminology: Terminology;
  /** url → resource type of every profile being loaded, to resolve targetProfile. */
  readonly profileTypes: ReadonlyMap<string, string>;
}

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

export function compileProfile(sd: StructureDefinition, ctx: CompileContext): CompiledProfile {
  const where = sd.url ?? sd.id ?? 'StructureDefinition';
  const fail = (message: string): never => {
    throw new ProfileError(`${where}: ${message}`);
  };
  if (!sd.url) fail('url is required');
  if (sd.kind !== 'resource' || sd.derivation !== 'constraint') fail('only constraints on a resource (kind resource, derivation constraint) are supported');
  const type = sd.type ?? '';
  if (!isResourceType(type)) fail(`type '${type}' is not an R4 resource type`);
  if (sd.baseDefinition !== `${CORE_PREFIX}${type}`) fail(`baseDefinition must be ${CORE_PREFIX}${type} (profiles derive from the core resource)`);
  const elements = sd.differential?.element ?? [];
  if (elements.length === 0) fail('a differential is required');

  const root = newRule({ id: type, name: type, baseTypes: [type] });
  for (const element of elements) {
    const id = element.id ?? fail(`element ${element.path ?? '?'} has no id`);
    const rule = id === type ? root : resolve(root, id, fail);
    if (element.path !== pathOf(id)) fail(`element ${id}: path must be ${pathOf(id)}`);
    apply(rule, element, ctx, (m) => fail(`element ${id}: ${m}`));
  }
  finishSlicing(root, fail);
  return { url: sd.url as string, ...(sd.version ? { version: sd.version } : {}), name: sd.name ?? type, type, root };
}

function newRule(init: { id: string; name: string; baseTypes: readonly string[]; sliceName?: string }): ElementRule {
  return { ...init, invariants: [], children: new Map(), slices: [] };
}

/** `CarePlan.category:AssessPlan.coding` → `CarePlan.category.coding` */
function pathOf(id: string): string {
  return id
    .split('.')
    .map((s) => s.split(':')[0])
    .join('.');
}

/** Finds (creating as needed) the rule an element id designates. */
function resolve(root: ElementRule, id: string, fail: (m: string) => never): ElementRule {
  const segments = id.split('.');
  if (segments[0] !== root.name) {
    fail(`element ${id} does not start with ${root.name}`);
  }
  let current = root;
  for (const segment of segments.slice(1)) {
    const [name = '', sliceName, extra] = segment.split(':');
    if (extra !== undefined || name === '' || sliceName === '') {
      fail(`element id ${id} is not understood`);
    }
    let child = current.children.get(name);
    if (!child) {
      child = newRule({ id: `${current.id}.${name}`, name, baseTypes: childTypes(current, name, id, fail) });
      current.children.set(name, child);
    }
    if (sliceName !== undefined) {
      let slice = child.slices.find((s) => s.sliceName === sliceName);
      if (!slice) {
        slice = newRule({ id: `${child.id}:${sliceName}`, name, sliceName, baseTypes: child.baseTypes });
        child.slices.push(slice);
      }
      current = slice;
    } else {
      current = child;
    }
  }
  return current;
}

function childTypes(parent: ElementRule, name: string, id: string, fail: (m: string) => never): string[] {
  if (!/^[a-z][A-Za-z0-9]*(\[x\])?$/.test(name)) {
    fail(`element id ${id}: '${name}' is not an element name (choice elements are written name[x])`);
  }
  const parentTypes = parent.types ? parent.types.map((t) => t.code) : parent.baseTypes;
  if (parentTypes.length !== 1) {
    fail(`element id ${id}: cannot constrain below ${parent.id}, which has ${parentTypes.length} types (restrict it to one)`);
  }
  const element = getElementDefinition(parentTypes[0] as string, name);
  if (!element || (name.endsWith('[x]') !== element.path.endsWith('[x]'))) {
    fail(`element id ${id}: ${parentTypes[0]} has no element '${name}'`);
  }
  return (element?.type ?? []).map((t) => t.code);
}

function apply(rule: ElementRule, element: ElementDefinition, ctx: CompileContext, fail: (m: string) => never): void {
  if (element.min !== undefined) {
    rule.min = element.min;
  }
  if (element.max !== undefined) {
    const max = element.max === '*' ? Infinity : Number(element.max);
    if (!Number.isInteger(max) && max !== Infinity) fail(`max '${element.max}' is not a number or *`);
    rule.max = max;
  }
  if (rule.min !== undefined && rule.max !== undefined && rule.min > rule.max) fail(`min ${rule.min} exceeds max ${element.max}`);
  const value = valueConstraint(element, fail);
  if (value) {
    rule.value = value;
  }
  if (element.type) {
    const types = element.type.map((t): TypeRule => ({
      code: t.code ?? fail('a type without a code'),
      targetTypes: (t.targetProfile ?? []).flatMap((p) => targetType(p, ctx, fail)),
      profiles: [...(t.profile ?? [])],
    }));
    for (const t of types) {
      if (!rule.baseTypes.includes(t.code)) fail(`type ${t.code} is not one of the base types (${rule.baseTypes.join(', ')})`);
    }
    rule.types = types;
  }
  if (element.binding?.strength === 'required') {
    const valueSet = element.binding.valueSet ?? fail('a required binding needs a valueSet');
    try {
      const expansion = ctx.terminology.expand(valueSet);
      rule.binding = { valueSet: stripVersion(valueSet), codes: expansion.codes, bareCodes: expansion.bareCodes };
    } catch (err) {
      if (err instanceof TerminologyError) fail(err.message);
      throw err;
    }
  }
  for (const c of element.constraint ?? []) {
    rule.invariants.push(invariant(c, fail));
  }
  if (element.slicing) {
    const discriminators = (element.slicing.discriminator ?? []).map((d): Discriminator => {
      if (d.type !== 'value' && d.type !== 'pattern') fail(`discriminator type '${d.type}' is not supported (only value and pattern)`);
      if (!d.path) fail('a discriminator needs a path');
      return { type: d.type as 'value' | 'pattern', path: d.path as string };
    });
    if (discriminators.length === 0) fail('slicing needs at least one discriminator');
    rule.slicing = { discriminators, rules: element.slicing.rules ?? 'open' };
  }
}

function valueConstraint(element: ElementDefinition, fail: (m: string) => never): ValueConstraint | undefined {
  const found: ValueConstraint[] = [];
  for (const [key, value] of Object.entries(element)) {
    const m = /^(fixed|pattern)([A-Z]\w*)$/.exec(key);
    if (m) {
      found.push({ kind: m[1] as 'fixed' | 'pattern', type: typeFromSuffix(m[2] as string), value });
    }
  }
  if (found.length > 1) fail('at most one fixed[x] or pattern[x]');
  return found[0];
}

function targetType(profile: string, ctx: CompileContext, fail: (m: string) => never): string[] {
  const url = stripVersion(profile);
  if (url.startsWith(CORE_PREFIX)) {
    const type = url.slice(CORE_PREFIX.length);
    if (type === 'Resource') return [];
    if (isResourceType(type)) return [type];
  }
  const ours = ctx.profileTypes.get(url);
  return ours ? [ours] : fail(`targetProfile ${profile} is neither a core resource type nor a CaseBridge profile`);
}

function invariant(c: NonNullable<ElementDefinition['constraint']>[number], fail: (m: string) => never): InvariantRule {
  if (!c.key || !c.expression || !c.human) fail('a constraint needs key, human and expression');
  if (c.severity !== 'error' && c.severity !== 'warning') fail(`constraint ${c.key}: severity must be error or warning`);
  try {
    const expression = c.expression as string;
    return { key: c.key as string, severity: c.severity, human: c.human as string, expression, atom: parseFhirPath(expression) };
  } catch (err) {
    return fail(`constraint ${c.key}: the expression does not parse: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Every sliced element needs a slicing definition (extensions are sliced by url by default), and
 * every slice a value for each discriminator: its own fixed/pattern for `$this`, the fixed or
 * pattern of the element at the discriminator path, or for an extension's `url` the profile of
 * the slice's type (profiling.html#discriminator).
 */
function finishSlicing(rule: ElementRule, fail: (m: string) => never): void {
  if (rule.slices.length > 0) {
    if (!rule.slicing) {
      if (rule.name !== 'extension' && rule.name !== 'modifierExtension') {
        fail(`element ${rule.id} has slices but no slicing`);
      }
      rule.slicing = { discriminators: [{ type: 'value', path: 'url' }], rules: 'open' };
    }
    const slicing = rule.slicing;
    for (const slice of rule.slices) {
      slice.match = slicing.discriminators.map((d): SliceMatch => ({ path: d.path, constraint: discriminatorValue(rule, slice, d, fail) }));
    }
  }
  for (const child of [...rule.children.values(), ...rule.slices]) {
    finishSlicing(child, fail);
  }
}

function discriminatorValue(sliced: ElementRule, slice: ElementRule, d: Discriminator, fail: (m: string) => never): ValueConstraint {
  if (d.path === '$this') {
    return slice.value ?? fail(`slice ${slice.id} has no fixed or pattern value for discriminator $this`);
  }
  let target: ElementRule | undefined = slice;
  for (const name of d.path.split('.')) {
    target = target?.children.get(name);
  }
  if (target?.value) {
    return target.value;
  }
  const isExtension = sliced.name === 'extension' || sliced.name === 'modifierExtension';
  const profile = slice.types?.[0]?.profiles[0];
  if (isExtension && d.path === 'url' && profile) {
    return { kind: 'fixed', type: 'uri', value: profile };
  }
  return fail(`slice ${slice.id} has no value for discriminator ${d.path}`);
}
