/**
 * The indexes of a resource collection on MongoDB, each serving query shapes the translator
 * produces (docs/storage.md#indexes has the table); FerretDB 1.x answers only `_id` from an index
 * and gets none of them.
 *
 * - `search_terms_id` `{idx.k: 1, _id: 1}`: every equality and anchored prefix on a term (token,
 *   reference, string, uri, date bucket, presence as the prefix `<code>:`), read in `_id` order: a search without `_sort`
 *   is answered and paged from the index, without sorting.
 * - `search_ranges` `{idx.r.$**: 1}`: date bounds, numbers and quantities (one path per condition;
 *   two bounds on one number are one `$elemMatch`, index-bounded on both sides).
 * - per declared sort (search/indexed-sorts.ts) `{idx.k: 1, <sort>, _id}`: a term condition
 *   plus the sort, read in order; and `{<sort>, _id}`: the sort alone (a list, deep paging).
 *   A multikey first field with one point bound still yields its entries in the order of the
 *   fields after it, and `$in` over several terms is merged in order (SORT_MERGE).
 *
 * There is no wildcard index on the sort keys: MongoDB uses a wildcard index for a sort only
 * when the query filters on that same field, so `idx.o.$**` cost a write per sort key per
 * document (every parameter has one) and served almost nothing.
 * See: https://www.mongodb.com/docs/manual/core/indexes/index-types/index-wildcard/reference/restrictions/
 */
import type { IndexDescription } from 'mongodb';
import { indexedSorts, withTieBreak } from '../../search/indexed-sorts';
import type { SortRule } from '../../search/request';
import { storedSortPath } from './index-layout';

export type IndexKey = Record<string, 1 | -1>;
export type NamedIndex = IndexDescription & { name: string; key: IndexKey };

export const TERMS_PATH = 'idx.k';

/** Names of indexes earlier versions created, dropped where found (they cost writes and serve nothing now). */
export const RETIRED_SEARCH_INDEXES: readonly string[] = ['search_terms', 'search_sort'];

export function searchIndexes(resourceType: string): NamedIndex[] {
  const indexes: NamedIndex[] = [
    { key: { [TERMS_PATH]: 1, _id: 1 }, name: 'search_terms_id' },
    { key: { 'idx.r.$**': 1 }, name: 'search_ranges' },
  ];
  for (const rules of indexedSorts(resourceType)) {
    const order = sortIndexKey(rules);
    const label = rules.map((r) => `${r.descending ? '-' : ''}${r.code}`).join('_');
    indexes.push({ key: { [TERMS_PATH]: 1, ...order }, name: `search_terms_by_${label}` }, { key: order, name: `search_by_${label}` });
  }
  return indexes;
}

/** The index key of a sort: its rules on the stored sort keys, then the `_id` tie-break. */
export function sortIndexKey(rules: readonly SortRule[]): IndexKey {
  const key: IndexKey = {};
  for (const rule of withTieBreak(rules)) key[rule.code === '_id' ? '_id' : storedSortPath(rule.code)] = rule.descending ? -1 : 1;
  return key;
}

/**
 * Whether an index returns documents in `sort` order when the fields in `equalities` are each
 * bound to one value: after those leading fields, its fields are the sort's, in the same
 * directions or all reversed.
 */
export function servesSort(index: IndexKey, sort: IndexKey, equalities: ReadonlySet<string> = new Set()): boolean {
  const fields = Object.entries(index);
  let start = 0;
  while (start < fields.length && equalities.has((fields[start] as [string, number])[0])) start++;
  const wanted = Object.entries(sort);
  const rest = fields.slice(start, start + wanted.length);
  if (rest.length !== wanted.length) return false;
  const same = rest.every(([f, d], i) => f === wanted[i]?.[0] && d === wanted[i]?.[1]);
  const reversed = rest.every(([f, d], i) => f === wanted[i]?.[0] && d === -(wanted[i]?.[1] ?? 0));
  return same || reversed;
}
