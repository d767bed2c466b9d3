/**
 * The JSON tree under validation, and how its positions are named. Every stage addresses an
 * element with the same FHIRPath-like expression (`Patient.name[0].given[1]`), so that the issue
 * list can tell when one stage's issue lies within another's.
 */

export type JsonObject = Record<string, unknown>;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `parent.key`, with FHIRPath backtick quoting for keys that are not identifiers. */
export function member(parent: string, key: string): string {
  return `${parent}.${IDENTIFIER.test(key) ? key : '`' + key.replace(/[`\\]/g, '\\$&') + '`'}`;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON type of a value, as a message names it: `null`, `array`, `string`, … */
export function jsonType(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  return Array.isArray(value) ? 'array' : typeof value;
}

/** A value quoted for a message, cut short: messages echo client input, never all of it. */
export function excerpt(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
