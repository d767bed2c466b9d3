/**
 * Names of the keys inside one `idx.<code>` object (docs/storage.md, "Search index"), shared by
 * the extractor that writes them and the translator that queries them.
 *
 * Keys that depend on data (a unit, a composite's first component) are a short hash of the data:
 * stored keys must not contain '.' or start with '$', and a unit code such as `mm[Hg]` or a system
 * URL would break that. The hash is base64url (letters, digits, '-', '_').
 */
import { createHash } from 'node:crypto';
import { escapePart, tokenForm } from './normalize';

export const KEY = {
  /** all types: one scalar sort key */
  sort: 'o',
  // string
  stringFolded: 's',
  stringExact: 'e',
  // token
  tokenCode: 'c',
  /** `system|code`, `|code`; also `system|` for a value with no code: `system|` searches are its prefix. */
  tokenSystemCode: 't',
  tokenText: 'x',
  tokenOfType: 'ot',
  // reference
  reference: 'r',
  referenceIdentifier: 'i',
  // date
  dateLow: 'lo',
  dateHigh: 'hi',
  /** `lo|hi` of each value: `eq` is an anchored pattern on it (date-range.ts spanOf). */
  dateSpan: 'w',
  // number and quantity
  numberValue: 'v',
  numberRounding: 'b',
  // uri
  uri: 'u',
  // composite
  compositeJoined: 'k',
} as const;

const HASH_LENGTH = 10;
const hashCache = new Map<string, string>();

/** A 60-bit key-safe digest of a data value (cached: units and codes repeat). */
export function keyHash(value: string): string {
  let h = hashCache.get(value);
  if (h === undefined) {
    h = createHash('sha256').update(value).digest('base64url').slice(0, HASH_LENGTH);
    if (hashCache.size > 10_000) {
      hashCache.clear();
    }
    hashCache.set(value, h);
  }
  return h;
}

/** `u<h>`: the values of one unit form (`system|code` or `|code`). */
export function unitValueKey(unitForm: string): string {
  return `u${keyHash(unitForm)}`;
}

/** `ub<h>`: the rounding buckets of one unit form. */
export function unitRoundingKey(unitForm: string): string {
  return `ub${keyHash(unitForm)}`;
}

/**
 * The forms a quantity's unit is found under: `system|code` when it has both, and `|code` and
 * `|unit` (the spec's `value||code` matches the code or the human unit in any system).
 */
export function quantityUnitForms(system: string | undefined, code: string | undefined, unit: string | undefined): string[] {
  const forms = new Set<string>();
  if (system && code) {
    forms.add(tokenForm(system, code));
  }
  if (code) {
    forms.add(tokenForm(undefined, code));
  }
  if (unit) {
    forms.add(tokenForm(undefined, unit));
  }
  return [...forms];
}

/** The unit form a quantity search value names: `system|code`, or `|code` when no system. */
export function searchUnitForm(system: string | undefined, code: string): string {
  return tokenForm(system || undefined, code);
}

/**
 * Prefix of the composite keys that hold the last component's values for one combination of the
 * leading components (`p<h>_v`, `p<h>_lo`, `p<h>_u<h2>`, …).
 */
export function compositePrefix(leading: string): string {
  return `p${keyHash(leading)}_`;
}

/** Joins component forms into one stored composite value (`k`). */
export function joinComponents(forms: readonly string[]): string {
  return forms.join('$');
}

/** Equality forms of a code with an optional system: `code` and `system|code` (or `|code`). */
export function codeForms(system: string | undefined, code: string): string[] {
  return [escapePart(code), tokenForm(system || undefined, code)];
}
