/**
 * The stored layout of the search index. search/ extracts a logical index — per parameter code,
 * per key, the values (`{ code: { t: ['http://loinc.org|1234-5'], … }, date: { lo: […], … } }`)
 * — and search-filter translates queries on those logical paths (`idx.<code>.<key>`). This
 * module maps both onto what is stored:
 *
 *   idx.k   one array of terms `<code>:<key>:<value>` for every value matched by equality or
 *           by a prefix (tokens, references, strings, uris, buckets), plus `<code>:` for a
 *           parameter that has a value but no term (a date range spanning years, say), so that
 *           `:missing` is the anchored prefix `<code>:` on idx.k;
 *   idx.r   `{ "<code>~<key>": [values] }` for values compared by range (date bounds, numbers,
 *           quantities per unit);
 *   idx.o   `{ "<code>": sort key }`.
 *
 * Why: FerretDB decodes every document it scans, and the cost grows with the number of fields
 * and nested documents — one array of strings and two flat objects decode about twice as fast
 * as ~30 nested objects of small arrays (measured: ~650 µs of a ~950 µs document was the nested
 * index). On MongoDB one multikey index on `idx.k` answers every equality and prefix lookup
 * (anchored regexes use index bounds) and wildcard indexes cover `idx.r` and `idx.o`.
 * Each condition still names one path, so results stay exact on FerretDB.
 */
import type { Document } from 'mongodb';
import type { SearchIndex } from '../../search/extract';
import { escapeRegex } from '../../search/normalize';
import type { MongoFilter } from './search-filter';

export interface StoredIndex {
  k: string[];
  r: Record<string, unknown[]>;
  o: Record<string, string | number>;
}

const SORT_KEY = 'o';

/** Keys compared by range: date bounds, numeric values, per-unit values (also under a composite prefix). */
function isRangeKey(key: string): boolean {
  const base = key.replace(/^p[A-Za-z0-9_-]{10}_/, '');
  return base === 'lo' || base === 'hi' || base === 'v' || /^u[A-Za-z0-9_-]{10}$/.test(base);
}

export function toStoredIndex(logical: SearchIndex): StoredIndex {
  const stored: StoredIndex = { k: [], r: {}, o: {} };
  for (const [code, entry] of Object.entries(logical)) {
    const termsBefore = stored.k.length;
    for (const [key, value] of Object.entries(entry)) {
      if (key === SORT_KEY) {
        stored.o[code] = value as string | number;
      } else if (isRangeKey(key)) {
        stored.r[`${code}~${key}`] = Array.isArray(value) ? value : [value];
      } else {
        for (const v of Array.isArray(value) ? value : [value]) {
          stored.k.push(`${code}:${key}:${String(v)}`);
        }
      }
    }
    // A presence term for every parameter was a quarter of all terms, each an index entry to
    // write; every other parameter is present exactly when one of its terms is.
    if (stored.k.length === termsBefore) stored.k.push(`${code}:`);
  }
  return stored;
}

/** The stored path of a logical sort key (`idx.<code>.o` → `idx.o.<code>`). */
export function storedSortPath(code: string): string {
  return `idx.o.${code}`;
}

/** The values of one term key of a stored document (e.g. its references: key `r`). */
export function storedTerms(doc: Document, code: string, key: string): string[] {
  const terms = (doc.idx as StoredIndex | undefined)?.k ?? [];
  const prefix = `${code}:${key}:`;
  return terms.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length));
}

/** Rewrites a filter on logical index paths into the stored layout (other paths unchanged). */
export function toStoredFilter(filter: MongoFilter): MongoFilter {
  const out: MongoFilter = {};
  for (const [field, condition] of Object.entries(filter)) {
    if (field === '$and' || field === '$or' || field === '$nor') {
      out[field] = (condition as MongoFilter[]).map(toStoredFilter);
      continue;
    }
    const match = /^idx\.([^.]+)(?:\.([^.]+))?$/.exec(field);
    if (!match) {
      out[field] = condition;
      continue;
    }
    const [, code, key] = match as unknown as [string, string, string | undefined];
    const clause =
      key === undefined ? presence(code, condition) : key === SORT_KEY ? { [storedSortPath(code)]: condition } : isRangeKey(key) ? { [`idx.r.${code}~${key}`]: condition } : term(`${code}:${key}:`, condition);
    merge(out, clause);
  }
  return out;
}

/** Two clauses on the same stored path (`idx.k`) cannot share one object: AND them. */
function merge(out: MongoFilter, clause: MongoFilter): void {
  for (const [field, condition] of Object.entries(clause)) {
    if (field in out) {
      const existing = { [field]: out[field] };
      delete out[field];
      out.$and = [...((out.$and as MongoFilter[] | undefined) ?? []), existing, { [field]: condition }];
    } else {
      out[field] = condition;
    }
  }
}

/**
 * `:missing` → a term of the parameter, or none: the anchored prefix `<code>:` (its terms and its
 * presence term both start so; a code holds no `:`, so no other parameter's terms do). Documents
 * indexed when every parameter had a presence term answer the same.
 */
function presence(code: string, condition: unknown): MongoFilter {
  const exists = (condition as { $exists?: boolean }).$exists;
  if (typeof exists !== 'boolean') {
    throw new Error(`unexpected condition on idx.${code}: ${JSON.stringify(condition)}`);
  }
  const prefix = { $regex: `^${escapeRegex(`${code}:`)}` };
  return { 'idx.k': exists ? prefix : { $not: prefix } };
}

/** A condition on one term key, as a condition on the terms array. */
function term(prefix: string, condition: unknown): MongoFilter {
  return { 'idx.k': termCondition(prefix, condition) };
}

function termCondition(prefix: string, condition: unknown): unknown {
  if (typeof condition === 'string' || typeof condition === 'number') {
    return `${prefix}${condition}`;
  }
  const result: Record<string, unknown> = {};
  for (const [op, operand] of Object.entries(condition as Record<string, unknown>)) {
    switch (op) {
      case '$eq':
      case '$ne':
        result[op] = `${prefix}${String(operand)}`;
        break;
      case '$in':
      case '$nin':
        result[op] = (operand as unknown[]).map((v) => `${prefix}${String(v)}`);
        break;
      case '$regex': {
        // Anchored patterns continue after the prefix; unanchored ones may start anywhere in the value.
        const pattern = String(operand);
        result.$regex = `^${escapeRegex(prefix)}${pattern.startsWith('^') ? pattern.slice(1) : `.*${pattern}`}`;
        break;
      }
      case '$not':
        result.$not = termCondition(prefix, operand);
        break;
      default:
        throw new Error(`unexpected operator ${op} on a term key`);
    }
  }
  return result;
}
