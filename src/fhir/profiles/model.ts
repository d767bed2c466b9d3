/**
 * A profile compiled from its differential: a tree of element rules, each holding only what the
 * differential says about the element (min/max, fixed[x]/pattern[x], a required binding, type
 * and reference-target restrictions, FHIRPath invariants) and, when the element is sliced, its
 * slices. What the differential does not say is the base definition's business, which the
 * base validation (src/fhir/validation) already checks.
 * See: https://hl7.org/fhir/R4/profiling.html and https://hl7.org/fhir/R4/elementdefinition.html
 */
import type { FhirPathAtom } from '@medplum/core';

/** How a slice is recognised. Only `value` and `pattern` discriminators are supported. */
export interface Discriminator {
  readonly type: 'value' | 'pattern';
  /** `$this`, or a dotted path of element names below the sliced element (`url`, `coding.system`). */
  readonly path: string;
}

export interface Slicing {
  readonly discriminators: readonly Discriminator[];
  readonly rules: 'open' | 'closed' | 'openAtEnd';
}

/** A value an element must have: exactly (fixed[x]) or at least (pattern[x]). */
export interface ValueConstraint {
  readonly kind: 'fixed' | 'pattern';
  /** The FHIR type of the value (`CodeableConcept`, `code`, `uri`). */
  readonly type: string;
  readonly value: unknown;
}

/** An allowed type of an element, with the resource types a Reference of that type may point to. */
export interface TypeRule {
  readonly code: string;
  /** Resource types named by targetProfile (empty: any). */
  readonly targetTypes: readonly string[];
  /** Profiles named by type.profile (an extension slice's definition URL). */
  readonly profiles: readonly string[];
}

/** A required binding to a value set CaseBridge can expand: `system|code` pairs. */
export interface BindingRule {
  readonly valueSet: string;
  readonly codes: ReadonlySet<string>;
  /** The codes alone, for `code`-typed elements (whose system is implicit). */
  readonly bareCodes: ReadonlySet<string>;
}

export interface InvariantRule {
  readonly key: string;
  readonly severity: 'error' | 'warning';
  readonly human: string;
  readonly expression: string;
  /** Parsed once when the profile is compiled. */
  readonly atom: FhirPathAtom;
}

export interface ElementRule {
  /** ElementDefinition.id, e.g. `CarePlan.category:AssessPlan`. */
  readonly id: string;
  /** The element's name in its parent (`category`, `value[x]`); the resource type for the root. */
  readonly name: string;
  readonly sliceName?: string;
  /** The FHIR types an occurrence of this element can have (from the base definition, narrowed by `types`). */
  readonly baseTypes: readonly string[];
  min?: number;
  max?: number;
  value?: ValueConstraint;
  types?: readonly TypeRule[];
  binding?: BindingRule;
  readonly invariants: InvariantRule[];
  /** Rules of child elements, by name. */
  readonly children: Map<string, ElementRule>;
  slicing?: Slicing;
  /** Slices of this element, in differential order. */
  readonly slices: ElementRule[];
  /** For a slice: what an occurrence must hold to belong to it, one entry per discriminator. */
  match?: readonly SliceMatch[];
}

/** The value a slice's members hold at a discriminator path. */
export interface SliceMatch {
  readonly path: string;
  readonly constraint: ValueConstraint;
}

export interface CompiledProfile {
  readonly url: string;
  readonly version?: string;
  /** The computable name (`CBServicePlan`), for messages. */
  readonly name: string;
  /** The constrained resource type. */
  readonly type: string;
  readonly root: ElementRule;
}
