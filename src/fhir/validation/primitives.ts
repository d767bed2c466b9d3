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

/** The regexes of datatypes.html, anchored; base64Binary rewritten to match in linear time. */
const PATTERNS: Readonly<Record<string, RegExp>> = {
  base64Binary: /^[ \t\r\n]*([0-9a-zA-Z+/=][ \t\r\n]*[0-9a-zA-Z+/=][ \t\r\n]*[0-9a-zA-Z+/=][ \t\r\n]*[0-9a-zA-Z+/=][ \t\r\n]*)+$/,
  canonical: /^[^ \t\r\n]*$/,
  code: /^[^ \t\r\n]+([ \t\r\n][^ \t\r\n]+)*$/,
  date: /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$/,
  dateTime:
    /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/,
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  instant:
    /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/,
  oid: /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/,
  time: /^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$/,
  uri: /^[^ \t\r\n]*$/,
  url: /^[^ \t\r\n]*$/,
  uuid: /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
};

const NUMERIC = new Set(['integer', 'unsignedInt', 'positiveInt', 'decimal']);

export interface PrimitiveProblem {
  /** `structure` for a wrong JSON type, `value` for a wrong form or range. */
  type: 'structure' | 'value';
  message: string;
}

/** What is wrong with a primitive's JSON value, or undefined. `null` is the caller's business. */
export function primitiveProblem(code: string, value: unknown): PrimitiveProblem | undefined {
  if (code === 'boolean') {
    return typeof value === 'boolean' ? undefined : wrongJsonType(code, 'boolean', value);
  }
  if (NUMERIC.has(code)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return wrongJsonType(code, 'number', value);
    }
    return code === 'decimal' ? undefined : integerProblem(code, value);
  }
  if (typeof value !== 'string') {
    return wrongJsonType(code, 'string', value);
  }
  if (value === '') {
    return { type: 'value', message: `Invalid ${code}: a value cannot be empty (omit the element instead)` };
  }
  const pattern = PATTERNS[code];
  if (pattern && !pattern.test(value)) {
    return { type: 'value', message: `Invalid value format for ${code}: ${excerpt(value)}${formatHint(code, value)}` };
  }
  // A uri naming a UUID or an OID must be one (uuid and oid are uris of that form).
  if ((code === 'uri' || code === 'url' || code === 'canonical') && (value.startsWith('urn:uuid:') || value.startsWith('urn:oid:'))) {
    const special = value.startsWith('urn:uuid:') ? 'uuid' : 'oid';
    if (!(PATTERNS[special] as RegExp).test(value)) {
      return { type: 'value', message: `Invalid ${code}: ${excerpt(value)} is not a valid ${special}` };
    }
  }
  if (code === 'date' || code === 'dateTime' || code === 'instant') {
    const problem = calendarProblem(value, code);
    return problem ? { type: 'value', message: problem } : undefined;
  }
  return undefined;
}

function integerProblem(code: string, value: number): PrimitiveProblem | undefined {
  if (!Number.isInteger(value)) {
    return { type: 'value', message: `Invalid ${code}: ${value} is not a whole number` };
  }
  const min = code === 'positiveInt' ? 1 : code === 'unsignedInt' ? 0 : INT32_MIN;
  if (value < min || value > INT32_MAX) {
    return { type: 'value', message: `Invalid ${code}: ${value} is outside ${min}..${INT32_MAX} (${code} is a 32-bit integer)` };
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
    return ' (1-64 characters: letters, digits, "-" and ".")';
  }
  return '';
}
