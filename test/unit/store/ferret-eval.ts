/**
 * A query evaluator with exactly the FerretDB 1.x semantics the translator may rely on: the
 * store's own evaluator (src/store/mongo/filter-match.ts: a condition on an array holds when ANY
 * element satisfies it, and each operator of one condition object is checked on its own —
 * `{a: {$gte: 1, $lt: 2}}` holds when some element is ≥ 1 and some, possibly other, is < 2),
 * except that `$elemMatch` and `$expr` are refused, as FerretDB cannot tie conditions to one
 * element.
 *
 * If the translator's filters give the FHIR answer under these rules, they give it on FerretDB.
 */
import { matchesFilter } from '../../../src/store/mongo/filter-match';

type Doc = Record<string, unknown>;

function refuseUnusable(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, inner] of Object.entries(value as Doc)) {
    if (key === '$elemMatch' || key === '$expr') throw new Error(`${key} is not usable on FerretDB 1.x`);
    refuseUnusable(inner);
  }
}

/** Does `doc` match `filter` under FerretDB 1.x semantics? */
export function matches(doc: Doc, filter: Doc): boolean {
  refuseUnusable(filter);
  return matchesFilter(filter, doc);
}

/** The values of `path` in a document, arrays flattened (what a projection gives the executor). */
export function select(doc: Doc, path: string): string[] {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return [];
    current = (current as Doc)[part];
  }
  const values = current === undefined ? [] : Array.isArray(current) ? current : [current];
  return values.filter((v): v is string => typeof v === 'string');
}
