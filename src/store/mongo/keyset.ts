/**
 * Keyset paging: a page continues strictly after (or before) the sort key of the last (or first)
 * entry of the previous page, so resources written between two page requests never shift later
 * pages: nothing is lost and nothing repeats. Sort keys may be missing (null sorts first when
 * ascending, last when descending, as in MongoDB). The last key is always `_id`, and the
 * resource type breaks the remaining tie, so a position is unique across collections too.
 * See: https://hl7.org/fhir/R4/http.html#paging
 */
import { FhirError } from '../../fhir/outcomes';
import type { MongoFilter } from './search-filter';

export type KeyValue = string | number | null;

export interface SortKey {
  /** Document path of the scalar sort value (`idx.date.o`), or `_id`. */
  readonly field: string;
  readonly descending: boolean;
}

/** A position: the values of the sort keys (the last is the id), then the resource type. */
export interface Position {
  readonly values: readonly KeyValue[];
  readonly type: string;
}

export interface Cursor {
  readonly direction: 'next' | 'previous';
  readonly position: Position;
}

/** The documents of `type` that sort strictly after (or, going backwards, before) `position`. */
export function beyond(keys: readonly SortKey[], cursor: Cursor, type: string): MongoFilter | false {
  const backwards = cursor.direction === 'previous';
  const clauses: MongoFilter[] = [];
  const equalSoFar: MongoFilter[] = [];
  for (const [i, key] of keys.entries()) {
    const value = cursor.position.values[i] ?? null;
    const later = strictlyLater(key.field, value, key.descending !== backwards);
    if (later !== false) {
      clauses.push(all([...equalSoFar, later]));
    }
    equalSoFar.push({ [key.field]: value });
  }
  // The type is constant within one collection: it either follows the position or not.
  if (compare(type, cursor.position.type) * (backwards ? -1 : 1) > 0) {
    clauses.push(all(equalSoFar));
  }
  if (clauses.length === 0) {
    return false;
  }
  return clauses.length === 1 ? (clauses[0] as MongoFilter) : { $or: clauses };
}

/** field sorts after `value` in the given order (nulls first ascending, last descending). */
function strictlyLater(field: string, value: KeyValue, descending: boolean): MongoFilter | false {
  if (!descending) {
    return value === null ? { [field]: { $ne: null } } : { [field]: { $gt: value } };
  }
  return value === null ? false : { $or: [{ [field]: { $lt: value } }, { [field]: null }] };
}

function all(filters: MongoFilter[]): MongoFilter {
  if (filters.length === 0) {
    return {};
  }
  return filters.length === 1 ? (filters[0] as MongoFilter) : { $and: filters };
}

/** The MongoDB sort for the keys (reversed when reading backwards). */
export function mongoSort(keys: readonly SortKey[], backwards: boolean): Record<string, 1 | -1> {
  const sort: Record<string, 1 | -1> = {};
  for (const key of keys) {
    sort[key.field] = key.descending !== backwards ? -1 : 1;
  }
  return sort;
}

/** Orders positions as the database does: sort values (nulls first ascending), then type. */
export function comparePositions(keys: readonly SortKey[], a: Position, b: Position): number {
  for (const [i, key] of keys.entries()) {
    const order = compareValues(a.values[i] ?? null, b.values[i] ?? null);
    if (order !== 0) {
      return key.descending ? -order : order;
    }
  }
  return compare(a.type, b.type);
}

function compareValues(a: KeyValue, b: KeyValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  // MongoDB orders numbers before strings.
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return compare(a, b);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Reads a document's sort values for the keys. */
export function positionOf(keys: readonly SortKey[], type: string, doc: Record<string, unknown>): Position {
  return { values: keys.map((k) => scalarAt(doc, k.field)), type };
}

function scalarAt(doc: Record<string, unknown>, path: string): KeyValue {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return typeof value === 'string' || typeof value === 'number' ? value : null;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.direction === 'next' ? 'n' : 'p', cursor.position.values, cursor.position.type])).toString('base64url');
}

export function decodeCursor(token: string, keyCount: number): Cursor {
  try {
    const [direction, values, type] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    if (
      (direction === 'n' || direction === 'p') &&
      Array.isArray(values) &&
      values.length === keyCount &&
      values.every((v) => v === null || typeof v === 'string' || typeof v === 'number') &&
      typeof type === 'string'
    ) {
      return { direction: direction === 'n' ? 'next' : 'previous', position: { values: values as KeyValue[], type } };
    }
  } catch {
    // fall through
  }
  throw new FhirError('INVALID_SEARCH', 'The page cursor is not valid for this search; start again from the first page', {
    expression: ['_cursor'],
  });
}
