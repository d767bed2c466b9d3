/**
 * Stage 3: the FHIR R4 JSON schema, run by the ajv validator generated at build time: JSON types,
 * unknown elements, primitive formats (regexes), the code enums the schema has, required complex
 * elements, nested resource types. Fast, and the only stage that knows array-versus-single and
 * unknown elements with exact paths; its errors are mapped to one issue per element, with the
 * FHIR type named. See: https://hl7.org/fhir/R4/json.html#schema
 */
import type { ErrorObject } from 'ajv';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { fhirTypeAt, locationOf } from './element-types';
import { jsonSchemaValidator } from './generated-validator';
import { MAX_ISSUES, invalidCode, issuePath, makeIssue } from './issues';
import { excerpt, isObject, jsonType, member } from './json';
import type { JsonObject } from './json';

export interface SchemaCheck {
  issues: OperationOutcomeIssue[];
  /** A nested resource has an unknown or missing resourceType (Medplum would abort on it). */
  unknownNestedType: boolean;
}

/** Preference among ajv errors at one path: the lowest rank wins. */
const AJV_RANK: Record<string, number> = { type: 0, required: 0, additionalProperties: 0, discriminator: 1, enum: 2, pattern: 3 };

export function checkJsonSchema(resource: JsonObject, type: string): SchemaCheck {
  const validate = jsonSchemaValidator();
  if (validate(resource)) {
    return { issues: [], unknownNestedType: false };
  }
  const best = new Map<string, { issue: OperationOutcomeIssue; rank: number }>();
  let unknownNestedType = false;
  // allErrors can yield one error per unknown key; more than this cannot survive the issue cap.
  for (const error of (validate.errors ?? []).slice(0, MAX_ISSUES * 5)) {
    const mapped = mapAjvError(resource, type, error);
    if (!mapped) {
      continue;
    }
    unknownNestedType ||= error.keyword === 'discriminator';
    // Several unknown elements of one object share its location: keep each.
    const p = error.keyword === 'additionalProperties' ? `${issuePath(mapped)}\u0000${String((error.params as Record<string, unknown>).additionalProperty)}` : issuePath(mapped);
    const rank = AJV_RANK[error.keyword] ?? 9;
    const current = best.get(p);
    if (!current || rank < current.rank) {
      best.set(p, { issue: mapped, rank });
    }
  }
  return { issues: [...best.values()].map((b) => b.issue), unknownNestedType };
}

interface Located {
  path: string;
  value: unknown;
  /** The array holding the value, when it is an array item. */
  array?: unknown[];
  index?: number;
  /** The object and key holding `array` (or the value). */
  owner?: JsonObject;
  key?: string;
  /** The JSON keys from the resource down to the value. */
  keys: string[];
}

/** Follows an ajv instancePath (JSON Pointer) into the resource. */
function locate(resource: JsonObject, type: string, instancePath: string): Located {
  const located: Located = { path: type, value: resource, keys: [] };
  if (instancePath === '') {
    return located;
  }
  for (const raw of instancePath.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const container = located.value;
    if (Array.isArray(container)) {
      located.array = container;
      located.index = Number(segment);
      located.path += `[${segment}]`;
      located.value = container[located.index];
    } else {
      located.array = undefined;
      located.index = undefined;
      located.owner = isObject(container) ? container : undefined;
      located.key = segment;
      located.path = member(located.path, segment);
      located.value = isObject(container) && Object.hasOwn(container, segment) ? container[segment] : undefined;
    }
    located.keys.push(segment);
  }
  located.path = locationOf(resource, type, located.keys);
  return located;
}

/**
 * In FHIR JSON a repeating primitive may hold null where its `_name` partner array has the
 * id/extensions, and vice versa (`"given": ["a", null], "_given": [null, {...}]`); the JSON schema
 * does not know this. See: https://hl7.org/fhir/R4/json.html#primitive
 */
function isPrimitivePlaceholder(at: Located): boolean {
  if (at.value !== null || at.array === undefined || at.index === undefined || !at.owner || at.key === undefined) {
    return false;
  }
  const partnerKey = at.key.startsWith('_') ? at.key.slice(1) : `_${at.key}`;
  const partner = at.owner[partnerKey];
  return Array.isArray(partner) && partner[at.index] !== null && partner[at.index] !== undefined;
}

/** Name of the primitive definition an ajv error comes from (`#/definitions/date/pattern`). */
function primitiveFromSchemaPath(schemaPath: string): string | undefined {
  const m = /^#\/definitions\/([a-z][A-Za-z0-9]*)\//.exec(schemaPath);
  return m?.[1];
}

function mapAjvError(resource: JsonObject, type: string, error: ErrorObject): OperationOutcomeIssue | undefined {
  const at = locate(resource, type, error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const owner = fhirTypeAt(resource, type, at.keys) ?? 'this element';
      // Located at the object holding it, as the HL7 validator does ("Unrecognized property").
      return makeIssue({
        type: 'structure',
        message: `Unknown element "${key}": not defined for ${owner}`,
        expression: [at.path],
      });
    }
    case 'required': {
      const key = String(params.missingProperty);
      if (key !== 'resourceType') {
        return undefined; // cardinality: the structure stage reports it, at the holding element
      }
      return makeIssue({ type: 'required', message: 'Missing resourceType: a nested resource needs one', expression: [at.path] });
    }
    case 'discriminator': {
      const tagValue = params.tagValue;
      const unknown = params.error === 'mapping';
      return makeIssue({
        type: unknown ? 'not-supported' : 'required',
        code: unknown ? 'UNKNOWN_TYPE' : 'INVALID_RESOURCE',
        message: unknown
          ? `Unknown resource type ${excerpt(tagValue)}: not an R4 resource type`
          : 'Missing resourceType: a nested resource needs a string resourceType',
        // A nested resource is located at itself, as the HL7 validator does.
        expression: [at.path],
      });
    }
    case 'type': {
      if (isPrimitivePlaceholder(at)) {
        return undefined;
      }
      const fhirType = primitiveFromSchemaPath(error.schemaPath) ?? fhirTypeAt(resource, type, at.keys);
      const expected = String(params.type);
      let message: string;
      if (at.value === null) {
        message = 'null is not a valid value: omit the element instead';
      } else if (expected === 'array') {
        message = `Invalid JSON type: expected an array${fhirType ? ` of ${fhirType}` : ''}, got ${jsonType(at.value)}`;
      } else {
        const article = expected === 'object' ? 'an ' : '';
        message = `Invalid JSON type${fhirType ? ` for ${fhirType}` : ''}: expected ${article}${expected}, got ${jsonType(at.value)}`;
      }
      return makeIssue({ type: 'structure', message, expression: [at.path] });
    }
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues.map(String) : [];
      return invalidCode(at.value, allowed, at.path);
    }
    case 'pattern': {
      const fhirType = primitiveFromSchemaPath(error.schemaPath) ?? fhirTypeAt(resource, type, at.keys);
      return makeIssue({
        type: 'value',
        message: `Invalid value format${fhirType ? ` for ${fhirType}` : ''}: ${excerpt(at.value)}${formatHint(fhirType, at.value)}`,
        expression: [at.path],
      });
    }
    case 'oneOf':
    case 'anyOf':
    case 'if':
      return undefined; // summaries of the branch errors reported separately
    default:
      return makeIssue({ type: 'structure', message: `Invalid value: ${error.message ?? error.keyword}`, expression: [at.path] });
  }
}

/** Why a value fails its primitive's regex, when a common mistake explains it. */
function formatHint(fhirType: string | undefined, value: unknown): string {
  if (typeof value !== 'string') {
    return '';
  }
  if (value === '') {
    return ' (empty strings are not allowed: omit the element instead)';
  }
  if (value.trim() !== value && fhirType !== 'string' && fhirType !== 'markdown') {
    return ' (leading or trailing whitespace)';
  }
  if ((fhirType === 'dateTime' || fhirType === 'instant') && /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) {
    return ' (a time needs seconds and a time zone: Z or +hh:mm)';
  }
  if (fhirType === 'instant' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(value)) {
    return ' (an instant needs date, time and time zone)';
  }
  if ((fhirType === 'dateTime' || fhirType === 'instant') && /T\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    return ' (seconds are required)';
  }
  if (fhirType === 'id') {
    return ' (1-64 characters: letters, digits, "-" and ".")';
  }
  return '';
}
