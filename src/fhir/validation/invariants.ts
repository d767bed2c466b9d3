/**
 * The invariants declared on data types (Period per-1, Reference ref-1, Range rng-2, Quantity
 * qty-3, …). Medplum evaluates only those repeated on the element definition, so a Period inside
 * a backbone element would go unchecked; here each complex value is checked against its type's
 * own constraints. See: https://hl7.org/fhir/R4/datatypes.html
 */
import { UCUM, evalFhirPathTyped, parseFhirPath } from '@medplum/core';
import type { FhirPathAtom, InternalSchemaElement, InternalTypeSchema, TypedValue } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { timeRange } from './dates';
import { makeIssue } from './issues';
import { isObject } from './json';
import type { JsonObject } from './json';

/** The resource an invariant is evaluated in: %resource and %rootResource. */
export interface ResourceContext {
  resource: TypedValue;
  /** The resource that contains this one, or itself (%rootResource). */
  rootResource: TypedValue;
}

/** A complex value's place: the element defining it, its path, its resource. */
export interface InvariantSite {
  element?: InternalSchemaElement;
  path: string;
  ctx: ResourceContext;
}

/** Data types whose invariants are not evaluated here (regex-heavy, and only in conformance resources). */
const SKIPPED_TYPE_INVARIANTS = new Set(['ElementDefinition']);
const SKIPPED_CONSTRAINT_KEYS = new Set(['ele-1']);
const fhirPathAtoms = new Map<string, FhirPathAtom | null>();
const UCUM_VALUE: TypedValue = { type: 'uri', value: UCUM };

/** A constraint's expression, parsed once per process; undefined when Medplum cannot parse it. */
function fhirPath(expression: string): FhirPathAtom | undefined {
  let atom = fhirPathAtoms.get(expression);
  if (atom === undefined) {
    try {
      atom = parseFhirPath(expression);
    } catch {
      atom = null;
    }
    fhirPathAtoms.set(expression, atom);
  }
  return atom ?? undefined;
}

/**
 * Invariants evaluated in code rather than with Medplum's FHIRPath engine, which compares dates
 * as strings (2024-06-01T10:00:00+02:00 > 2024-06-01T09:00:00Z) and quantities without units.
 */
const NATIVE_INVARIANTS: Record<string, (value: JsonObject, ctx: ResourceContext) => boolean> = {
  // Period: start <= end, unless the order cannot be decided (precision, time zones).
  'per-1': (period) => {
    const start = typeof period.start === 'string' ? timeRange(period.start) : undefined;
    const end = typeof period.end === 'string' ? timeRange(period.end) : undefined;
    return !start || !end || start.low <= end.high;
  },
  // Range: low <= high, compared only when both use the same unit.
  'rng-2': (range) => {
    const low = range.low;
    const high = range.high;
    if (!isObject(low) || !isObject(high) || typeof low.value !== 'number' || typeof high.value !== 'number') {
      return true;
    }
    const unit = (q: JsonObject): unknown => q.code ?? q.unit;
    return unit(low) !== unit(high) || low.value <= high.value;
  },
  // Reference: a local reference "#id" needs a contained resource with that id (the most
  // frequent type invariant, so not left to FHIRPath). A bare "#" refers to the container.
  'ref-1': (reference, ctx) => {
    const target = reference.reference;
    if (typeof target !== 'string' || !target.startsWith('#') || target === '#') {
      return true;
    }
    const root: unknown = ctx.rootResource.value;
    const contained = isObject(root) ? root.contained : undefined;
    return Array.isArray(contained) && contained.some((c) => isObject(c) && c.id === target.slice(1));
  },
};

/** Appends to `issues` the error-level invariants of `schema` that `value` violates. */
export function checkTypeInvariants(
  value: JsonObject,
  schema: InternalTypeSchema,
  site: InvariantSite,
  issues: OperationOutcomeIssue[],
): void {
  const { element, path: p, ctx } = site;
  if (!schema.constraints || SKIPPED_TYPE_INVARIANTS.has(schema.name)) {
    return;
  }
  const typed: TypedValue = { type: schema.name, value };
  for (const constraint of schema.constraints) {
    if (
      constraint.severity !== 'error' ||
      SKIPPED_CONSTRAINT_KEYS.has(constraint.key) ||
      element?.constraints?.some((c) => c.key === constraint.key)
    ) {
      continue;
    }
    const native = NATIVE_INVARIANTS[constraint.key];
    let violated: boolean;
    if (native) {
      violated = !native(value, ctx);
    } else {
      const atom = fhirPath(constraint.expression);
      if (!atom) {
        continue;
      }
      try {
        const result = evalFhirPathTyped(atom, [typed], {
          '%context': typed,
          '%ucum': UCUM_VALUE,
          '%resource': ctx.resource,
          '%rootResource': ctx.rootResource,
        });
        // Only a definite false is a violation; an empty result means "cannot tell".
        violated = result.length === 1 && result[0]?.value === false;
      } catch {
        continue; // malformed content that the earlier stages report
      }
    }
    if (violated) {
      const message = `Constraint ${constraint.key} not met: ${constraint.description}`;
      issues.push(
        makeIssue({
          type: 'invariant',
          message,
          diagnostics: `${message} (FHIRPath: ${constraint.expression})`,
          expression: [p],
        }),
      );
    }
  }
}
