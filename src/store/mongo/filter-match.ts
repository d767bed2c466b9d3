/**
 * Whether a document matches a filter, evaluated here rather than by the database: for the
 * version a reader is shown instead of one written by a transaction in flight (journal.ts). The
 * database matched the newer version; the one before it must match the query too, or it is not
 * an answer. Covers the operators the search translator produces (search-filter.ts,
 * index-layout.ts), with MongoDB's rules: a condition on an array holds when an element
 * satisfies it; `$elemMatch` ties its conditions to one element. An operator it does not know
 * throws: a query this cannot judge must not be answered wrongly.
 */
type Doc = Record<string, unknown>;

function valuesAt(doc: unknown, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Doc)[part];
  }
  return current;
}

function elements(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function comparable(value: unknown): number | string | undefined {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (value instanceof Date) return value.getTime();
  return undefined;
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

function compare(op: string, a: unknown, b: unknown): boolean {
  const x = comparable(a);
  const y = comparable(b);
  // MongoDB compares within a type bracket only.
  if (x === undefined || y === undefined || typeof x !== typeof y || a instanceof Date !== b instanceof Date) return false;
  switch (op) {
    case '$gt':
      return x > y;
    case '$gte':
      return x >= y;
    case '$lt':
      return x < y;
    case '$lte':
      return x <= y;
  }
  return false;
}

function isOperators(value: unknown): value is Doc {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date || value instanceof RegExp) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

/** One element (or the value itself) against an operator object, for `$elemMatch`. */
function elementMatches(element: unknown, condition: unknown): boolean {
  if (isOperators(condition)) return fieldMatches(element, condition, false);
  if (typeof element === 'object' && element !== null && !Array.isArray(element)) return matchesFilter(condition as Doc, element as Doc);
  return same(element, condition);
}

function fieldMatches(value: unknown, condition: unknown, spread = true): boolean {
  const items = spread ? elements(value) : [value];
  if (!isOperators(condition)) return items.some((e) => same(e, condition));
  return Object.entries(condition).every(([op, arg]) => {
    switch (op) {
      case '$eq':
        return items.some((e) => same(e, arg));
      case '$ne':
        return !items.some((e) => same(e, arg));
      case '$in':
        return items.some((e) => (arg as unknown[]).some((a) => same(e, a)));
      case '$nin':
        return !items.some((e) => (arg as unknown[]).some((a) => same(e, a)));
      case '$all':
        return (arg as unknown[]).every((a) => items.some((e) => same(e, a)));
      case '$exists':
        return (value !== undefined) === arg;
      case '$regex': {
        const re = arg instanceof RegExp ? arg : new RegExp(arg as string);
        return items.some((e) => typeof e === 'string' && re.test(e));
      }
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        return items.some((e) => compare(op, e, arg));
      case '$not':
        return !fieldMatches(value, arg, spread);
      case '$elemMatch':
        return elements(value).some((e) => elementMatches(e, arg));
      default:
        throw new Error(`filter-match: operator ${op} is not supported`);
    }
  });
}

export function matchesFilter(filter: Doc, doc: Doc): boolean {
  return Object.entries(filter).every(([key, condition]) => {
    switch (key) {
      case '$and':
        return (condition as Doc[]).every((f) => matchesFilter(f, doc));
      case '$or':
        return (condition as Doc[]).some((f) => matchesFilter(f, doc));
      case '$nor':
        return !(condition as Doc[]).some((f) => matchesFilter(f, doc));
      default:
        if (key.startsWith('$')) throw new Error(`filter-match: operator ${key} is not supported`);
        return fieldMatches(valuesAt(doc, key), condition);
    }
  });
}
