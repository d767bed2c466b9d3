/**
 * Text normalisation shared by index extraction (write time) and search translation (read time):
 * both sides must fold and escape a value identically, or an exact lookup silently misses.
 * See: https://hl7.org/fhir/R4/search.html#string and #escaping
 */

/**
 * Folds a string for case- and accent-insensitive matching: lower case, canonical decomposition
 * (NFD) with the combining marks removed, whitespace collapsed to one space and trimmed.
 * "  Zoë   ÉLISE " → "zoe elise".
 */
export function foldText(value: string): string {
  return value
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Escapes one part of a stored compound value (`system|code`, composite `a$b`) so that the
 * separators stay unambiguous: `\` → `\\`, `|` → `\|`, `$` → `\$`. Escaping works character by
 * character, so the escape of a prefix is a prefix of the escape (prefix regexes stay exact).
 */
export function escapePart(value: string): string {
  return value.replace(/[\\|$]/g, (c) => `\\${c}`);
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
