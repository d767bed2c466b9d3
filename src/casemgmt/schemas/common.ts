/**
 * Building blocks of the case API's JSON Schemas (2020-12, the dialect of OpenAPI 3.1). Every
 * command schema is self-contained (no $ref), so that each compiles alone with ajv in strict mode
 * and appears as it is in the OpenAPI document. Field names are the case manager's, not FHIR's.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** FHIR id: 1-64 of A-Z a-z 0-9 - . */
export const FHIR_ID = '[A-Za-z0-9\\-.]{1,64}';

export const text = (description: string, maxLength = 10_000): JsonSchema => ({ type: 'string', minLength: 1, maxLength, description });

/** A calendar date, YYYY-MM-DD (checked against the calendar). */
export const date = (description: string): JsonSchema => ({ type: 'string', format: 'date', description });

/**
 * A date, or a date and time with a time zone (FHIR dateTime at day precision or finer):
 * `2025-03-01` or `2025-03-01T09:30:00-08:00`.
 */
export const dateTime = (description: string): JsonSchema => ({ type: 'string', format: 'fhir-date-time', description });

/** A relative reference `Type/id` to one of `types`, e.g. `PractitionerRole/cm-1`. */
export const reference = (types: readonly string[], description: string): JsonSchema => ({
  type: 'string',
  pattern: `^(${types.join('|')})/${FHIR_ID}$`,
  description: `${description} (a reference: ${types.map((t) => `${t}/<id>`).join(' or ')})`,
});

/**
 * The resource types a schema built by `reference()` accepts, or undefined for any other schema:
 * how the case API finds the references of a payload to check that each exists (references.ts).
 */
export function referenceTypes(schema: JsonSchema): readonly string[] | undefined {
  const { pattern } = schema;
  const suffix = `)/${FHIR_ID}$`;
  if (schema.type !== 'string' || typeof pattern !== 'string' || !pattern.startsWith('^(') || !pattern.endsWith(suffix)) return undefined;
  return pattern.slice(2, -suffix.length).split('|');
}

export const id = (description: string): JsonSchema => ({ type: 'string', pattern: `^${FHIR_ID}$`, description });

export const enumOf = (values: readonly string[], description: string): JsonSchema => ({ type: 'string', enum: [...values], description });

export const arrayOf = (items: JsonSchema, description: string, options: { minItems?: number; maxItems?: number } = {}): JsonSchema => ({
  type: 'array',
  items,
  ...(options.minItems !== undefined ? { minItems: options.minItems } : {}),
  maxItems: options.maxItems ?? 100,
  description,
});

export interface ObjectOptions {
  readonly required?: readonly string[];
  readonly description?: string;
  /** Alternatives: each a list of fields that must be present together (anyOf / oneOf of `required`). */
  readonly anyOf?: readonly (readonly string[])[];
  readonly oneOf?: readonly (readonly string[])[];
  readonly allOf?: readonly JsonSchema[];
}

/** A closed object (additionalProperties false). */
export function object(properties: Record<string, JsonSchema>, options: ObjectOptions = {}): JsonSchema {
  const alternatives = (sets: readonly (readonly string[])[]) =>
    // strictRequired: each branch declares the properties it requires.
    sets.map((fields) => ({ type: 'object', properties: Object.fromEntries(fields.map((f) => [f, true])), required: [...fields] }));
  return {
    type: 'object',
    ...(options.description ? { description: options.description } : {}),
    properties,
    ...(options.required && options.required.length > 0 ? { required: [...options.required] } : {}),
    additionalProperties: false,
    ...(options.anyOf ? { anyOf: alternatives(options.anyOf) } : {}),
    ...(options.oneOf ? { oneOf: alternatives(options.oneOf) } : {}),
    ...(options.allOf ? { allOf: [...options.allOf] } : {}),
  };
}

/** A code with its system, e.g. SNOMED CT or LOINC. */
export const coding = (description: string): JsonSchema =>
  object(
    {
      system: { type: 'string', pattern: '^[a-z][a-z0-9+.-]*:\\S+$', description: 'The code system (a URI, e.g. http://snomed.info/sct)' },
      code: { type: 'string', pattern: '^\\S+( \\S+)*$', maxLength: 256, description: 'The code' },
      display: text('How the code system names it', 1000),
    },
    { required: ['system', 'code'], description },
  );

/** Something named in words, optionally with a code: `{ "text": "Housing search assistance" }`. */
export const concept = (description: string): JsonSchema =>
  object({ text: text('In words', 1000), code: coding('A standard code for it (optional)') }, { required: ['text'], description });

/** Who records the command: becomes the Provenance's author (else the authenticated caller). */
export const recordedBy = reference(['PractitionerRole', 'Practitioner'], 'The case manager who records this command; the Provenance names them as author');
