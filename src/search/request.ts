/**
 * The typed search request: what parseSearch produces from a query string, and what the store's
 * translator turns into database filters. Raw query text never goes further than the parser;
 * every value here is parsed and typed (ranges, precisions, token parts, reference forms).
 * See: https://hl7.org/fhir/R4/search.html
 */
import type { DatePrecision } from './date-range';
import type { DecimalValue } from './decimal';
import type { ComponentType, SearchParamType } from './registry';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

export type Modifier = 'exact' | 'contains' | 'text' | 'not' | 'of-type' | 'identifier' | 'below' | 'above';

/** String search: starts-with (default), `:exact` or `:contains`. */
export interface StringValue {
  readonly type: 'string';
  /** As written, for `:exact`. */
  readonly value: string;
  /** Folded (case, accents, spaces) for the default and `:contains`. */
  readonly folded: string;
}

/** Token search value, by form. */
export type TokenValue =
  | { readonly type: 'token'; readonly form: 'code'; readonly code: string }
  | { readonly type: 'token'; readonly form: 'system-code'; readonly system: string; readonly code: string }
  | { readonly type: 'token'; readonly form: 'no-system'; readonly code: string }
  | { readonly type: 'token'; readonly form: 'system'; readonly system: string }
  | { readonly type: 'token'; readonly form: 'text'; readonly text: string }
  | {
      readonly type: 'token';
      readonly form: 'of-type';
      readonly typeSystem: string;
      readonly typeCode: string;
      readonly value: string;
    };

/** Reference search value, by form. */
export type ReferenceValue =
  /** `Type/id` (or `id` with a `:Type` modifier), optionally version-specific. */
  | { readonly type: 'reference'; readonly form: 'local'; readonly resourceType: string; readonly id: string; readonly version?: string }
  /** `id` alone: any of the parameter's target types. */
  | { readonly type: 'reference'; readonly form: 'id'; readonly id: string }
  /** An absolute URL not on our base, or a canonical (`url` or `url|version`). */
  | { readonly type: 'reference'; readonly form: 'url'; readonly url: string }
  /** `:identifier` — a token on Reference.identifier. */
  | { readonly type: 'reference'; readonly form: 'identifier'; readonly identifier: TokenValue };

export interface DateValue {
  readonly type: 'date';
  readonly prefix: Prefix;
  /** The search value's range (UTC, inclusive ends) and precision. */
  readonly lo: string;
  readonly hi: string;
  readonly precision: DatePrecision;
  /** The bucket of the search value at its own precision (`M2024-06`). */
  readonly bucket: string;
}

export interface NumberValue {
  readonly type: 'number';
  readonly prefix: Prefix;
  readonly value: number;
  /** The exact decimal and its precision (`1.50` → 150 × 10^-2). */
  readonly decimal: DecimalValue;
}

export interface QuantityValue {
  readonly type: 'quantity';
  readonly prefix: Prefix;
  readonly value: number;
  readonly decimal: DecimalValue;
  /** `value|system|code`: both undefined when only a number was given; system undefined for `value||code`. */
  readonly system?: string;
  readonly code?: string;
}

export interface UriValue {
  readonly type: 'uri';
  readonly uri: string;
}

export type ComponentValue = StringValue | TokenValue | ReferenceValue | DateValue | NumberValue | QuantityValue | UriValue;

export interface CompositeValue {
  readonly type: 'composite';
  /** One value per component, in order. */
  readonly components: readonly ComponentValue[];
}

export type SearchValue = ComponentValue | CompositeValue;

interface ConditionBase {
  /** The parameter as written in the query (`name:exact`, `subject:Patient.name`). */
  readonly name: string;
  /** The value as written in the query (for Bundle.link). */
  readonly raw: string;
}

/** A condition on one parameter of the searched type: any of `values` (comma = OR). */
export interface ValueCondition extends ConditionBase {
  readonly kind: 'value';
  readonly code: string;
  readonly paramType: SearchParamType;
  readonly modifier?: Modifier;
  readonly values: readonly SearchValue[];
}

/** `:missing=true|false`. */
export interface MissingCondition extends ConditionBase {
  readonly kind: 'missing';
  readonly code: string;
  readonly missing: boolean;
}

/** `ref:Type.param=…`: resources whose `code` references a `targetType` matching `condition`. */
export interface ChainCondition extends ConditionBase {
  readonly kind: 'chain';
  readonly code: string;
  readonly targetType: string;
  readonly condition: SearchCondition;
}

/** `_has:Type:ref:param=…`: resources referenced through `code` by a `resourceType` matching `condition`. */
export interface HasCondition extends ConditionBase {
  readonly kind: 'has';
  readonly resourceType: string;
  readonly code: string;
  readonly condition: SearchCondition;
}

export type SearchCondition = ValueCondition | MissingCondition | ChainCondition | HasCondition;

/** `_include` / `_revinclude`: `resourceType:code[:targetType]`, `*` wildcards, `:iterate`. */
export interface IncludeTarget {
  /** Source type of the reference (`*`: any). */
  readonly resourceType: string;
  /** Reference parameter (`*`: every reference parameter). */
  readonly code: string;
  readonly targetType?: string;
  readonly iterate: boolean;
}

export interface SortRule {
  readonly code: string;
  readonly descending: boolean;
}

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';
export type TotalMode = 'none' | 'estimate' | 'accurate';

export interface UnknownParameter {
  readonly name: string;
  readonly value: string;
}

export interface SearchRequest {
  /** The searched type; undefined for a system-level search. */
  readonly resourceType?: string;
  /** System-level search: `_type` (empty: all types). */
  readonly types: readonly string[];
  /** Conditions; all must hold (a repeated parameter is AND). */
  readonly conditions: readonly SearchCondition[];
  readonly include: readonly IncludeTarget[];
  readonly revinclude: readonly IncludeTarget[];
  readonly sort: readonly SortRule[];
  /** Page size: the default, or `_count` capped at the maximum; 0 asks for no entries. */
  readonly count: number;
  readonly offset: number;
  readonly total?: TotalMode;
  readonly summary?: SummaryMode;
  readonly elements?: readonly string[];
  /** Lenient handling: parameters that were ignored (report them in an OperationOutcome entry). */
  readonly unknown: readonly UnknownParameter[];
}

export type { ComponentType, SearchParamType };
