/**
 * Write-time extraction of the search index (`idx`, docs/storage.md): for every parameter of the
 * resource's type, evaluate its FHIRPath and store the values as scalar arrays, one per kind of
 * lookup, so that every search condition is a condition on one path.
 *
 * Values that must match together are encoded into one scalar here: `system|code`, the unit of a
 * quantity (in the key), the span of a date (`lo|hi`), the rounding of a number, and the
 * leading components of a composite (in `k` or in the key prefix of the last component).
 */
import type { FhirPathAtom, TypedValue } from '@medplum/core';
import { evalFhirPathTyped, toTypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { bucketsOf, spanOf } from './date-range';
import { decimalOfNumber, storedRoundings } from './decimal';
import type { ExpressionBranch } from './expression';
import {
  dateValues,
  numberValues,
  quantityValues,
  referenceValues,
  stringValues,
  tokenValues,
  uriValues,
} from './extract-values';
import type { ReferenceValue } from './extract-values';
import { KEY, codeForms, compositePrefix, joinComponents, quantityUnitForms, unitRoundingKey, unitValueKey } from './index-keys';
import { escapePart, exactIndexed, foldIndexed, tokenForm } from './normalize';
import type { ComponentType, SearchParameterDef, SearchParameterRegistry } from './registry';
import { select } from './selection';
import type { Selection } from './selection';

/** One parameter's lookups: scalar arrays by key, plus the scalar sort key `o`. */
export type IndexEntry = Record<string, string[] | number[] | string | number>;

/** The `idx` object of a stored document: entries by parameter code. */
export type SearchIndex = Record<string, IndexEntry>;

/** Most combinations of leading composite component forms stored per base item. */
const MAX_COMPOSITE_COMBINATIONS = 64;

/** Collects distinct values per key, and the smallest sort candidate. */
class EntryBuilder {
  private readonly keys = new Map<string, Set<string | number>>();
  private sort: string | number | undefined;

  add(key: string, value: string | number): void {
    let set = this.keys.get(key);
    if (!set) {
      set = new Set();
      this.keys.set(key, set);
    }
    set.add(value);
  }

  sortCandidate(value: string | number): void {
    if (this.sort === undefined || value < this.sort) {
      this.sort = value;
    }
  }

  get empty(): boolean {
    return this.keys.size === 0;
  }

  build(): IndexEntry {
    const entry: IndexEntry = {};
    for (const [key, set] of this.keys) {
      entry[key] = [...set] as string[] | number[];
    }
    if (this.sort !== undefined) {
      entry[KEY.sort] = this.sort;
    }
    return entry;
  }
}

/**
 * Computes `idx` for a resource: one entry per parameter of its type that has a value (of the
 * parameters in `only`, when given). `_id` is not extracted: it is the document's `_id`. A union
 * of other parameters (registry.ts, `unionOf`) keeps only its sort key: the translator searches
 * its members' values.
 */
export function extractIndex(resource: Resource, registry: SearchParameterRegistry, only?: ReadonlySet<string>): SearchIndex {
  const index: SearchIndex = {};
  const root = toTypedValue(resource);
  const context: ExtractContext = { root, baseUrl: registry.baseUrl };
  const unions: SearchParameterDef[] = [];
  for (const def of registry.list(resource.resourceType)) {
    if (def.code === '_id' || (only && !only.has(def.code))) {
      continue;
    }
    if (def.unionOf) {
      unions.push(def); // once its members are extracted
      continue;
    }
    const entry = entryFor(def, context);
    if (entry) {
      index[def.code] = entry;
    }
  }
  for (const def of unions) {
    const sort = unionSortKey(def, (member) => (only && !only.has(member.code) ? entryFor(member, context) : index[member.code]));
    if (sort !== undefined) {
      index[def.code] = { [KEY.sort]: sort };
    }
  }
  return index;
}

function entryFor(def: SearchParameterDef, context: ExtractContext): IndexEntry | undefined {
  const builder = new EntryBuilder();
  if (def.type === 'composite') {
    addComposite(builder, def, context);
  } else {
    for (const branch of def.branches) {
      addValues({ builder, type: def.type, values: evaluate(branch, [context.root], context), prefix: '' }, context);
    }
  }
  return builder.empty ? undefined : builder.build();
}

/** The smallest of the members' sort keys, as the union's own values would give. */
function unionSortKey(def: SearchParameterDef, entryOf: (member: SearchParameterDef) => IndexEntry | undefined): string | number | undefined {
  let smallest: string | number | undefined;
  for (const member of def.unionOf ?? []) {
    const sort = member.unionOf ? unionSortKey(member, entryOf) : entryOf(member)?.[KEY.sort];
    if ((typeof sort === 'string' || typeof sort === 'number') && (smallest === undefined || sort < smallest)) {
      smallest = sort;
    }
  }
  return smallest;
}

interface ExtractContext {
  readonly root: TypedValue;
  readonly baseUrl: string;
}

/** A path of a branch or component: its compiled selection when it has one, else the engine. */
function evaluatePath(path: { readonly atom: FhirPathAtom; readonly selection?: Selection }, input: TypedValue[], context: ExtractContext): TypedValue[] {
  return path.selection ? select(path.selection, input) : evalFhirPathTyped(path.atom, input, { '%resource': context.root });
}

function evaluate(branch: ExpressionBranch, input: TypedValue[], context: ExtractContext): TypedValue[] {
  const values = evaluatePath(branch, input, context);
  const target = branch.resolveType;
  return target ? values.filter((tv) => referenceTypeMatches(tv, target, context.baseUrl)) : values;
}

interface AddArgs {
  readonly builder: EntryBuilder;
  readonly type: ComponentType;
  readonly values: readonly TypedValue[];
  /** Key prefix: '' for a plain parameter, `p<h>_` for the last component of a composite. */
  readonly prefix: string;
}

function addValues(args: AddArgs, context: ExtractContext): void {
  const { builder, type, values, prefix } = args;
  const sortable = prefix === '';
  for (const tv of values) {
    switch (type) {
      case 'string':
        for (const s of stringValues(tv)) {
          const folded = foldIndexed(s);
          builder.add(prefix + KEY.stringFolded, folded);
          builder.add(prefix + KEY.stringExact, exactIndexed(s));
          if (sortable) builder.sortCandidate(folded);
        }
        break;
      case 'token':
        for (const t of tokenValues(tv)) {
          addToken(builder, t, prefix);
        }
        break;
      case 'reference':
        for (const r of referenceValues(tv)) {
          addReference(builder, r, context.baseUrl);
        }
        break;
      case 'date':
        for (const { lo, hi } of dateValues(tv)) {
          builder.add(prefix + KEY.dateLow, lo);
          builder.add(prefix + KEY.dateHigh, hi);
          builder.add(prefix + KEY.dateSpan, spanOf(lo, hi));
          if (sortable) builder.sortCandidate(lo);
        }
        break;
      case 'number':
        for (const n of numberValues(tv)) {
          addNumber(builder, n, prefix);
        }
        break;
      case 'quantity':
        for (const q of quantityValues(tv)) {
          addNumber(builder, q.value, prefix);
          for (const form of quantityUnitForms(q.system, q.code, q.unit)) {
            addNumber(builder, q.value, prefix, form);
          }
        }
        break;
      case 'uri':
        for (const u of uriValues(tv)) {
          builder.add(prefix + KEY.uri, u);
          if (sortable) builder.sortCandidate(u);
        }
        break;
    }
  }
}

function addToken(builder: EntryBuilder, t: ReturnType<typeof tokenValues>[number], prefix: string): void {
  if (t.code !== undefined) {
    builder.add(prefix + KEY.tokenCode, t.code);
    builder.add(prefix + KEY.tokenSystemCode, tokenForm(t.system, t.code));
    if (prefix === '') builder.sortCandidate(t.code);
  } else if (t.system !== undefined) {
    // `system|` is a prefix of the `t` forms; a value with a system and no code has this one.
    builder.add(prefix + KEY.tokenSystemCode, tokenForm(t.system, ''));
  }
  for (const text of t.texts) {
    builder.add(prefix + KEY.tokenText, foldIndexed(text));
  }
  if (t.code !== undefined) {
    for (const type of t.types ?? []) {
      builder.add(prefix + KEY.tokenOfType, `${tokenForm(type.system, type.code)}|${escapePart(t.code)}`);
    }
  }
}

/**
 * `v` (values) and `b` (roundings), under `u<h>`/`ub<h>` when for one unit form. The
 * roundings let `eq` compare at the search value's precision with one equality.
 */
function addNumber(builder: EntryBuilder, value: number, prefix: string, unitForm?: string): void {
  const roundings = roundingsOf(value);
  if (!roundings) {
    return;
  }
  const valueKey = prefix + (unitForm === undefined ? KEY.numberValue : unitValueKey(unitForm));
  const roundingKey = prefix + (unitForm === undefined ? KEY.numberRounding : unitRoundingKey(unitForm));
  builder.add(valueKey, value);
  for (const b of roundings) {
    builder.add(roundingKey, b);
  }
  if (prefix === '' && unitForm === undefined) {
    builder.sortCandidate(value);
  }
}

const roundingCache = new Map<number, readonly string[]>();

/** storedRoundings of a number (cached: the same values recur across unit forms and resources). */
function roundingsOf(value: number): readonly string[] | undefined {
  let roundings = roundingCache.get(value);
  if (roundings === undefined) {
    const decimal = decimalOfNumber(value);
    if (!decimal) {
      return undefined;
    }
    roundings = storedRoundings(decimal);
    if (roundingCache.size > 10_000) {
      roundingCache.clear();
    }
    roundingCache.set(value, roundings);
  }
  return roundings;
}

// --- references -------------------------------------------------------------------------------

const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
const ABSOLUTE_TAIL = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/**
 * The stored forms of a literal reference: relative `Type/id` when local (an absolute URL on our
 * base is made relative), the URL otherwise; a versioned reference also gives its unversioned
 * form. Contained references (`#id`) give nothing.
 */
export function referenceForms(reference: string, baseUrl: string): string[] {
  if (reference.startsWith('#')) {
    return [];
  }
  const local = baseUrl && reference.startsWith(`${baseUrl}/`) ? reference.slice(baseUrl.length + 1) : reference;
  const m = RELATIVE.exec(local);
  if (m) {
    return m[3] ? [local, `${m[1]}/${m[2]}`] : [local];
  }
  const abs = ABSOLUTE_TAIL.exec(local);
  if (abs?.[3]) {
    return [local, local.slice(0, local.lastIndexOf('/_history/'))];
  }
  return [local];
}

/** The resource type a literal reference points to, if it can be told from the text. */
function referenceType(reference: string, baseUrl: string): string | undefined {
  const local = baseUrl && reference.startsWith(`${baseUrl}/`) ? reference.slice(baseUrl.length + 1) : reference;
  return RELATIVE.exec(local)?.[1] ?? ABSOLUTE_TAIL.exec(local)?.[1];
}

/** `.where(resolve() is X)`: does this value reference an X? */
function referenceTypeMatches(tv: TypedValue, target: string, baseUrl: string): boolean {
  for (const r of referenceValues(tv)) {
    if (r.reference?.startsWith('#')) {
      return false;
    }
    const type = r.type ?? (r.reference ? referenceType(r.reference, baseUrl) : undefined);
    // An identifier-only reference without a type cannot be told apart: keep it for :identifier.
    if (type === target || (type === undefined && r.reference === undefined)) {
      return true;
    }
  }
  return false;
}

function addReference(builder: EntryBuilder, r: ReferenceValue, baseUrl: string): void {
  const forms: string[] = [];
  if (r.reference) {
    forms.push(...referenceForms(r.reference, baseUrl));
  }
  if (r.canonical) {
    const bar = r.canonical.indexOf('|');
    const url = bar >= 0 ? r.canonical.slice(0, bar) : r.canonical;
    forms.push(r.canonical, url, ...referenceForms(url, baseUrl));
  }
  for (const f of forms) {
    builder.add(KEY.reference, f);
    builder.sortCandidate(f);
  }
  if (r.identifier) {
    const value = escapePart(r.identifier.value);
    builder.add(KEY.referenceIdentifier, value);
    builder.add(KEY.referenceIdentifier, tokenForm(r.identifier.system, r.identifier.value));
  }
}

// --- composites -------------------------------------------------------------------------------

/**
 * Equality forms of a leading composite component: token `code` and `system|code`, folded
 * string, reference, uri, number as written, date buckets. Each form is escaped for joining.
 */
function leadingForms(type: ComponentType, values: readonly TypedValue[], baseUrl: string): string[] {
  const forms = new Set<string>();
  for (const tv of values) {
    switch (type) {
      case 'token':
        for (const t of tokenValues(tv)) {
          if (t.code !== undefined) codeForms(t.system, t.code).forEach((f) => forms.add(f));
        }
        break;
      case 'string':
        stringValues(tv).forEach((s) => forms.add(escapePart(foldIndexed(s))));
        break;
      case 'reference':
        for (const r of referenceValues(tv)) {
          if (r.reference) referenceForms(r.reference, baseUrl).forEach((f) => forms.add(escapePart(f)));
          if (r.canonical) forms.add(escapePart(r.canonical));
        }
        break;
      case 'uri':
        uriValues(tv).forEach((u) => forms.add(escapePart(u)));
        break;
      case 'number':
        numberValues(tv).forEach((n) => forms.add(String(n)));
        break;
      case 'quantity':
        quantityValues(tv).forEach((q) => forms.add(String(q.value)));
        break;
      case 'date':
        dateValues(tv).forEach(({ lo, hi }) => bucketsOf(lo, hi).forEach((b) => forms.add(b)));
        break;
    }
  }
  return [...forms];
}

/** Equality forms of a last component stored in `k` (token, string, reference, uri). */
function lastForms(type: ComponentType, values: readonly TypedValue[], baseUrl: string): string[] {
  if (type !== 'token') {
    return leadingForms(type, values, baseUrl);
  }
  const forms = new Set<string>();
  for (const tv of values) {
    for (const t of tokenValues(tv)) {
      if (t.code !== undefined) codeForms(t.system, t.code).forEach((f) => forms.add(f));
      if (t.system !== undefined) forms.add(`${escapePart(t.system)}|`);
    }
  }
  return [...forms];
}

function combinations(lists: readonly string[][]): string[] {
  let result: string[] = [''];
  for (const [i, list] of lists.entries()) {
    result = result.flatMap((head) => list.map((f) => (i === 0 ? f : joinComponents([head, f]))));
    if (result.length > MAX_COMPOSITE_COMBINATIONS) {
      result = result.slice(0, MAX_COMPOSITE_COMBINATIONS);
    }
  }
  return result;
}

/**
 * A composite is evaluated per base item (an Observation, each Observation.component), so the
 * components of one item are stored together and never mixed with another item's: leading forms
 * joined with `$`, then the last component either joined too (`k`, for equality types) or as a
 * full number/quantity/date index under the key prefix `p<hash(leading)>_`.
 */
function addComposite(builder: EntryBuilder, def: SearchParameterDef, context: ExtractContext): void {
  const components = def.components;
  const last = components[components.length - 1];
  if (!last) {
    return;
  }
  for (const branch of def.branches) {
    for (const item of evaluate(branch, [context.root], context)) {
      const leading = combinations(
        components.slice(0, -1).map((c) => leadingForms(c.type, evaluatePath(c, [item], context), context.baseUrl)),
      );
      if (leading.length === 0) {
        continue;
      }
      const lastValues = evaluatePath(last, [item], context);
      if (last.type === 'number' || last.type === 'quantity' || last.type === 'date') {
        for (const head of leading) {
          addValues({ builder, type: last.type, values: lastValues, prefix: compositePrefix(head) }, context);
        }
      } else {
        for (const tail of lastForms(last.type, lastValues, context.baseUrl)) {
          for (const head of leading) {
            builder.add(KEY.compositeJoined, joinComponents([head, tail]));
          }
        }
      }
    }
  }
}
