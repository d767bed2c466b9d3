// Every sort the search executor sends to MongoDB for a declared `_sort` (both directions, pages
// read forwards and backwards) and for a search without `_sort` is read from a declared index in
// order, with or without a term condition in front; and every declared index serves some shape.
import { INDEXED_SORTS, indexedSorts } from '../../../src/search/indexed-sorts';
import { parseSearch } from '../../../src/search/parse';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import { mongoSort } from '../../../src/store/mongo/keyset';
import { sortKeys } from '../../../src/store/mongo/search';
import { type IndexKey, TERMS_PATH, searchIndexes, servesSort, sortIndexKey } from '../../../src/store/mongo/search-indexes';

const BASE = 'http://casebridge.test/fhir';
const registry = buildSearchParameterRegistry({ baseUrl: BASE });
const ID_INDEX: IndexKey = { _id: 1 };

/** The sorts the executor sends for `?<query>`: first page or next pages, and previous pages. */
function emitted(type: string, query: Record<string, string[]>): IndexKey[] {
  const keys = sortKeys(parseSearch(type, query, registry, { strict: true, defaultCount: 20, maxCount: 100, baseUrl: BASE }));
  return [mongoSort(keys, false), mongoSort(keys, true)];
}

const reversed = (value: string) =>
  value
    .split(',')
    .map((rule) => (rule.startsWith('-') ? rule.slice(1) : `-${rule}`))
    .join(',');

const declared = Object.entries(INDEXED_SORTS).flatMap(([type, sorts]) => sorts.flatMap((value) => [[type, value] as const, [type, reversed(value)] as const]));

test('every declared sort names a sortable parameter of its type', () => {
  for (const type of Object.keys(INDEXED_SORTS)) {
    for (const rule of indexedSorts(type).flat()) {
      const def = registry.get(type, rule.code);
      expect({ type, code: rule.code, sortable: def !== undefined && def.type !== 'composite' }).toEqual({ type, code: rule.code, sortable: true });
    }
  }
});

test.each(declared)('%s?_sort=%s is read in order from a declared index, alone or after a term condition', (type, value) => {
  const indexes = searchIndexes(type).map((i) => i.key);
  for (const sort of emitted(type, { _sort: [value] })) {
    expect({ sort, alone: indexes.some((index) => servesSort(index, sort)) }).toEqual({ sort, alone: true });
    expect({ sort, afterTerm: indexes.some((index) => servesSort(index, sort, new Set([TERMS_PATH]))) }).toEqual({ sort, afterTerm: true });
  }
});

test.each(Object.keys(INDEXED_SORTS).concat(['Goal', 'Consent']))('%s without _sort is read in _id order from the _id index, or after a term condition', (type) => {
  const indexes = searchIndexes(type).map((i) => i.key);
  for (const sort of emitted(type, {})) {
    expect(servesSort(ID_INDEX, sort)).toBe(true);
    expect(indexes.some((index) => servesSort(index, sort, new Set([TERMS_PATH])))).toBe(true);
  }
});

test('the _id tie-break follows the direction of the last rule, so one index serves both directions', () => {
  expect(emitted('Encounter', { _sort: ['-date'] })[0]).toEqual({ 'idx.o.date': -1, _id: -1 });
  expect(emitted('Encounter', { _sort: ['date'] })[0]).toEqual({ 'idx.o.date': 1, _id: 1 });
  expect(sortIndexKey(indexedSorts('Encounter')[0] ?? [])).toEqual({ 'idx.o.date': 1, _id: 1 });
});

test('an undeclared sort has no index (it is sorted in memory on MongoDB: docs/performance.md)', () => {
  const indexes = searchIndexes('Goal').map((i) => i.key);
  for (const sort of emitted('Goal', { _sort: ['target-date'] })) {
    expect(indexes.some((index) => servesSort(index, sort, new Set([TERMS_PATH])))).toBe(false);
  }
});

test('no index costs writes without serving a shape: terms in _id order, ranges, or a declared sort', () => {
  for (const type of registry.resourceTypes()) {
    const sorts = indexedSorts(type).map(sortIndexKey);
    for (const { name, key } of searchIndexes(type)) {
      const serves =
        name === 'search_terms_id' ? servesSort(key, ID_INDEX, new Set([TERMS_PATH])) : name === 'search_ranges' ? Object.keys(key).every((f) => f.startsWith('idx.r.')) : sorts.some((sort) => servesSort(key, sort, new Set([TERMS_PATH])));
      expect({ type, name, serves }).toEqual({ type, name, serves: true });
    }
    expect(searchIndexes(type).some((i) => Object.keys(i.key).some((f) => f.startsWith('idx.o.$**')))).toBe(false);
  }
});
