/** Matching a referred client to one the receiving agency has (referrals/client-match.ts). */
import type { Patient } from '@medplum/fhirtypes';
import { decideMatch, matchingIdentifiers, possibleDuplicateFlag } from '../../../src/workflows/referrals/client-match';

const SOURCE = { system: 'https://riverside.example.org/fhir/Patient', value: 'p9' };
const referred: Patient = {
  resourceType: 'Patient',
  birthDate: '1984-07-12',
  identifier: [
    { system: 'http://hmis.example.org/client-id', value: 'HM-77' },
    { system: 'http://hmis.example.org/client-id', value: 'HM-01', use: 'old' },
    { value: 'no-system' },
    { system: 'http://riverside.example.org/mrn' },
    { system: 'http://hmis.example.org/client-id', value: 'HM-77' },
  ],
};

test('matched on business identifiers with a system and a value, not old ones, and on the partner id of the client', () => {
  expect(matchingIdentifiers(referred, SOURCE)).toEqual([{ system: 'http://hmis.example.org/client-id', value: 'HM-77' }, SOURCE]);
});

describe('decideMatch', () => {
  const p = (reference: string, birthDate?: string) => ({ reference, patient: { resourceType: 'Patient', ...(birthDate ? { birthDate } : {}) } as Patient });
  test.each([
    ['nothing found: a new client', [], { kind: 'none' }],
    ['one client, found by two identifiers: that client', [p('Patient/a', '1984-07-12'), p('Patient/a', '1984-07-12')], { kind: 'one', patient: 'Patient/a' }],
    ['one client with no birth date: that client', [p('Patient/a')], { kind: 'one', patient: 'Patient/a' }],
    ['two clients: not merged', [p('Patient/b'), p('Patient/a')], { kind: 'ambiguous', candidates: ['Patient/a', 'Patient/b'], reason: "the referral's identifiers match 2 clients" }],
    [
      'one client born another day: not merged',
      [p('Patient/a', '1984-07-21')],
      { kind: 'ambiguous', candidates: ['Patient/a'], reason: "the referral's identifiers match a client born 1984-07-21, the referral says 1984-07-12" },
    ],
  ])('%s', (_title, found, expected) => {
    expect(decideMatch(referred, found)).toEqual(expected);
  });
});

test('the Flag for the case manager: active, administrative, on the new client, naming the others and the referral', () => {
  const flag = possibleDuplicateFlag({ id: 'f1', patient: 'Patient/new', match: { kind: 'ambiguous', candidates: ['Patient/a', 'Patient/b'], reason: 'two' }, task: 'Task/t1', author: 'Organization/harbor', start: '2026-12-05T07:00:00Z' });
  expect(flag).toMatchObject({
    resourceType: 'Flag',
    status: 'active',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'admin' }] }],
    subject: { reference: 'Patient/new' },
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/flag-detail', valueReference: { reference: 'Task/t1' } }],
    author: { reference: 'Organization/harbor' },
    period: { start: '2026-12-05T07:00:00Z' },
  });
  expect(flag.code.text).toContain('Patient/a, Patient/b');
});
