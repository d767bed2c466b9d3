import { parseFhirJson } from '../fhir/json-text';
import { FhirError } from '../fhir/outcomes';

/**
 * A request body as JSON, with decimals keeping the text the client wrote (fhir/json-text); the
 * one JSON reader of the FHIR and case APIs. Invalid JSON is 400 MALFORMED_JSON.
 */
export function parseJsonBody(raw: Buffer): unknown {
  try {
    return parseFhirJson(raw.toString('utf8'));
  } catch (err) {
    throw new FhirError('MALFORMED_JSON', `The request body is not valid JSON${err instanceof SyntaxError ? `: ${err.message}` : ''}`);
  }
}
