/** Consents and labels: which consents disclose which sensitive labels to whom, for what, when. */
import type { Consent } from '@medplum/fhirtypes';
import { PART2, PART2_POLICY, PSYCHOTHERAPY_NOTE, RESTRICTED, consentedPatients } from '../../../src/auth/labels';

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const recipient = { references: new Set(['Organization/harbor', 'PractitionerRole/brooks']), purposes: ['TREAT'], now: new Date('2025-03-01T12:00:00Z') };

function consent(fields: Partial<Consent> & { provision?: Consent['provision'] } = {}): Consent {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { text: 'privacy' },
    category: [{ text: 'disclosure' }],
    patient: { reference: 'Patient/p1' },
    ...fields,
    provision: {
      type: 'permit',
      period: { start: '2025-01-01', end: '2025-12-31' },
      actor: [{ role: { text: 'IRCP' }, reference: { reference: 'Organization/harbor' } }],
      purpose: [{ system: ACT_REASON, code: 'TREAT' }],
      ...fields.provision,
    },
  };
}

const covered = (consents: Consent[], who = recipient) => Object.fromEntries([...consentedPatients(consents, who)].map(([label, patients]) => [label, [...patients]]));

test('a Part 2 consent naming the recipient and purpose discloses Part 2 and restricted data of its patient', () => {
  const result = covered([consent({ policy: [{ uri: PART2_POLICY }], provision: { securityLabel: [{ system: ACT_CODE, code: '42CFRPart2' }] } })]);
  expect(result[PART2]).toEqual(['Patient/p1']);
  expect(result[RESTRICTED]).toEqual(['Patient/p1']);
  expect(result[PSYCHOTHERAPY_NOTE]).toEqual([]);
});

test('a general release discloses restricted data, never Part 2 or psychotherapy notes', () => {
  const result = covered([consent()]);
  expect(result[RESTRICTED]).toEqual(['Patient/p1']);
  expect(result[PART2]).toEqual([]);
  expect(result[PSYCHOTHERAPY_NOTE]).toEqual([]);
});

test('the recipient may be named by one of its PractitionerRoles', () => {
  expect(covered([consent({ provision: { actor: [{ role: { text: 'IRCP' }, reference: { reference: 'PractitionerRole/brooks' } }] } })])[RESTRICTED]).toEqual(['Patient/p1']);
});

test.each<[string, Consent]>([
  ['revoked (inactive)', consent({ status: 'inactive' })],
  ['entered in error', consent({ status: 'entered-in-error' })],
  ['a deny provision', consent({ provision: { type: 'deny' } })],
  ['expired', consent({ provision: { period: { start: '2024-01-01', end: '2025-02-28' } } })],
  ['not yet in force', consent({ provision: { period: { start: '2025-06-01' } } })],
  ['for another recipient', consent({ provision: { actor: [{ role: { text: 'IRCP' }, reference: { reference: 'Organization/other' } }] } })],
  ['for another purpose', consent({ provision: { purpose: [{ system: ACT_REASON, code: 'HPAYMT' }] } })],
])('a consent %s discloses nothing', (_title, c) => {
  expect(covered([c])[RESTRICTED]).toEqual([]);
});

test('a period ending on a date covers that whole day', () => {
  const lastDay = { ...recipient, now: new Date('2025-12-31T23:00:00Z') };
  expect(covered([consent()], lastDay)[RESTRICTED]).toEqual(['Patient/p1']);
});

test('a recipient that states no purpose is disclosed nothing', () => {
  expect(covered([consent()], { ...recipient, purposes: [] })[RESTRICTED]).toEqual([]);
});
