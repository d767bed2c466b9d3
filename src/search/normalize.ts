/**
 * Text normalisation shared by index extraction (write time) and search translation (read time):
 * both sides must fold and escape a value identically, or an exact lookup silently misses.
 * See: https://hl7.org/fhir/R4/search.html#string and #escaping
 */
import { createHash } from 'node:crypto';

/**
 * Folds a string for case- and accent-insensitive matching: lower case, canonical decomposition
 * (NFD) with the combining marks removed, whitespace collapsed to one space and trimmed.
 * "  Zoë   ÉLISE " → "zoe elise".
 */
export function foldText(value: string): string {
  // ASCII has no accents to remove: skip the (costly) decomposition.
  const lower = value.toLowerCase();
  const bare = ASCII.test(lower) ? lower : lower.normalize('NFD').replace(/\p{M}+/gu, '');
  return bare.replace(/\s+/g, ' ').trim();
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * How much of one string value the search index keeps (HAPI FHIR keeps 200 characters of a
 * string parameter, and a hash of the whole for exact matching). A value's index entry then
 * costs the same however long the value: a 1 MB `name.given` costs what a short one does to
 * extract, to store in each of the parameters that index it (`given`, `name`, `phonetic`), and
 * to decode on every scan. Searches on longer values are answered from the kept part:
 * `:exact` stays exact (the hash), starts-with and `:contains` of longer texts become
 * approximate (docs/storage.md).
 */
export const INDEXED_TEXT_LENGTH = 1024;

/** The first `length` UTF-16 units of `value`, never splitting a surrogate pair. */
export function clip(value: string, length: number): string {
  if (value.length <= length) return value;
  const last = value.charCodeAt(length - 1);
  return value.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}

/**
 * foldText of a value as the index keeps it: its first INDEXED_TEXT_LENGTH characters. Only a
 * bounded prefix is folded: folding never lengthens text by more than decomposition does, and
 * four times the kept length leaves room for whitespace and marks that fold away.
 */
export function foldIndexed(value: string): string {
  return clip(foldText(clip(value, 4 * INDEXED_TEXT_LENGTH)), INDEXED_TEXT_LENGTH);
}

/** A value as `:exact` finds it: itself, or past INDEXED_TEXT_LENGTH its kept part and a digest of the whole. */
export function exactIndexed(value: string): string {
  if (value.length <= INDEXED_TEXT_LENGTH) return value;
  return `${clip(value, INDEXED_TEXT_LENGTH)}#${createHash('sha256').update(value).digest('base64url')}`;
}

const SEPARATOR = /[\\|$]/;
const SEPARATORS = new RegExp(SEPARATOR.source, 'g');

/**
 * Escapes one part of a stored compound value (`system|code`, composite `a$b`) so that the
 * separators stay unambiguous: `\` → `\\`, `|` → `\|`, `$` → `\$`. Escaping works character by
 * character, so the escape of a prefix is a prefix of the escape (prefix regexes stay exact).
 */
export function escapePart(value: string): string {
  // Most parts have nothing to escape: testing is cheaper than replacing.
  return SEPARATOR.test(value) ? value.replace(SEPARATORS, (c) => `\\${c}`) : value;
}

/** `system|code` in the stored token form (`|code` when the value has no system). */
export function tokenForm(system: string | undefined, code: string): string {
  return `${system === undefined ? '' : escapePart(system)}|${escapePart(code)}`;
}

/**
 * Escapes a literal for use in a regular expression outside a character class, the same way for
 * JavaScript, MongoDB (PCRE) and FerretDB (Go RE2).
 */
export function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
