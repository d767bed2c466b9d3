/**
 * The media types of the FHIR API, named once for every layer that needs them.
 * See: https://hl7.org/fhir/R4/http.html#mime-type
 */
export const FHIR_JSON = 'application/fhir+json';
export const JSON_PATCH = 'application/json-patch+json';
export const FORM = 'application/x-www-form-urlencoded';

/** The bare media type of a Content-Type or Accept range: `Application/FHIR+json; charset=utf-8` → application/fhir+json. */
export function mediaTypeOf(header: string): string {
  return (header.split(';')[0] ?? '').trim().toLowerCase();
}
