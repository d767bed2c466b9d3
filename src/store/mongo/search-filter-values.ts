/**
 * One translator per search parameter type: a parsed condition's values → a MongoDB filter on
 * `idx.<code>.<key>` paths (docs/storage.md). Every filter puts each condition on ONE path, so it
 * is exact on FerretDB 1.x, whose array conditions are "any element" and uncorrelated (two
 * conditions on one array may be met by different elements; `$elemMatch` cannot tie them).
 *
 * "Exact" below means: the filter selects exactly the resources the FHIR definition selects
 * (a resource matches when any of its values matches). Where a definition needs two bounds of
 * one value (`ap`, a number whose precision is outside the stored roundings), the filter is
 * one `$elemMatch` on MongoDB (exact); on FerretDB it is two conditions, exact for a
 * single-valued parameter and a superset for a multi-valued one, which the translator reports
 * as approximate.
 */
import type {
  ComponentValue,
  CompositeValue,
  DateValue,
  Modifier,
  NumberValue,
  QuantityValue,
  ReferenceValue,
  StringValue,
  TokenValue,
  UriValue,
} from '../../search/request';
import { instantIso, instantMs, spanPattern } from '../../search/date-range';
import { MAX_ROUNDING_EXPONENT, MIN_ROUNDING_EXPONENT, implicitRange, roundingBucket, zeroBucketsUpTo } from '../../search/decimal';
import { KEY, compositePrefix, joinComponents, searchUnitForm, unitRoundingKey, unitValueKey } from '../../search/index-keys';
import { INDEXED_TEXT_LENGTH, clip, escapePart, escapeRegex, exactIndexed, tokenForm } from '../../search/normalize';

export type MongoFilter = Record<string, unknown>;

/** A translated condition and whether it is exact on FerretDB and MongoDB. */
export interface Translated {
  readonly filter: MongoFilter;
  readonly exact: boolean;
}

/** What a per-type translator needs to know about the parameter. */
export interface ParamContext {
  /** `idx.<code>.` — every path a translator writes starts with this. */
  readonly base: string;
  /** The parameter can have several values per resource (decides what is exact). */
  readonly multiple: boolean;
  /** Reference parameters: target types, for a bare `id`. */
  readonly targets: readonly string[];
  /** Instant used as "now" by date `ap`. */
  readonly now: Date;
  /**
   * Two bounds on one value become one `$elemMatch` (MongoDB): exact for a multi-valued
   * parameter too, and index-bounded on both sides. FerretDB keeps two conditions (below).
   */
  readonly elemMatch?: boolean;
}

/** `low ≤ value < high` (or `≤ high`) of ONE value: `$elemMatch` where supported, else two conditions that different values may meet. */
function between(path: string, low: number, high: { $lt: number } | { $lte: number }, p: ParamContext): Translated {
  if (p.elemMatch) {
    return { filter: { [path]: { $elemMatch: { $gte: low, ...high } } }, exact: true };
  }
  return { filter: { $and: [{ [path]: { $gte: low } }, { [path]: high }] }, exact: !p.multiple };
}

export function anyOf(filters: readonly MongoFilter[]): MongoFilter {
  return filters.length === 1 ? (filters[0] as MongoFilter) : { $or: [...filters] };
}

export function allOf(filters: readonly MongoFilter[]): MongoFilter {
  return filters.length === 1 ? (filters[0] as MongoFilter) : { $and: [...filters] };
}

/** Equalities grouped by path: `{p: v}` or `{p: {$in: […]}}`, OR-ed across paths. */
function equalities(pairs: readonly [string, string][]): MongoFilter {
  const byPath = new Map<string, string[]>();
  for (const [path, value] of pairs) {
    const list = byPath.get(path) ?? [];
    if (!list.includes(value)) list.push(value);
    byPath.set(path, list);
  }
  return anyOf([...byPath].map(([path, values]) => ({ [path]: values.length === 1 ? values[0] : { $in: values } })));
}

/** `:not`: no stored form equals any of the values (also true when the parameter is absent). */
function noneOf(pairs: readonly [string, string][]): MongoFilter {
  const byPath = new Map<string, string[]>();
  for (const [path, value] of pairs) {
    byPath.set(path, [...(byPath.get(path) ?? []), value]);
  }
  return allOf([...byPath].map(([path, values]) => ({ [path]: values.length === 1 ? { $ne: values[0] } : { $nin: values } })));
}

/** The values that start with `prefix` (an anchored pattern, which indexes narrow). */
function startsWith(prefix: string): { $regex: string } {
  return { $regex: `^${escapeRegex(prefix)}` };
}

function prefixRegex(path: string, prefix: string): MongoFilter {
  return { [path]: startsWith(prefix) };
}

// --- string ---------------------------------------------------------------------------------------

/** Starts-with on folded values (default), `:contains`, `:exact` on values as written. */
export function stringFilter(values: readonly StringValue[], modifier: Modifier | undefined, p: ParamContext): Translated {
  if (modifier === 'exact') {
    return { filter: equalities(values.map((v) => [p.base + KEY.stringExact, exactIndexed(v.value)])), exact: true };
  }
  const path = p.base + KEY.stringFolded;
  const filters = values.map((v) => {
    // The index keeps INDEXED_TEXT_LENGTH characters of a value (search/normalize.ts).
    const kept = clip(v.folded, INDEXED_TEXT_LENGTH);
    return modifier === 'contains' ? { [path]: { $regex: escapeRegex(kept) } } : prefixRegex(path, kept);
  });
  return { filter: anyOf(filters), exact: values.every((v) => v.folded.length <= INDEXED_TEXT_LENGTH) };
}

// --- token ----------------------------------------------------------------------------------------

/** The stored form a token value equals, or (`system|`) starts with. */
function tokenForms(v: TokenValue, base: string): { path: string; equals?: string; startsWith?: string } | undefined {
  switch (v.form) {
    case 'code':
      return { path: base + KEY.tokenCode, equals: v.code };
    case 'system-code':
      return { path: base + KEY.tokenSystemCode, equals: tokenForm(v.system, v.code) };
    case 'no-system':
      return { path: base + KEY.tokenSystemCode, equals: tokenForm(undefined, v.code) };
    case 'system':
      // Every `t` form of the system starts so (its `|` inside the system is escaped).
      return { path: base + KEY.tokenSystemCode, startsWith: tokenForm(v.system, '') };
    case 'of-type':
      return { path: base + KEY.tokenOfType, equals: `${tokenForm(v.typeSystem, v.typeCode)}|${escapePart(v.value)}` };
    case 'text':
      return undefined;
  }
}

/** `code`, `system|code`, `|code`, `system|`; `:not`, `:text` (starts-with), `:of-type`. */
export function tokenFilter(values: readonly TokenValue[], modifier: Modifier | undefined, p: ParamContext): Translated {
  if (modifier === 'text') {
    const path = p.base + KEY.tokenText;
    const texts = values.map((v) => (v.form === 'text' ? v.text : ''));
    return { filter: anyOf(texts.map((text) => prefixRegex(path, clip(text, INDEXED_TEXT_LENGTH)))), exact: texts.every((text) => text.length <= INDEXED_TEXT_LENGTH) };
  }
  const forms = values.flatMap((v) => tokenForms(v, p.base) ?? []);
  const pairs = forms.flatMap((f): [string, string][] => (f.equals !== undefined ? [[f.path, f.equals]] : []));
  const prefixes = forms.flatMap((f) => (f.startsWith !== undefined ? [{ path: f.path, prefix: f.startsWith }] : []));
  if (modifier === 'not') {
    const none = prefixes.map(({ path, prefix }) => ({ [path]: { $not: startsWith(prefix) } }));
    return { filter: allOf(pairs.length > 0 ? [noneOf(pairs), ...none] : none), exact: true };
  }
  const some = prefixes.map(({ path, prefix }) => prefixRegex(path, prefix));
  return { filter: anyOf(pairs.length > 0 ? [equalities(pairs), ...some] : some), exact: true };
}

/** `_id` is the document's `_id`, not an `idx` path. */
export function idFilter(values: readonly TokenValue[], modifier: Modifier | undefined): Translated {
  const ids = values.flatMap((v) => (v.form === 'code' ? [v.code] : []));
  if (modifier === 'not') {
    return { filter: { _id: ids.length === 1 ? { $ne: ids[0] } : { $nin: ids } }, exact: true };
  }
  return { filter: { _id: ids.length === 1 ? ids[0] : { $in: ids } }, exact: true };
}

// --- reference ------------------------------------------------------------------------------------

/** Above this many target types a bare `id` is matched by a regex rather than `$in`. */
const MAX_ID_TARGETS = 32;

/** `Type/id`, bare `id` (any target type), absolute URL or canonical, `:identifier`. */
export function referenceFilter(values: readonly ReferenceValue[], p: ParamContext): Translated {
  const r = p.base + KEY.reference;
  const i = p.base + KEY.referenceIdentifier;
  const pairs: [string, string][] = [];
  const others: MongoFilter[] = [];
  for (const v of values) {
    switch (v.form) {
      case 'local':
        pairs.push([r, `${v.resourceType}/${v.id}${v.version ? `/_history/${v.version}` : ''}`]);
        break;
      case 'id':
        if (p.targets.length > 0 && p.targets.length <= MAX_ID_TARGETS) {
          p.targets.forEach((t) => pairs.push([r, `${t}/${v.id}`]));
        } else {
          others.push({ [r]: { $regex: `^[A-Za-z]+/${escapeRegex(v.id)}$` } });
        }
        break;
      case 'url':
        pairs.push([r, v.url]);
        break;
      case 'identifier':
        switch (v.identifier.form) {
          case 'code':
            pairs.push([i, escapePart(v.identifier.code)]);
            break;
          case 'no-system':
            pairs.push([i, tokenForm(undefined, v.identifier.code)]);
            break;
          case 'system-code':
            pairs.push([i, tokenForm(v.identifier.system, v.identifier.code)]);
            break;
          case 'system':
            others.push(prefixRegex(i, `${escapePart(v.identifier.system)}|`));
            break;
        }
        break;
    }
  }
  return { filter: anyOf([...(pairs.length > 0 ? [equalities(pairs)] : []), ...others]), exact: true };
}

// --- date -----------------------------------------------------------------------------------------

/** Share of the distance to "now" by which `ap` widens a date (search.html#prefix). */
const APPROXIMATE_SHARE = 0.1;

/**
 * One path per condition: eq → a span (`lo|hi` of one value) that fits in the search value's
 * period; otherwise one bound of the stored ranges: ne → some lo < low or some hi > high;
 * gt → hi > high; lt → lo < low; ge → hi ≥ low; le → lo ≤ high; sa → lo > high; eb → hi < low;
 * ap → overlap of the widened range (two bounds: exact only for a single-valued parameter).
 */
export function dateFilter(values: readonly DateValue[], p: ParamContext, prefix = ''): Translated {
  const lo = p.base + prefix + KEY.dateLow;
  const hi = p.base + prefix + KEY.dateHigh;
  const span = p.base + prefix + KEY.dateSpan;
  let exact = true;
  const filters = values.map((v): MongoFilter => {
    switch (v.prefix) {
      case 'eq':
        return { [span]: { $regex: spanPattern(v.precision, v.lo) } };
      case 'ne':
        return { $or: [{ [lo]: { $lt: v.lo } }, { [hi]: { $gt: v.hi } }] };
      case 'gt':
        return { [hi]: { $gt: v.hi } };
      case 'lt':
        return { [lo]: { $lt: v.lo } };
      case 'ge':
        return { [hi]: { $gte: v.lo } };
      case 'le':
        return { [lo]: { $lte: v.hi } };
      case 'sa':
        return { [lo]: { $gt: v.hi } };
      case 'eb':
        return { [hi]: { $lt: v.lo } };
      case 'ap': {
        exact &&= !p.multiple;
        const low = instantMs(v.lo);
        const high = instantMs(v.hi);
        const widen = Math.round(Math.abs(p.now.getTime() - (low + high) / 2) * APPROXIMATE_SHARE);
        return { $and: [{ [lo]: { $lte: instantIso(high + widen) } }, { [hi]: { $gte: instantIso(low - widen) } }] };
      }
    }
  });
  return { filter: anyOf(filters), exact };
}

// --- number and quantity --------------------------------------------------------------------------

interface NumberKeys {
  readonly value: string;
  readonly rounding: string;
}

/**
 * eq at the search value's precision 10^e: a value finer than e has its rounding stored in `b`
 * (`e:n`); a value as coarse as e or coarser rounds to itself, so `v` equals the search value.
 * Both cases are one path each: `{$or: [{b: 'e:n'}, {v: value}]}` is exact (for a zero search
 * value, any stored zero bucket at or below e: see storedRoundings). ne is "some value
 * outside the implicit range" (two paths, OR). gt/lt/ge/le/sa/eb ignore the precision.
 */
function numberCondition(v: NumberValue | QuantityValue, keys: NumberKeys, p: ParamContext): Translated {
  const range = implicitRange(v.decimal);
  const e = v.decimal.exponent;
  const outOfRoundings = e < MIN_ROUNDING_EXPONENT || e > MAX_ROUNDING_EXPONENT;
  switch (v.prefix) {
    case 'eq':
      return outOfRoundings
        ? between(keys.value, range.low, { $lt: range.high }, p)
        : {
            filter: {
              $or: [
                {
                  [keys.rounding]:
                    v.decimal.units === 0n ? { $in: zeroBucketsUpTo(e) } : roundingBucket(e, v.decimal.units),
                },
                { [keys.value]: v.value },
              ],
            },
            exact: true,
          };
    case 'ne':
      return { filter: { $or: [{ [keys.value]: { $lt: range.low } }, { [keys.value]: { $gte: range.high } }] }, exact: true };
    case 'gt':
    case 'sa':
      return { filter: { [keys.value]: { $gt: v.value } }, exact: true };
    case 'lt':
    case 'eb':
      return { filter: { [keys.value]: { $lt: v.value } }, exact: true };
    case 'ge':
      return { filter: { [keys.value]: { $gte: v.value } }, exact: true };
    case 'le':
      return { filter: { [keys.value]: { $lte: v.value } }, exact: true };
    case 'ap': {
      const delta = Math.max(Math.abs(v.value) * APPROXIMATE_SHARE, (range.high - range.low) / 2);
      return between(keys.value, v.value - delta, { $lte: v.value + delta }, p);
    }
  }
}

function combine(results: readonly Translated[]): Translated {
  return { filter: anyOf(results.map((r) => r.filter)), exact: results.every((r) => r.exact) };
}

export function numberFilter(values: readonly NumberValue[], p: ParamContext, prefix = ''): Translated {
  const keys = { value: p.base + prefix + KEY.numberValue, rounding: p.base + prefix + KEY.numberRounding };
  return combine(values.map((v) => numberCondition(v, keys, p)));
}

/** As number, on the arrays of the unit form the value names (`u<h>`/`ub<h>`), or of all units. */
export function quantityFilter(values: readonly QuantityValue[], p: ParamContext, prefix = ''): Translated {
  return combine(
    values.map((v) => {
      const base = p.base + prefix;
      const keys =
        v.code === undefined
          ? { value: base + KEY.numberValue, rounding: base + KEY.numberRounding }
          : { value: base + unitValueKey(searchUnitForm(v.system, v.code)), rounding: base + unitRoundingKey(searchUnitForm(v.system, v.code)) };
      return numberCondition(v, keys, p);
    }),
  );
}

// --- uri ------------------------------------------------------------------------------------------

/** Every path-segment prefix of a URI, the URI included (`:above`). */
function uriPrefixes(uri: string): string[] {
  const start = uri.indexOf('://');
  const from = start >= 0 ? uri.indexOf('/', start + 3) : uri.indexOf('/');
  const result: string[] = [];
  for (let i = from; i >= 0; i = uri.indexOf('/', i + 1)) {
    result.push(uri.slice(0, i));
  }
  result.push(uri);
  return [...new Set(result.filter((r) => r !== ''))];
}

/** Equality; `:below` is a prefix match; `:above` is equality with one of the value's prefixes. */
export function uriFilter(values: readonly UriValue[], modifier: Modifier | undefined, p: ParamContext): Translated {
  const path = p.base + KEY.uri;
  if (modifier === 'below') {
    return { filter: anyOf(values.map((v) => prefixRegex(path, v.uri))), exact: true };
  }
  const pairs = values.flatMap((v) => (modifier === 'above' ? uriPrefixes(v.uri) : [v.uri]).map((u): [string, string] => [path, u]));
  return { filter: equalities(pairs), exact: true };
}

// --- composite ------------------------------------------------------------------------------------

/** The stored equality form of one component value (see extract.ts, leadingForms/lastForms). */
function componentForm(v: ComponentValue): string {
  switch (v.type) {
    case 'token':
      switch (v.form) {
        case 'code':
          return escapePart(v.code);
        case 'system-code':
          return tokenForm(v.system, v.code);
        case 'no-system':
          return tokenForm(undefined, v.code);
        case 'system':
          return `${escapePart(v.system)}|`;
        default:
          return '';
      }
    case 'string':
      return escapePart(clip(v.folded, INDEXED_TEXT_LENGTH));
    case 'reference':
      return v.form === 'url' ? escapePart(v.url) : v.form === 'local' ? escapePart(`${v.resourceType}/${v.id}`) : '';
    case 'uri':
      return escapePart(v.uri);
    case 'date':
      return v.bucket;
    case 'number':
    case 'quantity':
      return String(v.value);
  }
}

/**
 * The leading components select one stored combination (`k` value or `p<h>_` key prefix); the
 * last component is matched inside it, so two components of one Observation.component are never
 * paired with another component's values.
 */
export function compositeFilter(values: readonly CompositeValue[], p: ParamContext): Translated {
  return combine(
    values.map((v): Translated => {
      const leading = joinComponents(v.components.slice(0, -1).map(componentForm));
      const last = v.components[v.components.length - 1] as ComponentValue;
      const k = p.base + KEY.compositeJoined;
      switch (last.type) {
        case 'date':
          return dateFilter([last], p, compositePrefix(leading));
        case 'number':
          return numberFilter([last], p, compositePrefix(leading));
        case 'quantity':
          return quantityFilter([last], p, compositePrefix(leading));
        case 'string':
          return { filter: prefixRegex(k, joinComponents([leading, escapePart(clip(last.folded, INDEXED_TEXT_LENGTH))])), exact: last.folded.length <= INDEXED_TEXT_LENGTH };
        default:
          return { filter: { [k]: joinComponents([leading, componentForm(last)]) }, exact: true };
      }
    }),
  );
}

