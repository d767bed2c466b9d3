/**
 * The invariants (`constraint` of severity error) of the R4 StructureDefinitions, evaluated with
 * HL7's FHIRPath engine (fhirpath.js and its R4 model), so that dates and times of different
 * precision, time zones and quantities with units compare as the FHIRPath specification says.
 * As in the HL7 validator, an invariant passes only when its expression yields a single `true`:
 * `false` and an empty result (e.g. `2023-06-21 <= 2023-06-21T06:20:00Z` is empty) both fail.
 * Each expression is compiled once per process, for the element or type it is declared on.
 * Cases in which an invariant plainly holds (an absent element, two dates in order) are settled
 * on the JSON first (invariant-shortcuts.ts); the engine decides everything else.
 * See: https://hl7.org/fhir/R4/conformance-rules.html#constraints, https://hl7.org/fhirpath/N1/#comparison
 */
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { topLevelDisjuncts } from './disjuncts';
import { plainlyHolds } from './invariant-shortcuts';
import { isObject } from './json';
import type { JsonObject } from './json';

export interface Constraint {
  key: string;
  severity: string;
  expression: string;
  description?: string;
}

/** The resources an expression may reach: %resource, %rootResource, and the Bundle for resolve(). */
export interface InvariantScope {
  resource: JsonObject;
  rootResource: JsonObject;
  /** The Bundle whose entry holds the resource, for resolve() of fullUrls and `Type/id`. */
  bundle?: JsonObject;
}

export type InvariantResult =
  | { outcome: 'pass' }
  /** `unmatched`: what the expression traced under that label (dom-3: the orphan contained ids). */
  | { outcome: 'fail'; unmatched: unknown[] }
  /** The engine could not evaluate it, or it needs a resource that is not at hand. */
  | { outcome: 'unknown'; reason: string };

/**
 * Checked natively, not with FHIRPath: ele-1 is the JSON rule "no empty objects, no value-less
 * primitives" (structure.ts reports it where the JSON is, with the JSON's own words), and txt-1 /
 * txt-2 call htmlChecks(), which fhirpath.js does not implement (narrative.ts).
 */
export const NATIVE_CONSTRAINTS: ReadonlySet<string> = new Set(['ele-1', 'txt-1', 'txt-2']);

/**
 * Expressions rewritten before compiling, each equivalent to what the R4 author meant and to what
 * the HL7 validator's engine computes:
 * - `is Boolean` (que-7): true for a FHIR boolean in the HL7 engine, false in fhirpath.js;
 * - `descendants().as(T)`: fhirpath.js refuses `as` on a collection (FHIRPath N1 wants a
 *   singleton), the HL7 engine filters like ofType(T) (dom-3);
 * - ras-2 `probability is decimal implies …`: `is` on an absent probability is empty in
 *   fhirpath.js, false in the HL7 engine; a prediction without a probabilityDecimal is valid;
 * - the regexes of eld-16 and eld-19, which JavaScript (unicode mode) refuses for their needless escapes.
 */
const REWRITES: ReadonlyArray<[RegExp, string]> = [
  [/descendants\(\)\.as\(/g, 'descendants().ofType('],
  // que-7 asks `answer is Boolean` (System.Boolean); the HL7 engine takes a FHIR boolean for it.
  [/\bis Boolean\b/g, 'is boolean'],
  // Regexes in matches() (eld-16, eld-19) escape characters that need no escape (`\@`, `\:`,
  // `\'`): XML Schema and Java allow it, a JavaScript unicode-mode regex does not.
  [/\\\\\\'/g, "\\'"],
  [/\\\\([^\\^$.*+?()[\]{}|/\-dDwWsSbBnrtfv0-9uxcpPk'])/g, '$1'],
];
const REPLACED: Readonly<Record<string, string>> = {
  'ras-2': 'probability.empty() or (probability is decimal).not() or (probability as decimal) <= 100',
};

type CompiledExpression = (resource: unknown, env?: Record<string, unknown>) => unknown[];
/** The whole expression, and each operand of its top-level `or` chain when it has one. */
interface Compiled {
  whole: CompiledExpression;
  operands: CompiledExpression[];
}
const compiled = new Map<string, Compiled | Error>();

/** Set while an expression runs (evaluation is synchronous): what resolve() may look in. */
let scopeInUse: InvariantScope | undefined;
let unresolved = false;
let traced: unknown[] = [];

/** A value as JSON: fhirpath.js hands traces over as its nodes (`data`) or boxed primitives. */
function plainValue(value: unknown): unknown {
  if (isObject(value) && 'data' in value) {
    return (value as { data: unknown }).data;
  }
  return typeof value === 'object' && value !== null ? (value as { valueOf(): unknown }).valueOf() : value;
}

/** trace('unmatched', …) names what failed (dom-3); other traces are dropped. */
function keepUnmatched(value: unknown, label: string): void {
  if (label === 'unmatched') {
    traced.push(...(Array.isArray(value) ? value : [value]));
  }
}

/**
 * resolve() without I/O: a contained resource (`#id`), or an entry of the Bundle by fullUrl or
 * `Type/id`. Anything else cannot be resolved here; the invariant is then reported as unknown
 * if it fails, since the HL7 validator would fetch the resource.
 */
function resolveLocally(inputs: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const input of inputs) {
    const data = isObject(input) && 'data' in input ? (input as { data: unknown }).data : input;
    const reference = isObject(data) ? data.reference : typeof data === 'string' ? data : undefined;
    if (typeof reference !== 'string') continue;
    const found = findLocal(reference);
    if (found) out.push(found);
    else unresolved = true;
  }
  return out;
}

function findLocal(reference: string): JsonObject | undefined {
  const scope = scopeInUse;
  if (!scope) return undefined;
  if (reference.startsWith('#')) {
    const contained = scope.rootResource.contained;
    return Array.isArray(contained) ? contained.find((c): c is JsonObject => isObject(c) && c.id === reference.slice(1)) : undefined;
  }
  const entries = scope.bundle?.entry;
  if (!Array.isArray(entries)) return undefined;
  for (const entry of entries) {
    if (!isObject(entry) || !isObject(entry.resource)) continue;
    const r = entry.resource;
    if (entry.fullUrl === reference || (typeof r.id === 'string' && (reference === `${String(r.resourceType)}/${r.id}` || String(entry.fullUrl).endsWith(`/${reference}`)))) {
      return r;
    }
  }
  return undefined;
}

/**
 * not() as the HL7 validator's engine computes it: the negation of the collection's truth, so
 * that an empty collection gives true (FHIRPath N1 says empty). R4's invariants rely on it:
 * ref-1 (`reference.startsWith('#').not() or …`) holds for a Reference without a reference
 * (identifier only), as every R4 example assumes.
 */
function notAsReferenceValidator(inputs: unknown[]): boolean[] {
  const only: unknown = inputs.length === 1 ? (inputs[0] as { valueOf(): unknown }).valueOf() : undefined;
  return [!(typeof only === 'boolean' ? only : inputs.length > 0)];
}

const OPTIONS = {
  resolveInternalTypes: false,
  traceFn: keepUnmatched,
  userInvocationTable: {
    resolve: { fn: resolveLocally, arity: { 0: [] } },
    not: { fn: notAsReferenceValidator, arity: { 0: [] } },
  },
};

/** The compiled expression of a constraint declared on `base` (an element path or a type name). */
function compiledConstraint(base: string, constraint: Constraint): Compiled | Error {
  const id = `${base}\u0000${constraint.key}\u0000${constraint.expression}`;
  let fn = compiled.get(id);
  if (fn === undefined) {
    let expression = REPLACED[constraint.key] ?? constraint.expression;
    for (const [pattern, replacement] of REWRITES) expression = expression.replace(pattern, replacement);
    try {
      const compile = (text: string) =>
        fhirpath.compile({ base, expression: text }, r4Model, OPTIONS as Parameters<typeof fhirpath.compile>[2]) as unknown as CompiledExpression;
      fn = { whole: compile(expression), operands: (topLevelDisjuncts(expression) ?? []).map(compile) };
    } catch (err) {
      fn = err instanceof Error ? err : new Error(String(err));
    }
    compiled.set(id, fn);
  }
  return fn;
}

/** Evaluates one constraint on `node`, whose definition is at `base` (`Patient.contact`, `Period`). */
export function evaluateInvariant(base: string, constraint: Constraint, node: unknown, scope: InvariantScope): InvariantResult {
  if (isObject(node) && plainlyHolds(constraint.key, constraint.expression, node)) {
    return { outcome: 'pass' };
  }
  return evaluateWithEngine(base, constraint, node, scope);
}

/** Evaluates one constraint with the FHIRPath engine alone (no shortcut). */
export function evaluateWithEngine(base: string, constraint: Constraint, node: unknown, scope: InvariantScope): InvariantResult {
  const fn = compiledConstraint(base, constraint);
  if (fn instanceof Error) {
    return { outcome: 'unknown', reason: `its expression could not be compiled (${fn.message})` };
  }
  scopeInUse = scope;
  unresolved = false;
  traced = [];
  try {
    const env = { resource: scope.resource, rootResource: scope.rootResource };
    // One true operand of a top-level `or` decides (the HL7 engine short-circuits too); anything
    // else is judged on the whole expression, which also gives the traces of a failure.
    if (fn.operands.some((operand) => isTrue(operand(node, env)))) {
      return { outcome: 'pass' };
    }
    unresolved = false;
    traced = [];
    const result = fn.whole(node, env);
    if (isTrue(result)) {
      return { outcome: 'pass' };
    }
    if (unresolved) {
      return { outcome: 'unknown', reason: 'it needs a referenced resource that is neither contained nor in the Bundle' };
    }
    return { outcome: 'fail', unmatched: traced.map(plainValue) };
  } catch (err) {
    return { outcome: 'unknown', reason: `the FHIRPath engine could not evaluate it (${err instanceof Error ? err.message : String(err)})` };
  } finally {
    scopeInUse = undefined;
  }
}

/** A single boolean `true`: the only result by which an invariant holds. */
function isTrue(result: unknown[]): boolean {
  return result.length === 1 && result[0] === true;
}
