/**
 * The lexical forms and value ranges of the R4 primitive types in JSON: the JSON type each is
 * written as, its regex (XML Schema semantics: `\s` is only space, tab, CR, LF), calendar validity
 * of dates and times, and the 32-bit range of integer, unsignedInt and positiveInt.
 * See: https://hl7.org/fhir/R4/datatypes.html#primitive, https://hl7.org/fhir/R4/json.html#primitive
 */
import { calendarProblem } from './dates';
import { excerpt, jsonType } from './json';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** The regexes of datatypes.html, anchored; base64Binary is checked by isBase64 (below). */
const PATTERNS: Readonly<Record<string, RegExp>> = {
  date: /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$/,
  dateTime:
    /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/,
  // `.` and `..` are dot-segments in a URL (fhir/versioning.ts ID_PATTERN).
  id: /^(?!\.\.?$)[A-Za-z0-9\-.]{1,64}$/,
  instant:
    /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/,
  oid: /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/,
  time: /^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$/,
  uuid: /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
};

/**
 * The forms of unbounded length, as what they must NOT contain: the same languages as
 * datatypes.html's `[^\s]*` (uri, url, canonical) and `[^\s]+(\s[^\s]+)*` (code), matched
 * without a repeated pattern, so that a megabyte-long value costs one scan and no backtracking.
 */
const UNBOUNDED_FORMS: Readonly<Record<string, RegExp>> = {
  canonical: /[ \t\r\n]/,
  uri: /[ \t\r\n]/,
  url: /[ \t\r\n]/,
  code: /^[ \t\r\n]|[ \t\r\n]$|[ \t\r\n]{2}/,
};

/** Longer than any date, time, id, uuid or real oid. */
const LONGEST_PATTERNED = 1024;

const NUMERIC = new Set(['integer', 'unsignedInt', 'positiveInt', 'decimal']);

export interface PrimitiveProblem {
  /** `structure` for a wrong JSON type, `value` for a wrong form or range. */
  type: 'structure' | 'value';
  message: string;
}

/**
 * What is wrong with a primitive's JSON value, or undefined. `null` is the caller's business.
 * `written`: a number's text, when the double does not reproduce it (`1.0`, `1e2`,
 * `9007199254740993`): an integer must be written as one, and exactly.
 */
export function primitiveProblem(code: string, value: unknown, written?: string): PrimitiveProblem | undefined {
  if (code === 'boolean') {
    return typeof value === 'boolean' ? undefined : wrongJsonType(code, 'boolean', value);
  }
  if (NUMERIC.has(code)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return wrongJsonType(code, 'number', value);
    }
    if (code === 'decimal') {
      return undefined;
    }
    if (written !== undefined && !/^-?(0|[1-9][0-9]*)$/.test(written)) {
      return { type: 'value', message: `Invalid ${code}: ${written.slice(0, 40)} is not written as an integer (no fraction, no exponent)` };
    }
    return integerProblem(code, value, written);
  }
  if (typeof value !== 'string') {
    return wrongJsonType(code, 'string', value);
  }
  if (value === '') {
    return { type: 'value', message: `Invalid ${code}: a value cannot be empty (omit the element instead)` };
  }
  if (code === 'base64Binary') {
    return isBase64(value) ? undefined : { type: 'value', message: `Invalid value format for base64Binary: ${excerpt(value)}` };
  }
  const pattern = PATTERNS[code];
  const unbounded = UNBOUNDED_FORMS[code];
  // The patterns are of short forms (dates, ids, uuids, oids): a long value fails without being matched.
  if ((pattern && (value.length > LONGEST_PATTERNED || !pattern.test(value))) || (unbounded && unbounded.test(value))) {
    return { type: 'value', message: `Invalid value format for ${code}: ${excerpt(value)}${formatHint(code, value)}` };
  }
  // A uri naming a UUID or an OID must be one (uuid and oid are uris of that form).
  if ((code === 'uri' || code === 'url' || code === 'canonical') && (value.startsWith('urn:uuid:') || value.startsWith('urn:oid:'))) {
    const special = value.startsWith('urn:uuid:') ? 'uuid' : 'oid';
    if (value.length > LONGEST_PATTERNED || !(PATTERNS[special] as RegExp).test(value)) {
      return { type: 'value', message: `Invalid ${code}: ${excerpt(value)} is not a valid ${special}` };
    }
  }
  if (code === 'date' || code === 'dateTime' || code === 'instant') {
    const problem = calendarProblem(value, code);
    return problem ? { type: 'value', message: problem } : undefined;
  }
  return undefined;
}

/**
 * datatypes.html's base64Binary: groups of four base64 characters, whitespace allowed anywhere.
 * Checked by one loop over the characters: a regex with a repeated group (or even a repeated
 * character class, once V8 compiles it to native code) keeps a backtrack entry per repetition
 * and overflows the stack on a few megabytes.
 */
function isBase64(value: string): boolean {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    const base64 = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2b || c === 0x2f || c === 0x3d;
    if (!base64) return false;
    count++;
  }
  return count > 0 && count % 4 === 0;
}

function integerProblem(code: string, value: number, written?: string): PrimitiveProblem | undefined {
  if (!Number.isInteger(value)) {
    return { type: 'value', message: `Invalid ${code}: ${value} is not a whole number` };
  }
  const min = code === 'positiveInt' ? 1 : code === 'unsignedInt' ? 0 : INT32_MIN;
  if (value < min || value > INT32_MAX) {
    return { type: 'value', message: `Invalid ${code}: ${(written ?? String(value)).slice(0, 40)} is outside ${min}..${INT32_MAX} (${code} is a 32-bit integer)` };
  }
  return undefined;
}

function wrongJsonType(code: string, expected: string, value: unknown): PrimitiveProblem {
  return { type: 'structure', message: `Invalid JSON type for ${code}: expected ${expected}, got ${jsonType(value)}` };
}

/** Why a value fails its primitive's regex, when a common mistake explains it. */
function formatHint(code: string, value: string): string {
  if (value.trim() !== value) {
    return ' (leading or trailing whitespace)';
  }
  if ((code === 'dateTime' || code === 'instant') && /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) {
    return ' (a time needs seconds and a time zone: Z or +hh:mm)';
  }
  if (code === 'instant' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(value)) {
    return ' (an instant needs date, time and time zone)';
  }
  if ((code === 'dateTime' || code === 'instant') && /T\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    return ' (seconds are required)';
  }
  if (code === 'id') {
    return /^\.\.?$/.test(value) ? ' ("." and ".." are not ids: they are URL path segments)' : ' (1-64 characters: letters, digits, "-" and ".")';
  }
  return '';
}
