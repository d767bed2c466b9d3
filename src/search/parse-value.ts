/**
 * Parsing of one search value (one item of a comma-separated list) by parameter type.
 * Each function returns a typed value or throws FhirError('INVALID_SEARCH') naming the parameter.
 * See: https://hl7.org/fhir/R4/search.html#prefix, #escaping and the sections per type.
 */
import { isResourceType } from '../fhir/definitions';
import { FhirError, issue } from '../fhir/outcomes';
import { bucketOf, parseDateRange } from './date-range';
import { parseDecimal, toNumber } from './decimal';
import { foldText } from './normalize';
import type { ComponentType, SearchParameterDef } from './registry';
import type {
  ComponentValue,
  CompositeValue,
  DateValue,
  Modifier,
  NumberValue,
  Prefix,
  QuantityValue,
  ReferenceValue,
  StringValue,
  TokenValue,
  UriValue,
} from './request';

/** Where a value came from, for error messages and reference normalisation. */
export interface ValueContext {
  /** The parameter as written in the query. */
  readonly name: string;
  readonly baseUrl: string;
}

export function invalid(name: string, message: string): FhirError {
  return new FhirError('INVALID_SEARCH', message, { expression: [name] });
}

/** A 400 whose issue type is `not-supported` (a valid request we do not implement). */
export function notSupported(name: string, message: string): FhirError {
  return new FhirError('INVALID_SEARCH', message, {
    issues: [{ ...issue('INVALID_SEARCH', message, [name]), code: 'not-supported' }],
  });
}

// --- escaping (search.html#escaping) -----------------------------------------------------------

/** Splits on `separator` where it is not escaped by a backslash; the parts keep their escapes. */
export function splitUnescaped(value: string, separator: ',' | '$' | '|'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\\' && i + 1 < value.length) {
      current += c + (value[i + 1] as string);
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** Removes search escapes: `\,` `\$` `\|` `\\` become the character. */
export function unescapeValue(value: string): string {
  return value.replace(/\\([,$|\\])/g, '$1');
}

// --- prefixes ------------------------------------------------------------------------------------

const PREFIXED = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=[0-9+\-.])/;

function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const m = PREFIXED.exec(value);
  return m ? { prefix: m[1] as Prefix, rest: value.slice(2) } : { prefix: 'eq', rest: value };
}

// --- one function per type -----------------------------------------------------------------------

export function parseStringValue(raw: string): StringValue {
  const value = unescapeValue(raw);
  return { type: 'string', value, folded: foldText(value) };
}

export function parseTokenValue(raw: string, modifier: Modifier | undefined, ctx: ValueContext): TokenValue {
  if (modifier === 'text') {
    return { type: 'token', form: 'text', text: foldText(unescapeValue(raw)) };
  }
  const parts = splitUnescaped(raw, '|').map(unescapeValue);
  if (modifier === 'of-type') {
    const [typeSystem, typeCode, value] = parts;
    if (parts.length !== 3 || !typeSystem || !typeCode || !value) {
      throw invalid(ctx.name, `Parameter '${ctx.name}' needs the form system|code|value for :of-type, got '${raw}'`);
    }
    return { type: 'token', form: 'of-type', typeSystem, typeCode, value };
  }
  if (parts.length === 1) {
    return { type: 'token', form: 'code', code: parts[0] as string };
  }
  const [system = '', code = ''] = parts;
  if (parts.length !== 2 || (system === '' && code === '')) {
    throw invalid(ctx.name, `Parameter '${ctx.name}' has an invalid token '${raw}' (expected code, system|code, |code or system|)`);
  }
  if (system === '') {
    return { type: 'token', form: 'no-system', code };
  }
  return code === '' ? { type: 'token', form: 'system', system } : { type: 'token', form: 'system-code', system, code };
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RELATIVE = /^([A-Za-z]+)\/([^/]+)(?:\/_history\/([^/]+))?$/;

/** Reference values: `id`, `Type/id[/_history/v]`, absolute URLs, canonicals; `:Type`; `:identifier`. */
export function parseReferenceValue(
  raw: string,
  options: { def: SearchParameterDef; typeModifier?: string; identifier: boolean },
  ctx: ValueContext,
): ReferenceValue {
  if (options.identifier) {
    const identifier = parseTokenValue(raw, undefined, ctx);
    return { type: 'reference', form: 'identifier', identifier };
  }
  let value = unescapeValue(raw);
  if (ctx.baseUrl && value.startsWith(`${ctx.baseUrl}/`)) {
    value = value.slice(ctx.baseUrl.length + 1);
  }
  const typeModifier = options.typeModifier;
  const m = RELATIVE.exec(value);
  if (m && !value.includes(':')) {
    const [, resourceType = '', id = '', version] = m;
    if (!isResourceType(resourceType) || !ID.test(id) || (version !== undefined && !ID.test(version))) {
      throw invalid(ctx.name, `Parameter '${ctx.name}' has an invalid reference '${raw}'`);
    }
    if (typeModifier && typeModifier !== resourceType) {
      throw invalid(ctx.name, `Parameter '${ctx.name}' names type ${typeModifier} but the value is a ${resourceType} reference`);
    }
    checkTarget(resourceType, options.def, ctx);
    return { type: 'reference', form: 'local', resourceType, id, ...(version ? { version } : {}) };
  }
  if (ID.test(value)) {
    if (typeModifier) {
      return { type: 'reference', form: 'local', resourceType: typeModifier, id: value };
    }
    const [only] = options.def.targets;
    return options.def.targets.length === 1 && only
      ? { type: 'reference', form: 'local', resourceType: only, id: value }
      : { type: 'reference', form: 'id', id: value };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(value) && !typeModifier) {
    return { type: 'reference', form: 'url', url: value };
  }
  throw invalid(ctx.name, `Parameter '${ctx.name}' has an invalid reference '${raw}'`);
}

function checkTarget(resourceType: string, def: SearchParameterDef, ctx: ValueContext): void {
  if (def.targets.length > 0 && !def.targets.includes(resourceType)) {
    throw invalid(
      ctx.name,
      `Parameter '${ctx.name}' cannot reference ${resourceType} (targets: ${def.targets.join(', ')})`,
    );
  }
}

export function parseDateValue(raw: string, ctx: ValueContext): DateValue {
  const { prefix, rest } = splitPrefix(unescapeValue(raw));
  const range = parseDateRange(rest);
  if (!range) {
    throw invalid(
      ctx.name,
      `Parameter '${ctx.name}' has an invalid date '${raw}' (expected [prefix]yyyy[-mm[-dd[Thh:mm[:ss[.sss]][Z|±hh:mm]]]])`,
    );
  }
  return { type: 'date', prefix, lo: range.lo, hi: range.hi, precision: range.precision, bucket: bucketOf(range.precision, range.lo) };
}

export function parseNumberValue(raw: string, ctx: ValueContext): NumberValue {
  const { prefix, rest } = splitPrefix(unescapeValue(raw));
  const decimal = parseDecimal(rest);
  if (!decimal) {
    throw invalid(ctx.name, `Parameter '${ctx.name}' has an invalid number '${raw}' (expected [prefix]decimal)`);
  }
  return { type: 'number', prefix, value: toNumber(decimal), decimal };
}

/** `[prefix]number`, or `[prefix]number|system|code` (system may be empty). */
export function parseQuantityValue(raw: string, ctx: ValueContext): QuantityValue {
  const parts = splitUnescaped(raw, '|');
  if (parts.length !== 1 && parts.length !== 3) {
    throw invalid(ctx.name, `Parameter '${ctx.name}' has an invalid quantity '${raw}' (expected [prefix]number[|system|code])`);
  }
  const number = parseNumberValue(parts[0] as string, ctx);
  const base = { type: 'quantity' as const, prefix: number.prefix, value: number.value, decimal: number.decimal };
  if (parts.length === 1) {
    return base;
  }
  const system = unescapeValue(parts[1] as string);
  const code = unescapeValue(parts[2] as string);
  if (code === '') {
    if (system !== '') {
      throw invalid(ctx.name, `Parameter '${ctx.name}' has a system but no unit code in '${raw}'`);
    }
    return base;
  }
  return { ...base, ...(system ? { system } : {}), code };
}

export function parseUriValue(raw: string): UriValue {
  return { type: 'uri', uri: unescapeValue(raw) };
}

/** One value per component, split on unescaped `$`. Leading components allow equality only. */
export function parseCompositeValue(raw: string, def: SearchParameterDef, ctx: ValueContext): CompositeValue {
  const parts = splitUnescaped(raw, '$');
  if (parts.length !== def.components.length) {
    throw invalid(
      ctx.name,
      `Parameter '${ctx.name}' needs ${def.components.length} components separated by '$', got '${raw}'`,
    );
  }
  const components = def.components.map((component, i) => {
    const value = parseComponent(component.type, parts[i] as string, ctx);
    const leading = i < def.components.length - 1;
    if (leading) {
      checkLeadingComponent(value, ctx);
    }
    return value;
  });
  return { type: 'composite', components };
}

function parseComponent(type: ComponentType, raw: string, ctx: ValueContext): ComponentValue {
  switch (type) {
    case 'string':
      return parseStringValue(raw);
    case 'token':
      return parseTokenValue(raw, undefined, ctx);
    case 'reference': {
      // Matched by equality with a stored form: `Type/id` (our base stripped) or the URL.
      const value = unescapeValue(raw);
      const local = ctx.baseUrl && value.startsWith(`${ctx.baseUrl}/`) ? value.slice(ctx.baseUrl.length + 1) : value;
      return { type: 'reference', form: 'url', url: local };
    }
    case 'date':
      return parseDateValue(raw, ctx);
    case 'number':
      return parseNumberValue(raw, ctx);
    case 'quantity':
      return parseQuantityValue(raw, ctx);
    case 'uri':
      return parseUriValue(raw);
  }
}

/** Leading components are matched by equality of one stored form. */
function checkLeadingComponent(value: ComponentValue, ctx: ValueContext): void {
  if ((value.type === 'date' || value.type === 'number' || value.type === 'quantity') && value.prefix !== 'eq') {
    throw notSupported(ctx.name, `Parameter '${ctx.name}': a prefix is supported on the last component only`);
  }
  if (value.type === 'quantity' && value.code !== undefined) {
    throw notSupported(ctx.name, `Parameter '${ctx.name}': units are supported on the last component only`);
  }
  if (value.type === 'token' && value.form === 'system') {
    throw notSupported(ctx.name, `Parameter '${ctx.name}': system| is supported on the last component only`);
  }
}
