/**
 * An access scope in the store: the search filter and the per-document check give the same answer
 * for every kind of rule, under FerretDB 1.x query semantics (ferret-eval.ts).
 */
import type { AccessScope } from '../../../src/store/repository';
import { accessFilter, assertLabelsKept, disclosed, isVisible, ownerTerm } from '../../../src/store/mongo/access';
import { matches } from './ferret-eval';

const PART2 = 'http://terminology.hl7.org/CodeSystem/v3-ActCode|42CFRPart2';
const NORDSCLCD = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'NORDSCLCD' };

const PART2_LABEL = 'http://terminology.hl7.org/CodeSystem/v3-ActCode|42CFRPart2';

const scope: AccessScope = {
  openTypes: new Set(['Organization']),
  closedTypes: new Set(['AuditEvent']),
  owner: 'Organization/a',
  compartments: new Set(['Patient/p1', 'Patient/p2']),
  references: new Map([['Task', { params: ['owner', 'requester'], targets: ['Organization/a', 'PractitionerRole/r1'] }]]),
  resources: new Set(['Patient/p9']),
  sensitive: new Map([[PART2, new Set(['Patient/p2'])]]),
  obligations: new Map([[PART2, NORDSCLCD]]),
  retainedLabels: new Set([PART2_LABEL]),
};

/** A stored document as the repository writes it: the owner is a field and a term of its index. */
const doc = (id: string, terms: string[], owner?: string) => ({ _id: id, ...(owner ? { owner } : {}), idx: { k: [...terms, ...(owner ? [ownerTerm(owner)] : [])], r: {}, o: {} } });
const labelled = `_security:t:${PART2}`;

test.each([
  ['Observation', doc('o1', ['subject:r:Patient/p1', 'patient:r:Patient/p1']), true, 'in the compartment of a patient in scope'],
  ['Observation', doc('o2', ['subject:r:Patient/p3', 'patient:r:Patient/p3']), false, "another organisation's client"],
  ['Observation', doc('o3', ['subject:r:Patient/p3', 'patient:r:Patient/p3'], 'Organization/a'), true, 'written by the organisation itself'],
  ['Observation', doc('o4', ['performer:r:Practitioner/x']), false, 'about no patient, owned by nobody'],
  ['Organization', doc('org', []), true, 'a directory'],
  ['AuditEvent', doc('ae', ['patient:r:Patient/p1'], 'Organization/a'), false, 'closed to this caller, even its own'],
  ['Task', doc('t1', ['owner:r:Organization/a', 'patient:r:Patient/p5']), true, 'a referral the organisation owns'],
  ['Task', doc('t2', ['requester:r:PractitionerRole/r1', 'patient:r:Patient/p5']), true, 'a referral one of its roles sent'],
  ['Task', doc('t3', ['owner:r:Organization/b', 'patient:r:Patient/p5']), false, "another organisation's referral"],
  ['Patient', doc('p1', []), true, 'a client in scope'],
  ['Patient', doc('p9', []), true, 'the client of a referral'],
  ['Patient', doc('p5', []), false, 'someone else'],
  ['Observation', doc('s1', ['subject:r:Patient/p1', labelled], 'Organization/b'), false, 'Part 2 data of another organisation, no consent'],
  ['Observation', doc('s2', ['subject:r:Patient/p1', labelled], 'Organization/a'), true, 'Part 2 data it owns'],
  ['Observation', doc('s3', ['subject:r:Patient/p2', labelled], 'Organization/b'), true, 'Part 2 data its patient consented to disclose'],
])('%s %j: visible = %s (%s)', (type, stored, expected) => {
  expect(isVisible(scope, type, stored)).toBe(expected);
  expect(matches(stored, accessFilter(scope, type))).toBe(expected);
});

test('a delete marker is visible to its owner only', () => {
  expect(isVisible(scope, 'Observation', { _id: 'd1', owner: 'Organization/a', deleted: true })).toBe(true);
  expect(isVisible(scope, 'Observation', { _id: 'd2', owner: 'Organization/b', deleted: true })).toBe(false);
});

test('a scope that grants nothing of a type matches nothing', () => {
  const bare: AccessScope = { ...scope, owner: undefined, compartments: new Set(), references: new Map(), resources: new Set() };
  expect(matches(doc('x', ['subject:r:Patient/p1']), accessFilter(bare, 'Observation'))).toBe(false);
  expect(accessFilter(bare, 'Organization')).toEqual({});
});

test('Part 2 data shown to a non-owner carries the no-redisclosure obligation; its owner sees it as stored', () => {
  const resource = { resourceType: 'Observation' as const, id: 's3', status: 'final' as const, code: { text: 'x' }, meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: '42CFRPart2' }] } };
  expect(disclosed(scope, doc('s3', [labelled], 'Organization/b'), resource).meta?.security).toContainEqual(NORDSCLCD);
  expect(disclosed(scope, doc('s3', [labelled], 'Organization/a'), resource)).toBe(resource);
  const already = { ...resource, meta: { security: [...resource.meta.security, NORDSCLCD] } };
  expect(disclosed(scope, doc('s3', [labelled], 'Organization/b'), already).meta?.security).toHaveLength(2);
});

test('an update may not take a retained label off the version it replaces; adding labels is fine', () => {
  const before = doc('s1', ['subject:r:Patient/p1', labelled]);
  expect(() => assertLabelsKept(scope.retainedLabels, before, doc('s1', ['subject:r:Patient/p1']), 'Observation/s1')).toThrow(/cannot be removed/);
  expect(() => assertLabelsKept(scope.retainedLabels, before, doc('s1', ['subject:r:Patient/p1', labelled, '_security:t:x|y']), 'Observation/s1')).not.toThrow();
  expect(() => assertLabelsKept(scope.retainedLabels, doc('s1', ['_security:t:x|y']), doc('s1', []), 'Observation/s1')).not.toThrow();
});
