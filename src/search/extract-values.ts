/**
 * What each FHIR data type contributes to a search parameter of each type, as plain values.
 * See the tables in https://hl7.org/fhir/R4/search.html (string, token, reference, date, number,
 * quantity, uri): e.g. a CodeableConcept is a token for each of its codings plus its text.
 */
import type { TypedValue } from '@medplum/core';
import type { DateRange } from './date-range';
import { MAX_INSTANT, MIN_INSTANT, parseDateRange } from './date-range';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.flatMap((v) => (typeof v === 'string' && v !== '' ? [v] : [])) : [];
}

function objects(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

const STRING_PRIMITIVES = new Set([
  'string', 'markdown', 'code', 'id', 'uri', 'url', 'canonical', 'oid', 'uuid',
]);

/** Text values for a string parameter. HumanName and Address give every part and the text. */
export function stringValues(tv: TypedValue): string[] {
  const v: unknown = tv.value;
  if (STRING_PRIMITIVES.has(tv.type) || typeof v === 'string') {
    return typeof v === 'string' && v !== '' ? [v] : [];
  }
  if (!isObject(v)) {
    return [];
  }
  switch (tv.type) {
    case 'HumanName': {
      const given = strings(v.given);
      const family = str(v.family);
      const parts = [...strings(v.prefix), ...given, ...(family ? [family] : []), ...strings(v.suffix)];
      const text = str(v.text) ?? (parts.length > 1 ? [...given, ...(family ? [family] : [])].join(' ') : undefined);
      return [...parts, ...(text ? [text] : [])];
    }
    case 'Address':
      return [
        ...strings(v.line),
        ...[v.city, v.district, v.state, v.postalCode, v.country, v.text].flatMap((x) => (str(x) ? [x as string] : [])),
      ];
    case 'CodeableConcept':
      return [...(str(v.text) ? [v.text as string] : []), ...objects(v.coding).flatMap((c) => (str(c.display) ? [c.display as string] : []))];
    case 'Coding':
      return str(v.display) ? [v.display as string] : [];
    case 'Identifier':
    case 'ContactPoint':
      return str(v.value) ? [v.value as string] : [];
    case 'Reference':
      return str(v.display) ? [v.display as string] : [];
    case 'Annotation':
      return str(v.text) ? [v.text as string] : [];
    case 'Attachment':
      return str(v.title) ? [v.title as string] : [];
    default:
      return [];
  }
}

/** One token: a code with its system (undefined: no system) and the texts that describe it. */
export interface TokenValue {
  readonly system?: string;
  readonly code?: string;
  readonly texts: readonly string[];
  /** Identifier.type codings, for `:of-type`. */
  readonly types?: readonly { system?: string; code: string }[];
}

// Values are built in one object shape, absent members undefined: spreading optional members in
// (`...(x ? { x } : {})`) cloned objects on a slow path and made every reader megamorphic (the
// index of a 20-patient search's AuditEvent took 450 µs to extract with them, 262 without).

function coding(c: Json): TokenValue {
  const display = str(c.display);
  return { system: str(c.system), code: str(c.code), texts: display === undefined ? [] : [display], types: undefined };
}

/** Tokens of a value: Coding, CodeableConcept, Identifier, ContactPoint, and primitives. */
export function tokenValues(tv: TypedValue): TokenValue[] {
  const v: unknown = tv.value;
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') {
    return [{ system: undefined, code: String(v), texts: [], types: undefined }];
  }
  if (!isObject(v)) {
    return [];
  }
  switch (tv.type) {
    case 'Coding':
      return [coding(v)];
    case 'CodeableConcept': {
      const codings = objects(v.coding).map(coding);
      const text = str(v.text);
      return text ? [...codings, { system: undefined, code: undefined, texts: [text], types: undefined }] : codings;
    }
    case 'Identifier': {
      const type = isObject(v.type) ? v.type : undefined;
      const types = objects(type?.coding).flatMap((c) => {
        const code = str(c.code);
        return code === undefined ? [] : [{ system: str(c.system), code }];
      });
      const texts = [type?.text, ...objects(type?.coding).map((c) => c.display)].flatMap((t) => (str(t) ? [t as string] : []));
      return [{ system: str(v.system), code: str(v.value), texts, types }];
    }
    case 'ContactPoint':
      return [{ system: str(v.system), code: str(v.value), texts: [], types: undefined }];
    default:
      return [];
  }
}

/** A reference value: the literal reference (before base normalisation) and/or an identifier. */
export interface ReferenceValue {
  readonly reference?: string;
  /** Reference.type, when given. */
  readonly type?: string;
  readonly identifier?: { system?: string; value: string };
  /** A canonical (`url|version`) or uri value rather than a Reference. */
  readonly canonical?: string;
}

export function referenceValues(tv: TypedValue): ReferenceValue[] {
  const v: unknown = tv.value;
  if (typeof v === 'string') {
    return v === '' ? [] : [{ reference: undefined, type: undefined, identifier: undefined, canonical: v }];
  }
  if (!isObject(v)) {
    return [];
  }
  if (typeof v.resourceType === 'string' && typeof v.id === 'string') {
    return [{ reference: `${v.resourceType}/${v.id}`, type: v.resourceType, identifier: undefined, canonical: undefined }];
  }
  const identifierValue = isObject(v.identifier) ? str(v.identifier.value) : undefined;
  const identifier = identifierValue === undefined ? undefined : { system: str((v.identifier as Json).system), value: identifierValue };
  const reference = str(v.reference);
  if (!reference && !identifier) {
    return [];
  }
  return [{ reference, type: str(v.type), identifier, canonical: undefined }];
}

function outerRange(ranges: readonly DateRange[]): { lo: string; hi: string } | undefined {
  if (ranges.length === 0) {
    return undefined;
  }
  let lo = MAX_INSTANT;
  let hi = MIN_INSTANT;
  for (const r of ranges) {
    lo = r.lo < lo ? r.lo : lo;
    hi = r.hi > hi ? r.hi : hi;
  }
  return { lo, hi };
}

/**
 * Date ranges of a value: date/dateTime/instant by precision; Period from start to end (open
 * ends unbounded); Timing as one range over its events and repeat.boundsPeriod ("only the outer
 * limits matter", search.html#date).
 */
export function dateValues(tv: TypedValue): { lo: string; hi: string }[] {
  const v: unknown = tv.value;
  if (typeof v === 'string') {
    const r = parseDateRange(v);
    return r ? [{ lo: r.lo, hi: r.hi }] : [];
  }
  if (!isObject(v)) {
    return [];
  }
  if (tv.type === 'Period') {
    const start = str(v.start) ? parseDateRange(v.start as string) : undefined;
    const end = str(v.end) ? parseDateRange(v.end as string) : undefined;
    return start || end ? [{ lo: start?.lo ?? MIN_INSTANT, hi: end?.hi ?? MAX_INSTANT }] : [];
  }
  if (tv.type === 'Timing') {
    const ranges = strings(v.event).flatMap((e) => parseDateRange(e) ?? []);
    const repeat = isObject(v.repeat) ? v.repeat : undefined;
    const bounds = isObject(repeat?.boundsPeriod) ? repeat.boundsPeriod : undefined;
    if (bounds) {
      const start = str(bounds.start) ? parseDateRange(bounds.start as string) : undefined;
      const end = str(bounds.end) ? parseDateRange(bounds.end as string) : undefined;
      ranges.push({ lo: start?.lo ?? MIN_INSTANT, hi: end?.hi ?? MAX_INSTANT, precision: 'L' });
    }
    const outer = outerRange(ranges);
    return outer ? [outer] : [];
  }
  return [];
}

/** Numbers of a value; a Range gives its low and high. */
export function numberValues(tv: TypedValue): number[] {
  const v: unknown = tv.value;
  if (typeof v === 'number') {
    return Number.isFinite(v) ? [v] : [];
  }
  if (isObject(v) && tv.type === 'Range') {
    return [v.low, v.high].flatMap((q) => (isObject(q) && typeof q.value === 'number' ? [q.value] : []));
  }
  return [];
}

export interface QuantityValue {
  readonly value: number;
  readonly system?: string;
  readonly code?: string;
  readonly unit?: string;
}

function quantity(q: Json): QuantityValue[] {
  if (typeof q.value !== 'number' || !Number.isFinite(q.value)) {
    return [];
  }
  return [{ value: q.value, system: str(q.system), code: str(q.code), unit: str(q.unit) }];
}

/** Quantities of a value: Quantity and its profiles, Money (ISO 4217), a Range's ends, numbers. */
export function quantityValues(tv: TypedValue): QuantityValue[] {
  const v: unknown = tv.value;
  if (typeof v === 'number') {
    return Number.isFinite(v) ? [{ value: v }] : [];
  }
  if (!isObject(v)) {
    return [];
  }
  if (tv.type === 'Range') {
    return [v.low, v.high].flatMap((q) => (isObject(q) ? quantity(q) : []));
  }
  if (tv.type === 'Money') {
    return quantity({ value: v.value, system: 'urn:iso:std:iso:4217', code: v.currency });
  }
  return quantity(v);
}

/** URIs of a value. */
export function uriValues(tv: TypedValue): string[] {
  return typeof tv.value === 'string' && tv.value !== '' ? [tv.value] : [];
}
