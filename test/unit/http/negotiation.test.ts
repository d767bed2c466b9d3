/** Content negotiation, the Prefer header and the JSON body reader of the HTTP adapter. See: https://hl7.org/fhir/R4/http.html#mime-type */
import { parsePrefer } from '../../../src/http/fhir-endpoint';
import { parseJsonBody } from '../../../src/http/json-body';
import { requestBodyKind, responseMediaType } from '../../../src/http/negotiation';
import { stringifyFhirJson } from '../../../src/fhir/json-text';
import { FhirError } from '../../../src/fhir/outcomes';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof FhirError) return err.code;
    throw err;
  }
  return 'none';
}

describe('responseMediaType: FHIR JSON, or plain JSON when that is what was asked', () => {
  test.each([
    [undefined, undefined, 'application/fhir+json'],
    ['*/*', undefined, 'application/fhir+json'],
    ['application/json', undefined, 'application/json'],
    ['application/fhir+json; fhirVersion=4.0', undefined, 'application/fhir+json'],
    ['application/fhir+xml, application/json;q=0.5', undefined, 'application/json'],
    ['application/fhir+xml', 'json', 'application/fhir+json'],
    [undefined, 'application/json', 'application/json'],
  ])('Accept %s, _format %s → %s', (accept, format, expected) => {
    expect(responseMediaType(accept, format)).toBe(expected);
  });

  test.each([
    ['application/fhir+xml', undefined],
    ['application/fhir+json; fhirVersion=3.0', undefined],
    [undefined, 'xml'],
  ])('Accept %s, _format %s → 406', (accept, format) => {
    expect(code(() => responseMediaType(accept, format))).toBe('NOT_ACCEPTABLE');
  });
});

describe('requestBodyKind: a body is FHIR JSON, a JSON Patch or a _search form; anything else is 415', () => {
  test.each([
    ['application/fhir+json', 'fhir'],
    ['application/json; charset=utf-8', 'fhir'],
    ['application/json-patch+json', 'json-patch'],
    ['application/x-www-form-urlencoded', 'form'],
  ])('%s → %s', (contentType, kind) => {
    expect(requestBodyKind(contentType, 'POST')).toBe(kind);
  });

  test.each([[undefined], ['application/fhir+xml'], ['application/fhir+json; charset=latin1'], ['application/fhir+json; fhirVersion=5.0']])('%s → 415', (contentType) => {
    expect(code(() => requestBodyKind(contentType, 'POST'))).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

test.each([
  ['return=minimal', { return: 'minimal' }],
  ['return=OperationOutcome; handling=strict', { return: 'OperationOutcome', handling: 'strict' }],
  ['handling="lenient", respond-async', { handling: 'lenient', respondAsync: true }],
  ['return=everything', {}],
  [undefined, {}],
])('Prefer: %s', (header, expected) => {
  expect(parsePrefer(header)).toEqual(expected);
});

test('a JSON body keeps the text of its decimals; invalid JSON is 400 MALFORMED_JSON', () => {
  expect(stringifyFhirJson(parseJsonBody(Buffer.from('{"value": 1.50}')))).toBe('{"value":1.50}');
  expect(code(() => parseJsonBody(Buffer.from('{"value": ')))).toBe('MALFORMED_JSON');
});
