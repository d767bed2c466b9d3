// Validation costs linear time and constant stack in the length of a value (issue 12, item 4):
// megabyte-long values of every unbounded primitive are judged, never a RangeError (a regex with
// a repeated group, or a repeated class once V8 compiles it natively, overflowed the stack).
import type { Resource } from '@medplum/fhirtypes';
import { validateResource } from '../../../src/fhir/validation';

const long = (unit: string) => unit.repeat(Math.ceil(4_000_000 / unit.length));

test.each<[string, unknown, string | undefined]>([
  ['base64Binary', { resourceType: 'Binary', contentType: 'application/octet-stream', data: long('QUJD') }, undefined],
  ['base64Binary with a bad character', { resourceType: 'Binary', contentType: 'application/octet-stream', data: `${long('QUJD')}!` }, 'Binary.data'],
  ['uri', { resourceType: 'Patient', identifier: [{ system: `http://x/${long('a')}`, value: '1' }] }, undefined],
  ['uri with a space', { resourceType: 'Patient', identifier: [{ system: `http://x/${long('a')} `, value: '1' }] }, 'Patient.identifier[0].system'],
  ['code', { resourceType: 'Patient', communication: [{ language: { coding: [{ code: long('a') }] } }] }, undefined],
  ['code with two spaces', { resourceType: 'Patient', communication: [{ language: { coding: [{ code: `a  ${long('b')}` }] } }] }, 'Patient.communication[0].language.coding[0].code'],
  ['an oid-like uri', { resourceType: 'Patient', identifier: [{ system: `urn:oid:1${long('.1')}`, value: '1' }] }, 'Patient.identifier[0].system'],
  ['a string', { resourceType: 'Patient', name: [{ family: long('é ') }] }, undefined],
])('a 4 MB %s is judged without overflowing the stack', (_title, resource, errorAt) => {
  // Twice: the second run sees the regexes V8 has compiled to native code meanwhile.
  for (let i = 0; i < 2; i++) {
    const errors = validateResource(resource as Resource).filter((issue) => issue.severity === 'error');
    expect(errors.map((e) => e.expression?.[0])).toEqual(errorAt === undefined ? [] : [errorAt]);
  }
});
