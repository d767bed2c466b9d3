/**
 * fixed[x] and pattern[x] on JSON values, as ElementDefinition defines them (R4):
 * - fixed: "all values must be an exact match … Missing elements/attributes must also be
 *   missing" — deep equality, arrays in order;
 * - pattern: "any value in the pattern must be found in the instance": a primitive matches
 *   exactly; an object matches when each property of the pattern is present and matches; an
 *   array matches when each element of the pattern matches at least one element of the
 *   instance array. A CodeableConcept pattern `{coding:[{system,code}]}` therefore asks for one
 *   coding with that system and code among any others; an Identifier pattern `{system}` asks for
 *   that system whatever the value.
 * See: https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.pattern_x_
 */
import { isObject } from '../validation/json';

/** fixed[x]: exact equality (numbers by value, so 1.0 in JSON equals 1). */
export function equalsFixed(value: unknown, fixed: unknown): boolean {
  if (Array.isArray(fixed)) {
    return Array.isArray(value) && value.length === fixed.length && fixed.every((f, i) => equalsFixed(value[i], f));
  }
  if (isObject(fixed)) {
    if (!isObject(value)) {
      return false;
    }
    const keys = Object.keys(fixed);
    return keys.length === Object.keys(value).length && keys.every((k) => k in value && equalsFixed(value[k], fixed[k]));
  }
  return value === fixed;
}

/** pattern[x]: the instance holds at least what the pattern holds. */
export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return pattern.every((p) => items.some((v) => matchesPattern(v, p)));
  }
  if (isObject(pattern)) {
    return isObject(value) && Object.entries(pattern).every(([k, p]) => matchesPattern(value[k], p));
  }
  return value === pattern;
}
