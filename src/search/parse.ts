/**
 * Query string → typed SearchRequest (and back, for Bundle.link).
 *
 * Written here rather than with @medplum/core's parseSearchRequest, whose gotchas (unknown
 * parameters and `_sort` keys pass silently, `_count=abc` is NaN, `subject:Patient=1` loses its
 * type, chains and `_has` are left raw) would each need a patch on top.
 *
 * - Comma is OR within one parameter; a repeated parameter is AND (one condition per occurrence).
 * - An unknown parameter is an error with `strict` (Prefer: handling=strict), otherwise it is
 *   collected in `unknown` for an OperationOutcome entry. An invalid value is always a 400.
 * See: https://hl7.org/fhir/R4/search.html
 */
import { isResourceType } from '../fhir/definitions';
import { FhirError } from '../fhir/outcomes';
import {
  invalid,
  notSupported,
  parseCompositeValue,
  parseDateValue,
  parseNumberValue,
  parseQuantityValue,
  parseReferenceValue,
  parseStringValue,
  parseTokenValue,
  parseUriValue,
  splitUnescaped,
} from './parse-value';
import type { ValueContext } from './parse-value';
import { nonNegativeInteger, oneOf, parseElements, parseInclude, parseSort, parseTypes } from './parse-result';
import type { SearchParameterDef, SearchParameterRegistry } from './registry';
import type {
  IncludeTarget,
  Modifier,
  SearchCondition,
  SearchRequest,
  SearchValue,
  SortRule,
  SummaryMode,
  TotalMode,
  UnknownParameter,
} from './request';

export type * from './request';
export { conditionKey, formatSearch } from './format';

export interface SearchOptions {
  /** Prefer: handling=strict — an unknown parameter is a 400 instead of being ignored. */
  strict: boolean;
  defaultCount: number;
  maxCount: number;
  /** Our FHIR base URL: references on it are taken as local. */
  baseUrl: string;
}

/** A query as a multimap in query order (Express 5 gives `string | string[]`). */
export type SearchQuery = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Chains and `_has` nest at most this deep. */
const MAX_DEPTH = 4;

const SUMMARY_MODES: readonly SummaryMode[] = ['true', 'text', 'data', 'count', 'false'];
const TOTAL_MODES: readonly TotalMode[] = ['none', 'estimate', 'accurate'];
const IGNORED = new Set(['_format', '_pretty']);
const SINGLE = new Set(['_count', '_offset', '_sort', '_total', '_summary', '_elements', '_type']);
const MODIFIERS: Record<SearchParameterDef['type'], readonly Modifier[]> = {
  string: ['exact', 'contains'],
  token: ['not', 'text', 'of-type'],
  reference: ['identifier'],
  uri: ['below', 'above'],
  date: [],
  number: [],
  quantity: [],
  composite: [],
};
const UNSUPPORTED_MODIFIERS: Partial<Record<SearchParameterDef['type'], readonly string[]>> = {
  token: ['in', 'not-in', 'above', 'below'],
  reference: ['above', 'below', 'text'],
  string: ['text'],
};
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
/**
 * What a parameter name can be: codes, `:modifier`s, `.` chains and `_has:` parts. Anything else
 * (`name[$ne]`, `$where`) names no parameter, not even an unknown one: ignoring it would widen
 * the search to everything, so it is an invalid request whatever the handling preference.
 */
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_\-.:]*$/;

/** Thrown inside the parser for an unknown parameter; the caller decides strict or lenient. */
class UnknownParameterError extends Error {}

interface Scope {
  /** Types the parameter applies to (one for a type-level search, `_type` for system-level). */
  readonly types: readonly string[];
  readonly registry: SearchParameterRegistry;
  readonly baseUrl: string;
  readonly depth: number;
  /** The query parameter as written (errors name it, also for a part of a chain or _has). */
  readonly param: string;
}

/** The definition of `code` for every type of the scope (system search: the types must agree). */
function lookup(scope: Scope, code: string, name: string): SearchParameterDef {
  const defs = scope.types.map((t) => scope.registry.get(t, code));
  const [first] = defs;
  if (!first || defs.some((d) => !d)) {
    throw new UnknownParameterError(name);
  }
  if (defs.length === 1) {
    return first;
  }
  if (defs.some((d) => d?.type !== first.type)) {
    throw invalid(scope.param, `Parameter '${scope.param}': '${code}' has different types on the searched resource types`);
  }
  return { ...first, targets: [...new Set(defs.flatMap((d) => d?.targets ?? []))] };
}

/**
 * Parses a search. `resourceType` undefined is a system-level search (`GET [base]?…`), where only
 * parameters common to every `_type` (or to all types) may be used.
 */
export function parseSearch(
  resourceType: string | undefined,
  query: SearchQuery,
  registry: SearchParameterRegistry,
  options: SearchOptions,
): SearchRequest {
  if (resourceType !== undefined && !isResourceType(resourceType)) {
    throw new FhirError('UNKNOWN_TYPE', `Unknown resource type '${resourceType}'`);
  }
  const entries = Object.entries(query).flatMap(([name, v]) =>
    (typeof v === 'string' ? [v] : (v ?? [])).map((value) => ({ name, value })),
  );
  const seen = new Set<string>();
  for (const { name } of entries) {
    if (!PARAMETER_NAME.test(name)) {
      throw invalid(name, `'${name}' is not a search parameter name (letters, digits, '_', '-', '.' and ':' only)`);
    }
    if (SINGLE.has(name) && seen.has(name)) {
      throw invalid(name, `Parameter '${name}' may appear only once`);
    }
    seen.add(name);
  }
  const typeValue = entries.find((e) => e.name === '_type')?.value;
  const types = resourceType !== undefined ? [] : parseTypes(typeValue, registry);
  const scope: Scope = {
    types: resourceType !== undefined ? [resourceType] : types.length > 0 ? types : registry.resourceTypes(),
    registry,
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    depth: 0,
    param: '',
  };
  const result: {
    conditions: SearchCondition[];
    include: IncludeTarget[];
    revinclude: IncludeTarget[];
    sort: SortRule[];
    unknown: UnknownParameter[];
  } = { conditions: [], include: [], revinclude: [], sort: [], unknown: [] };
  let count = options.defaultCount;
  let offset = 0;
  let total: TotalMode | undefined;
  let summary: SummaryMode | undefined;
  let elements: string[] | undefined;

  for (const { name, value } of entries) {
    switch (name) {
      case '_type':
        if (resourceType !== undefined) {
          throw invalid(name, `Parameter '_type' is only allowed in a system-level search`);
        }
        continue;
      case '_count':
        count = Math.min(nonNegativeInteger(name, value), options.maxCount);
        continue;
      case '_offset':
        offset = nonNegativeInteger(name, value);
        continue;
      case '_sort':
        result.sort.push(...parseSort(value, (code) => sortable(scope, code)));
        continue;
      case '_total':
        total = oneOf(name, value, TOTAL_MODES);
        continue;
      case '_summary':
        summary = oneOf(name, value, SUMMARY_MODES);
        continue;
      case '_elements':
        elements = parseElements(value);
        continue;
      case '_include':
      case '_include:iterate':
      case '_revinclude':
      case '_revinclude:iterate': {
        const target = parseInclude(name, value, registry);
        (name.startsWith('_include') ? result.include : result.revinclude).push(target);
        continue;
      }
      case '_contained':
      case '_containedType':
        if (!(name === '_contained' && value === 'false')) {
          throw notSupported(name, `Parameter '${name}' is not supported`);
        }
        continue;
    }
    if (IGNORED.has(name)) {
      continue;
    }
    try {
      const condition = parseCondition(name, value, { ...scope, param: name });
      if (condition) {
        result.conditions.push(condition);
      }
    } catch (err) {
      if (!(err instanceof UnknownParameterError)) {
        throw err;
      }
      if (options.strict) {
        throw new FhirError('UNKNOWN_SEARCH_PARAMETER', unknownMessage(name, err.message, resourceType), {
          expression: [name],
        });
      }
      result.unknown.push({ name, value });
    }
  }
  return {
    ...(resourceType !== undefined ? { resourceType } : {}),
    types,
    conditions: result.conditions,
    include: result.include,
    revinclude: result.revinclude,
    sort: result.sort,
    count,
    offset,
    ...(total ? { total } : {}),
    ...(summary ? { summary } : {}),
    ...(elements ? { elements } : {}),
    unknown: result.unknown,
  };
}

/** A parameter of every type in the scope, with a sort key (composites have none). */
function sortable(scope: Scope, code: string): boolean {
  try {
    return lookup({ ...scope, param: '_sort' }, code, code).type !== 'composite';
  } catch {
    return false;
  }
}

function unknownMessage(name: string, inner: string, resourceType: string | undefined): string {
  const where = resourceType ?? 'a system-level search';
  return inner === name
    ? `Unknown search parameter '${name}' for ${where}`
    : `Unknown search parameter '${inner}' in '${name}' for ${where}`;
}

// --- conditions ------------------------------------------------------------------------------------

/** One query occurrence → one condition (undefined when its value is empty: ignored). */
function parseCondition(name: string, raw: string, scope: Scope): SearchCondition | undefined {
  if (scope.depth > MAX_DEPTH) {
    throw invalid(scope.param, `Parameter '${scope.param}' nests chains or _has deeper than ${MAX_DEPTH}`);
  }
  if (name.startsWith('_has:')) {
    return parseHas(name, raw, scope);
  }
  const dot = name.indexOf('.');
  if (dot >= 0) {
    return parseChain(name, raw, scope);
  }
  const colon = name.indexOf(':');
  const code = colon >= 0 ? name.slice(0, colon) : name;
  const modifier = colon >= 0 ? name.slice(colon + 1) : undefined;
  const def = lookup(scope, code, name);
  if (modifier === 'missing') {
    if (raw !== 'true' && raw !== 'false') {
      throw invalid(scope.param, `Parameter '${scope.param}' must be true or false, got '${raw}'`);
    }
    return { kind: 'missing', name, raw, code, missing: raw === 'true' };
  }
  const { parsedModifier, typeModifier } = checkModifier(def, modifier, scope.param);
  const items = splitUnescaped(raw, ',').filter((item) => item !== '');
  if (items.length === 0) {
    return undefined;
  }
  const ctx: ValueContext = { name: scope.param, baseUrl: scope.baseUrl };
  const values = items.map((item) => parseValue({ def, item, modifier: parsedModifier, typeModifier }, ctx));
  return {
    kind: 'value',
    name,
    raw,
    code,
    paramType: def.type,
    ...(parsedModifier ? { modifier: parsedModifier } : {}),
    values,
  };
}

function checkModifier(
  def: SearchParameterDef,
  modifier: string | undefined,
  name: string,
): { parsedModifier?: Modifier; typeModifier?: string } {
  if (modifier === undefined) {
    return {};
  }
  if ((MODIFIERS[def.type] as readonly string[]).includes(modifier)) {
    return { parsedModifier: modifier as Modifier };
  }
  if (def.type === 'reference' && isResourceType(modifier)) {
    if (def.targets.length > 0 && !def.targets.includes(modifier)) {
      throw invalid(name, `Parameter '${name}': ${def.code} cannot reference ${modifier} (targets: ${def.targets.join(', ')})`);
    }
    return { typeModifier: modifier };
  }
  if (UNSUPPORTED_MODIFIERS[def.type]?.includes(modifier)) {
    throw notSupported(name, `Modifier ':${modifier}' is not supported (parameter '${name}')`);
  }
  throw invalid(name, `Parameter '${name}': unknown modifier ':${modifier}' for a ${def.type} parameter`);
}

function parseValue(
  args: { def: SearchParameterDef; item: string; modifier?: Modifier; typeModifier?: string },
  ctx: ValueContext,
): SearchValue {
  const { def, item, modifier } = args;
  switch (def.type) {
    case 'string':
      return parseStringValue(item);
    case 'token': {
      const value = parseTokenValue(item, modifier, ctx);
      if (def.code === '_id' && (value.form !== 'code' || !ID.test(value.code))) {
        throw invalid(ctx.name, `Parameter '${ctx.name}' has an invalid id '${item}'`);
      }
      return value;
    }
    case 'reference':
      return parseReferenceValue(
        item,
        { def, identifier: modifier === 'identifier', ...(args.typeModifier ? { typeModifier: args.typeModifier } : {}) },
        ctx,
      );
    case 'date':
      return parseDateValue(item, ctx);
    case 'number':
      return parseNumberValue(item, ctx);
    case 'quantity':
      return parseQuantityValue(item, ctx);
    case 'uri':
      return parseUriValue(item);
    case 'composite':
      return parseCompositeValue(item, def, ctx);
  }
}

/**
 * `ref[:Type].rest=value`. Without `:Type` the target is the one type among the parameter's
 * targets that has the next parameter; none is an unknown parameter, several is a 400.
 * See: https://hl7.org/fhir/R4/search.html#chaining
 */
function parseChain(name: string, raw: string, scope: Scope): SearchCondition | undefined {
  const dot = name.indexOf('.');
  const head = name.slice(0, dot);
  const rest = name.slice(dot + 1);
  const colon = head.indexOf(':');
  const code = colon >= 0 ? head.slice(0, colon) : head;
  const typeModifier = colon >= 0 ? head.slice(colon + 1) : undefined;
  const def = lookup(scope, code, name);
  if (def.type !== 'reference') {
    throw invalid(scope.param, `Parameter '${scope.param}': '${code}' is not a reference parameter and cannot be chained`);
  }
  if (typeModifier !== undefined && (!isResourceType(typeModifier) || (def.targets.length > 0 && !def.targets.includes(typeModifier)))) {
    throw invalid(scope.param, `Parameter '${scope.param}': '${typeModifier}' is not a target type of '${code}'`);
  }
  if (rest === '') {
    throw invalid(scope.param, `Parameter '${scope.param}' has an empty chain`);
  }
  const nextCode = rest.startsWith('_has:') ? '_has' : (rest.split(/[.:]/)[0] ?? '');
  const candidates = typeModifier !== undefined ? [typeModifier] : def.targets;
  const targets = candidates.filter((t) => nextCode === '_has' || scope.registry.get(t, nextCode) !== undefined);
  if (targets.length === 0) {
    throw new UnknownParameterError(rest);
  }
  if (targets.length > 1) {
    throw invalid(
      name,
      `Parameter '${name}' is ambiguous: '${nextCode}' exists on ${targets.join(', ')}; name the type, e.g. '${code}:${targets[0]}.${rest}'`,
    );
  }
  const targetType = targets[0] as string;
  const condition = parseCondition(rest, raw, { ...scope, types: [targetType], depth: scope.depth + 1 });
  return condition ? { kind: 'chain', name, raw, code, targetType, condition } : undefined;
}

/**
 * `_has:Type:ref:rest=value`: resources that a `Type` references through `ref`, where the `Type`
 * matches `rest=value` (which may itself be a chain or another `_has`).
 * See: https://hl7.org/fhir/R4/search.html#has
 */
function parseHas(name: string, raw: string, scope: Scope): SearchCondition | undefined {
  const [, resourceType = '', code = '', ...restParts] = name.split(':');
  const rest = restParts.join(':');
  if (!isResourceType(resourceType) || code === '' || rest === '') {
    throw invalid(scope.param, `Parameter '${scope.param}' must be _has:Type:reference:parameter`);
  }
  if (scope.types.length !== 1) {
    throw notSupported(scope.param, `Parameter '${scope.param}': _has is not supported in a system-level search`);
  }
  const def = scope.registry.get(resourceType, code);
  const outer = scope.types[0] as string;
  if (!def || def.type !== 'reference') {
    throw invalid(scope.param, `Parameter '${scope.param}': '${code}' is not a reference parameter of ${resourceType}`);
  }
  if (def.targets.length > 0 && !def.targets.includes(outer)) {
    throw invalid(scope.param, `Parameter '${scope.param}': ${resourceType}.${code} cannot reference ${outer}`);
  }
  const condition = parseCondition(rest, raw, { ...scope, types: [resourceType], depth: scope.depth + 1 });
  return condition ? { kind: 'has', name, raw, resourceType, code, condition } : undefined;
}
