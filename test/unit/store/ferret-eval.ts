/**
 * A tiny query evaluator with exactly the FerretDB 1.x semantics the translator may rely on:
 *
 * - a condition on an array path holds when ANY element satisfies it, and each operator of one
 *   condition object is checked on its own: `{a: {$gte: 1, $lt: 2}}` holds when some element is
 *   ≥ 1 and some (possibly other) element is < 2 — uncorrelated;
 * - equality, $in, $nin (no element in the list), $ne (no element equal), $all, $exists, $regex,
 *   $gt/$gte/$lt/$lte (type-bracketed: numbers with numbers, strings with strings), $not,
 *   $and/$or/$nor;
 * - `$elemMatch` and `$expr` are refused, as FerretDB cannot tie conditions to one element.
 *
 * If the translator's filters give the FHIR answer under these rules, they give it on FerretDB.
 */
type Doc = Record<string, unknown>;

function get(doc: unknown, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) {
      return undefined;
    }
    current = (current as Doc)[part];
  }
  return current;
}

function elements(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function sameType(a: unknown, b: unknown): boolean {
  return typeof a === typeof b && (typeof a === 'number' || typeof a === 'string');
}

function compare(op: string, a: unknown, b: unknown): boolean {
  if (!sameType(a, b)) {
    return false;
  }
  const x = a as number | string;
  const y = b as number | string;
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
  throw new Error(`not a comparison: ${op}`);
}

function isOperatorObject(value: unknown): value is Doc {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0 &&
    Object.keys(value).every((k) => k.startsWith('$'))
  );
}

function fieldMatches(value: unknown, condition: unknown): boolean {
  const items = elements(value);
  if (!isOperatorObject(condition)) {
    return items.some((e) => e === condition);
  }
  return Object.entries(condition).every(([op, arg]) => {
    switch (op) {
      case '$eq':
        return items.some((e) => e === arg);
      case '$ne':
        return !items.some((e) => e === arg);
      case '$in':
        return items.some((e) => (arg as unknown[]).includes(e));
      case '$nin':
        return !items.some((e) => (arg as unknown[]).includes(e));
      case '$all':
        return (arg as unknown[]).every((a) => items.includes(a));
      case '$exists':
        return (value !== undefined) === arg;
      case '$regex': {
        const re = new RegExp(arg as string);
        return items.some((e) => typeof e === 'string' && re.test(e));
      }
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        return items.some((e) => compare(op, e, arg));
      case '$not':
        return !fieldMatches(value, arg);
      case '$elemMatch':
      case '$expr':
        throw new Error(`${op} is not usable on FerretDB 1.x`);
      default:
        throw new Error(`operator ${op} is not supported by this evaluator`);
    }
  });
}

/** Does `doc` match `filter` under FerretDB 1.x semantics? */
export function matches(doc: Doc, filter: Doc): boolean {
  return Object.entries(filter).every(([key, condition]) => {
    switch (key) {
      case '$and':
        return (condition as Doc[]).every((f) => matches(doc, f));
      case '$or':
        return (condition as Doc[]).some((f) => matches(doc, f));
      case '$nor':
        return !(condition as Doc[]).some((f) => matches(doc, f));
      case '$expr':
        throw new Error('$expr is not supported by FerretDB 1.x');
      default:
        if (key.startsWith('$')) {
          throw new Error(`operator ${key} is not supported by this evaluator`);
        }
        return fieldMatches(get(doc, key), condition);
    }
  });
}

/** The values of `path` in a document, arrays flattened (what a projection gives the executor). */
export function select(doc: Doc, path: string): string[] {
  return elements(get(doc, path)).filter((v): v is string => typeof v === 'string');
}
