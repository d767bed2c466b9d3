/**
 * FHIRPath that only selects: member names, type filters (`Observation.value as Quantity`,
 * `Patient.name.given`, a composite's `value.as(Quantity)`) and filters on one member's string
 * value or its absence (`telecom.where(system = 'email')`, `extension.where(url = '…')`,
 * `Task.where(executionPeriod.empty())`), compiled once into steps and
 * evaluated on the JSON without Medplum's engine. Most search parameter branches are such paths,
 * and extraction evaluates every parameter of a resource's type at every write: the engine's
 * per-atom contexts, closures and repeated element lookups were half of extraction's time.
 *
 * The answer must be the engine's, item for item, so the steps follow Medplum's own atoms
 * (@medplum/core src/fhirpath/atoms.ts): a name keeps a resource of that type or reads the
 * property with the engine's typing (getTypedPropertyValue, whose element lookups are kept here
 * per type schema); the `as` operator and ofType() keep items of the type; the .as() function
 * keeps every item, as Medplum's does; where(member = 'text') keeps an item whose member is that
 * one string, drops one without the member, and asks the engine about any other (several values,
 * a value that is not a plain string); where(path.empty()) keeps an item where the compiled path
 * selects nothing. Anything else (other criteria, indexers, functions, operators) is not
 * compiled and stays with the engine; so are values with primitive extensions (`_given`), which
 * the engine merges into the value.
 */
import * as medplum from '@medplum/core';
import { AsAtom, DotAtom, EqualsAtom, FunctionAtom, LiteralAtom, SymbolAtom } from '@medplum/core';
import type { Atom, InternalTypeSchema, TypedValue } from '@medplum/core';
import { choiceKey } from '../fhir/validation/element-types';

// Bound once: @medplum/core's CommonJS build exports through getters, a call each time an
// imported name is read, and these are read for every element of every write.
const { getElementDefinitionFromElements, getTypedPropertyValue, isEmpty, isResource, tryGetDataType } = medplum;

/**
 * The criteria of a where() step: `member = 'equals'` (with the criteria, for the engine when the
 * member is not one plain string), or `path.empty()`.
 */
export type WhereCriteria = { readonly member: string; readonly equals: string; readonly criteria: Atom } | { readonly empty: Selection };

/** One step of a compiled selection. */
export type SelectionStep = { readonly member: string } | { readonly ofType: string } | { readonly where: WhereCriteria };

/** A selection path, in evaluation order. */
export type Selection = readonly SelectionStep[];

/** Names the engine would read as variables or special symbols are left to it. */
const PLAIN_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** The steps of a path made only of names and type filters; undefined for anything else. */
export function compileSelection(atom: Atom): Selection | undefined {
  if (atom instanceof SymbolAtom) {
    return PLAIN_NAME.test(atom.name) ? [{ member: atom.name }] : undefined;
  }
  if (atom instanceof DotAtom) {
    const left = compileSelection(atom.left);
    const right = left ? compileSelection(atom.right) : undefined;
    return left && right ? [...left, ...right] : undefined;
  }
  if (atom instanceof AsAtom) {
    const left = compileSelection(atom.left);
    return left && atom.right instanceof SymbolAtom ? [...left, { ofType: atom.right.name }] : undefined;
  }
  if (atom instanceof FunctionAtom && atom.args.length === 1) {
    const arg = atom.args[0];
    if (atom.name === 'where') {
      const where = arg && whereCriteria(arg);
      return where ? [{ where }] : undefined;
    }
    if (atom.name === 'ofType' && arg instanceof SymbolAtom) {
      return [{ ofType: arg.name }];
    }
    if (atom.name === 'as') {
      return []; // Medplum's as() function returns its input unchanged
    }
  }
  return undefined;
}

/** `member = 'text'` (a member name against a string literal) or `path.empty()`; undefined for any other criteria. */
function whereCriteria(criteria: Atom): WhereCriteria | undefined {
  if (criteria instanceof DotAtom && criteria.right instanceof FunctionAtom && criteria.right.name === 'empty' && criteria.right.args.length === 0) {
    const empty = compileSelection(criteria.left);
    return empty ? { empty } : undefined;
  }
  if (!(criteria instanceof EqualsAtom) || !(criteria.left instanceof SymbolAtom) || !(criteria.right instanceof LiteralAtom)) {
    return undefined;
  }
  const { name } = criteria.left;
  const literal = criteria.right.value;
  return PLAIN_NAME.test(name) && literal.type === 'string' && typeof literal.value === 'string' ? { member: name, equals: literal.value, criteria } : undefined;
}

/** Evaluates a compiled selection as evalFhirPathTyped would evaluate its expression. */
export function select(selection: Selection, input: readonly TypedValue[]): TypedValue[] {
  let current: readonly TypedValue[] = input;
  for (const step of selection) {
    const next: TypedValue[] = [];
    if ('ofType' in step) {
      for (const tv of current) {
        if (tv.type === step.ofType) next.push(tv);
      }
    } else if ('where' in step) {
      for (const tv of current) {
        if (holds(step.where, tv)) next.push(tv);
      }
    } else {
      for (const tv of current) {
        addMember(tv, step.member, next);
      }
    }
    current = next;
  }
  // evalFhirPathTyped's last step: primitives that carried extensions become plain values again.
  return current.map((v) => ({ type: v.type, value: v.value?.valueOf() }));
}

/**
 * Whether where()'s criteria hold for one item. For `=`: an empty member makes it empty (not
 * true); one plain string is compared as the engine compares strings; anything else is the
 * engine's to judge.
 */
function holds(where: WhereCriteria, tv: TypedValue): boolean {
  if ('empty' in where) {
    return select(where.empty, [tv]).length === 0;
  }
  const members: TypedValue[] = [];
  addMember(tv, where.member, members);
  if (members.length === 0) {
    return false;
  }
  const only: unknown = members.length === 1 ? members[0]?.value : undefined;
  if (typeof only === 'string') {
    return only === where.equals;
  }
  const result = where.criteria.eval({ variables: {} }, [tv]);
  return result.length === 1 && result[0]?.value === true;
}

/** SymbolAtom.evalValue, then the engine's filter of undefined values. */
function addMember(tv: TypedValue, name: string, out: TypedValue[]): void {
  const value: unknown = tv.value;
  if (!value || typeof value !== 'object') {
    return;
  }
  if (isResource(value, name as never)) {
    out.push(tv);
    return;
  }
  const found = propertyOf(tv, value as Record<string, unknown>, name);
  if (Array.isArray(found)) {
    for (const item of found) {
      if (item?.value !== undefined) out.push(item);
    }
  } else if (found?.value !== undefined) {
    out.push(found);
  }
}

/**
 * How one property of one type is stored: the JSON keys it may take (a choice), with their types
 * and the keys of their primitive extensions (`_key`, made once: building the string for every
 * lookup cost 7% of extracting an AuditEvent's index).
 */
type PropertyShape = readonly { readonly key: string; readonly extensionKey: string; readonly type: string }[];

const shapes = new WeakMap<InternalTypeSchema, Map<string, PropertyShape | null>>();

function shapeOf(schema: InternalTypeSchema, name: string): PropertyShape | null {
  let byName = shapes.get(schema);
  if (!byName) {
    byName = new Map();
    shapes.set(schema, byName);
  }
  let shape = byName.get(name);
  if (shape === undefined) {
    const element = getElementDefinitionFromElements(schema.elements, name);
    const types = element?.type ?? [];
    const last = element?.path.slice(element.path.lastIndexOf('.') + 1) ?? '';
    shape =
      element && types.length > 0
        ? types.map((t) => {
            const key = last.endsWith('[x]') ? choiceKey(last, t.code) : last;
            return { key, extensionKey: `_${key}`, type: t.code };
          })
        : null;
    byName.set(name, shape);
  }
  return shape;
}

/**
 * getTypedPropertyValue with its element lookup kept per type schema. Where it would take another
 * path (no schema, no element, a primitive extension to merge) it is asked itself. It also reports
 * an element typed Element or BackboneElement as its first type; no loaded definition has one
 * (selection.test.ts), so that case is not copied.
 */
function propertyOf(tv: TypedValue, value: Record<string, unknown>, name: string): TypedValue[] | TypedValue | undefined {
  const schema = tryGetDataType(tv.type);
  const shape = schema && shapeOf(schema, name);
  if (!shape) {
    return getTypedPropertyValue(tv, name);
  }
  for (const { key, extensionKey, type } of shape) {
    const found = value[key];
    if (value[extensionKey] !== undefined) {
      return getTypedPropertyValue(tv, name);
    }
    if (found !== undefined) {
      if (isEmpty(found)) {
        return undefined;
      }
      return Array.isArray(found) ? found.map((item: unknown) => typed(item, type)) : typed(found, type);
    }
  }
  return undefined;
}

function typed(value: unknown, type: string): TypedValue {
  return { type: type === 'Resource' && isResource(value) ? value.resourceType : type, value };
}
