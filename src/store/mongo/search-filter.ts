/**
 * SearchRequest → MongoDB filter tree and sort, on the `idx` fields only (docs/storage.md).
 *
 * Every condition becomes a filter on `idx.<code>.<key>` paths (plus `_id` for `_id`), one path
 * per condition, so results are exact on FerretDB 1.x as on MongoDB (see search-filter-values.ts
 * for each parameter type). Comma (OR) becomes `$or`/`$in`; a repeated parameter (AND) becomes
 * `$and`; `:missing` is `$exists` on `idx.<code>`; `:not` is `$ne`/`$nin`.
 *
 * Chains and `_has` need the ids of other resources first, so they are not a filter but a
 * SubqueryNode the executor resolves (innermost first; `resolveFilter` does it given a `find`):
 *
 *   { kind: 'chain' | 'has',
 *     param:        the query parameter, for messages and limits,
 *     resourceType: the collection to query,
 *     where:        FilterNode on that collection (may hold further SubqueryNodes),
 *     select:       the field to collect from each matching document:
 *                   '_id' for a chain, 'idx.<ref>.r' (an array per document) for _has,
 *     then:         (values: the collected values, arrays flattened) → filter on the outer
 *                   collection }
 *
 *   chain  Observation?subject:Patient.name=smith
 *          → find Patient where idx.name.s ~ ^smith, select _id → ids
 *          → { 'idx.subject.r': { $in: ids.map(id => 'Patient/' + id) } }
 *   _has   Patient?_has:Observation:patient:code=1234
 *          → find Observation where idx.code.c = '1234', select idx.patient.r → ['Patient/1', …]
 *          → { _id: { $in: ['1', …] } }
 *
 * A FilterNode is { kind: 'filter', filter } | { kind: 'and', nodes } | SubqueryNode.
 *
 * Every filter (the outer one and each subquery's `where`) starts with LIVE_DOCUMENT
 * (`idx` exists): a deleted document keeps its `_id` but has no `idx`, and without the guard a
 * negative condition (`:missing=true`, `:not`, `ne`) or an empty search would return it.
 */
import { withTieBreak } from '../../search/indexed-sorts';
import type { SearchCondition, SearchRequest, ValueCondition } from '../../search/request';
import type { SearchParameterDef, SearchParameterRegistry } from '../../search/registry';
import type {
  CompositeValue,
  DateValue,
  NumberValue,
  QuantityValue,
  ReferenceValue,
  StringValue,
  TokenValue,
  UriValue,
} from '../../search/request';
import {
  allOf,
  anyOf,
  compositeFilter,
  dateFilter,
  idFilter,
  numberFilter,
  quantityFilter,
  referenceFilter,
  stringFilter,
  tokenFilter,
  uriFilter,
} from './search-filter-values';
import type { MongoFilter, ParamContext, Translated } from './search-filter-values';

export type { MongoFilter } from './search-filter-values';

export interface SubqueryNode {
  readonly kind: 'chain' | 'has';
  readonly param: string;
  readonly resourceType: string;
  readonly where: FilterNode;
  readonly select: string;
  readonly then: (values: readonly string[]) => MongoFilter;
}

export type FilterNode =
  | { readonly kind: 'filter'; readonly filter: MongoFilter }
  | { readonly kind: 'and'; readonly nodes: readonly FilterNode[] }
  | SubqueryNode;

export type MongoSort = Record<string, 1 | -1>;

/** Only current, not deleted, documents have `idx` (docs/storage.md). */
export const LIVE_DOCUMENT: MongoFilter = Object.freeze({ idx: { $exists: true } });
const LIVE: FilterNode = { kind: 'filter', filter: LIVE_DOCUMENT };

export interface TranslatedSearch {
  readonly filter: FilterNode;
  readonly sort: MongoSort;
  /**
   * Conditions (query names) whose filter may select more than FHIR does: `ap` on a multi-valued
   * parameter, or a number precision outside the stored roundings on one. Empty: exact.
   */
  readonly approximate: readonly string[];
}

export interface TranslateOptions {
  /** "Now" for date `ap` (default: the current time). */
  now?: Date;
  /** Two bounds on one value as one `$elemMatch` (MongoDB; search-filter-values.ts). */
  elemMatch?: boolean;
}

interface Context {
  readonly registry: SearchParameterRegistry;
  readonly now: Date;
  readonly elemMatch: boolean;
  readonly approximate: string[];
}

/** Translates a parsed request for one collection (a system search calls it once per type). */
export function translateSearch(
  request: SearchRequest,
  registry: SearchParameterRegistry,
  resourceType: string,
  options: TranslateOptions = {},
): TranslatedSearch {
  const ctx: Context = { registry, now: options.now ?? new Date(), elemMatch: options.elemMatch ?? false, approximate: [] };
  const nodes = request.conditions.map((c) => translateCondition(c, resourceType, ctx));
  return { filter: and([LIVE, ...nodes]), sort: sortSpec(request), approximate: ctx.approximate };
}

function and(nodes: readonly FilterNode[]): FilterNode {
  if (nodes.every((n) => n.kind === 'filter')) {
    return { kind: 'filter', filter: allOf(nodes.map((n) => (n as { filter: MongoFilter }).filter)) };
  }
  return nodes.length === 1 ? (nodes[0] as FilterNode) : { kind: 'and', nodes };
}

function definition(ctx: Context, resourceType: string, code: string): SearchParameterDef {
  const def = ctx.registry.get(resourceType, code);
  if (!def) {
    // parseSearch only lets through parameters of the type; reaching here is a programming error.
    throw new Error(`Search parameter ${resourceType}.${code} is not in the registry`);
  }
  return def;
}

function translateCondition(condition: SearchCondition, resourceType: string, ctx: Context): FilterNode {
  switch (condition.kind) {
    case 'missing':
      return {
        kind: 'filter',
        filter: condition.code === '_id' ? { _id: { $exists: !condition.missing } } : missingFilter(definition(ctx, resourceType, condition.code), condition.missing),
      };
    case 'value': {
      const def = definition(ctx, resourceType, condition.code);
      const result = translateValues(condition, def, ctx.now, ctx.elemMatch);
      if (!result.exact) {
        ctx.approximate.push(condition.name);
      }
      return { kind: 'filter', filter: result.filter };
    }
    case 'chain': {
      const { code, targetType } = condition;
      definition(ctx, resourceType, code);
      return {
        kind: 'chain',
        param: condition.name,
        resourceType: targetType,
        where: and([LIVE, translateCondition(condition.condition, targetType, ctx)]),
        select: '_id',
        then: (ids) => ({ [`idx.${code}.r`]: { $in: [...new Set(ids)].map((id) => `${targetType}/${id}`) } }),
      };
    }
    case 'has': {
      definition(ctx, condition.resourceType, condition.code);
      return {
        kind: 'has',
        param: condition.name,
        resourceType: condition.resourceType,
        where: and([LIVE, translateCondition(condition.condition, condition.resourceType, ctx)]),
        select: `idx.${condition.code}.r`,
        then: (refs) => ({ _id: { $in: referencedIds(refs, resourceType) } }),
      };
    }
  }
}

/** The ids of the `resourceType` resources among references (`Type/id`), once each. */
export function referencedIds(refs: readonly string[], resourceType: string): string[] {
  const prefix = `${resourceType}/`;
  return [...new Set(refs.filter((r) => r.startsWith(prefix) && !r.includes('/', prefix.length)).map((r) => r.slice(prefix.length)))];
}

/** `:missing`; a union (registry.ts) is missing when each of its members is. */
function missingFilter(def: SearchParameterDef, missing: boolean): MongoFilter {
  if (def.unionOf) {
    const members = def.unionOf.map((m) => missingFilter(m, missing));
    return missing ? allOf(members) : anyOf(members);
  }
  return { [`idx.${def.code}`]: { $exists: !missing } };
}

/** Dispatch to the translator of the parameter's type. */
export function translateValues(condition: ValueCondition, def: SearchParameterDef, now: Date, elemMatch = false): Translated {
  if (def.unionOf) {
    // A union's values are its members' (registry.ts): a value matches in some member; `:not`, in none.
    const members = def.unionOf.map((m) => translateValues(condition, m, now, elemMatch));
    const filters = members.map((m) => m.filter);
    return { filter: condition.modifier === 'not' ? allOf(filters) : anyOf(filters), exact: members.every((m) => m.exact) };
  }
  const p: ParamContext = { base: `idx.${def.code}.`, multiple: def.multiple, targets: def.targets, now, elemMatch };
  const { values, modifier } = condition;
  if (def.code === '_id') {
    return idFilter(values as readonly TokenValue[], modifier);
  }
  switch (def.type) {
    case 'string':
      return stringFilter(values as readonly StringValue[], modifier, p);
    case 'token':
      return tokenFilter(values as readonly TokenValue[], modifier, p);
    case 'reference':
      return referenceFilter(values as readonly ReferenceValue[], p);
    case 'date':
      return dateFilter(values as readonly DateValue[], p);
    case 'number':
      return numberFilter(values as readonly NumberValue[], p);
    case 'quantity':
      return quantityFilter(values as readonly QuantityValue[], p);
    case 'uri':
      return uriFilter(values as readonly UriValue[], modifier, p);
    case 'composite':
      return compositeFilter(values as readonly CompositeValue[], p);
  }
}

/** `_sort` on the scalar sort keys `idx.<code>.o` (`_id` on `_id`), then `_id` for stable paging. */
export function sortSpec(request: SearchRequest): MongoSort {
  const sort: MongoSort = {};
  for (const rule of withTieBreak(request.sort)) {
    sort[rule.code === '_id' ? '_id' : `idx.${rule.code}.o`] = rule.descending ? -1 : 1;
  }
  return sort;
}

/** The filter of a tree without subqueries; undefined when chains or `_has` still need resolving. */
export function toMongoFilter(node: FilterNode): MongoFilter | undefined {
  switch (node.kind) {
    case 'filter':
      return node.filter;
    case 'and': {
      const parts = node.nodes.map(toMongoFilter);
      return parts.every((p): p is MongoFilter => p !== undefined) ? allOf(parts) : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Finds the documents of `resourceType` matching `filter` and returns the values of `select`
 * (arrays flattened). The executor supplies it (and its limits: a subquery returning too many
 * ids should become a TOO_COSTLY error there).
 */
export type SubqueryFind = (resourceType: string, filter: MongoFilter, select: string) => Promise<readonly string[]>;

/** Resolves every SubqueryNode (innermost first) into a plain filter. */
export async function resolveFilter(node: FilterNode, find: SubqueryFind): Promise<MongoFilter> {
  switch (node.kind) {
    case 'filter':
      return node.filter;
    case 'and':
      return allOf(await Promise.all(node.nodes.map((n) => resolveFilter(n, find))));
    default: {
      const where = await resolveFilter(node.where, find);
      return node.then(await find(node.resourceType, where, node.select));
    }
  }
}
