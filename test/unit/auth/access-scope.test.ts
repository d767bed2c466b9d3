/** What a caller may write: about its clients, the client of a referral it is party to, or a patient created in the same unit; AuditEvents never. */
import { assertMayWrite, purposesOf } from '../../../src/auth/access-scope';
import type { AccessScope } from '../../../src/store/repository';
import { failure } from '../../support/errors';

const PART2_LABEL = 'http://terminology.hl7.org/CodeSystem/v3-ActCode|42CFRPart2';

const scope: AccessScope = {
  openTypes: new Set(['Organization']),
  closedTypes: new Set(['AuditEvent']),
  owner: 'Organization/a',
  compartments: new Set(['Patient/p1']),
  references: new Map(),
  resources: new Set(['Patient/p9']),
  sensitive: new Map(),
  obligations: new Map(),
  retainedLabels: new Set([PART2_LABEL]),
};

test.each([
  ['Observation', ['Patient/p1'], []],
  ['Observation', ['Patient/new'], ['Patient/new']],
  ['Procedure', ['Patient/p9'], []],
  ['Organization', [], []],
  ['Practitioner', [], []],
])('%s about %j (unit creates %j) may be written', (resourceType, patients, unit) => {
  expect(() => assertMayWrite({ scope }, { resourceType, patients }, new Set(unit))).not.toThrow();
});

test.each([
  ['Observation', ['Patient/p2'], "another organisation's client"],
  ['Observation', ['Patient/p1', 'Patient/p2'], 'one of its patients is not in scope'],
  ['AuditEvent', [], 'CaseBridge writes audit events itself'],
])('%s about %j is 403 (%s)', (resourceType, patients) => {
  expect(failure(() => assertMayWrite({ scope }, { resourceType, patients }, new Set())).code).toBe('FORBIDDEN');
});

test('an unrestricted caller may write anything', () => {
  expect(() => assertMayWrite({}, { resourceType: 'AuditEvent', patients: ['Patient/x'] }, new Set())).not.toThrow();
});

test.each([
  [{ role: 'agency' as const }, ['TREAT']],
  [{ role: 'ehr' as const, purposes: ['ETREAT'] }, ['ETREAT']],
  [{ role: 'payer' as const }, []],
  [{ role: 'payer' as const, purposes: ['HPAYMT'] }, ['HPAYMT']],
])('purposes in force for %j: %j', (fields, expected) => {
  expect(purposesOf({ kind: 'system', id: 'c', display: 'c', scopes: [], ...fields })).toEqual(expected);
});
