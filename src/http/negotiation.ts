/**
 * Content negotiation for the FHIR API: JSON only. XML (or anything we cannot produce) is a 406
 * for Accept/_format and a 415 for a request body. See: https://hl7.org/fhir/R4/http.html#mime-type
 */
import { FhirError } from '../fhir/outcomes';

import { FHIR_JSON, FORM, JSON_PATCH, mediaTypeOf } from '../fhir/media-types';

export { FHIR_JSON, FORM, JSON_PATCH };

/** FHIR versions we answer for, as in the fhirVersion MIME parameter. */
const FHIR_VERSIONS = new Set(['4.0', '4.0.1']);

interface MediaType {
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
}

function parseMediaType(value: string): MediaType {
  const [, ...rest] = value.split(';');
  const params: Record<string, string> = {};
  for (const part of rest) {
    const [k, v] = part.split('=');
    if (k && v !== undefined) {
      params[k.trim().toLowerCase()] = v.trim().replace(/^"|"$/g, '');
    }
  }
  return { type: mediaTypeOf(value), params };
}

/**
 * The media type of the response: application/fhir+json, or application/json when that is what
 * the client asked for. Throws 406 when the client accepts neither.
 */
export function responseMediaType(accept: string | undefined, format: string | undefined): string {
  if (format !== undefined) {
    const f = format.trim().toLowerCase();
    if (f === 'json' || f === FHIR_JSON || f === 'application/json' || f === 'fhir+json' || f === 'application/fhir json') {
      return f === 'application/json' ? 'application/json' : FHIR_JSON;
    }
    throw new FhirError('NOT_ACCEPTABLE', `_format=${format} is not supported: this server speaks FHIR JSON only (_format=json)`, {
      expression: ['_format'],
    });
  }
  if (accept === undefined || accept.trim() === '') {
    return FHIR_JSON;
  }
  const ranges = accept.split(',').map(parseMediaType);
  for (const range of ranges) {
    if (range.params.fhirversion !== undefined && !FHIR_VERSIONS.has(range.params.fhirversion)) {
      continue;
    }
    if (range.type === FHIR_JSON || range.type === '*/*' || range.type === 'application/*' || range.type === 'application/fhir+*') {
      return FHIR_JSON;
    }
    if (range.type === 'application/json') {
      return 'application/json';
    }
  }
  throw new FhirError('NOT_ACCEPTABLE', `Cannot answer with any of "${accept}": this server speaks application/fhir+json (FHIR R4 4.0)`);
}

export type BodyKind = 'fhir' | 'json-patch' | 'form';

/** Checks a request body's Content-Type; 415 for XML and anything else we cannot read. */
export function requestBodyKind(contentType: string | undefined, method: string): BodyKind {
  if (contentType === undefined || contentType.trim() === '') {
    throw new FhirError('UNSUPPORTED_MEDIA_TYPE', `A ${method} body needs Content-Type: application/fhir+json`);
  }
  const media = parseMediaType(contentType);
  if (media.params.fhirversion !== undefined && !FHIR_VERSIONS.has(media.params.fhirversion)) {
    throw new FhirError('UNSUPPORTED_MEDIA_TYPE', `fhirVersion=${media.params.fhirversion} is not supported; this server is FHIR R4 (4.0)`);
  }
  if (media.params.charset !== undefined && media.params.charset.toLowerCase() !== 'utf-8') {
    throw new FhirError('UNSUPPORTED_MEDIA_TYPE', `charset=${media.params.charset} is not supported; send UTF-8`);
  }
  switch (media.type) {
    case FHIR_JSON:
    case 'application/json':
      return 'fhir';
    case JSON_PATCH:
      return 'json-patch';
    case FORM:
      return 'form';
    default:
      throw new FhirError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Content-Type ${media.type} is not supported: send application/fhir+json (or application/json-patch+json for PATCH)`,
      );
  }
}
