/**
 * Reference parameters and everything that follows references: chains (two levels), _has
 * (nested), _include and _revinclude (:iterate, `*`), Patient compartment search, POST _search
 * and system search with _type, over real HTTP on FerretDB.
 * See: https://hl7.org/fhir/R4/search.html#reference, #chaining, #has, #include, and
 * https://hl7.org/fhir/R4/http.html#search
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import { BASE_URL, type TestApp, testApp } from '../../support/app';
import { entries, idsOf, link, matched, refs, search, seed } from './support';

const CLIENTS = 'urn:agency:clients';
const LOINC = 'http://loinc.org';
const PHQ9 = { coding: [{ system: LOINC, code: '44261-6' }] };
const GAD7 = { coding: [{ system: LOINC, code: '69737-5' }] };

const RESOURCES: Resource[] = [
  { resourceType: 'Organization', id: 'north', name: 'North Valley Community Services', identifier: [{ system: 'urn:agency:orgs', value: 'NV-01' }] },
  { resourceType: 'Organization', id: 'south', name: 'Southside Family Agency' },
  { resourceType: 'Practitioner', id: 'lee', name: [{ family: 'Lee', given: ['Jordan'] }] },
  { resourceType: 'Practitioner', id: 'ruiz', name: [{ family: 'Ruiz', given: ['Maria'] }] },
  {
    resourceType: 'Patient',
    id: 'ada',
    identifier: [{ system: CLIENTS, value: 'C-1001' }],
    name: [{ family: 'Okafor', given: ['Ada'] }],
    managingOrganization: { reference: 'Organization/north' },
    generalPractitioner: [{ reference: 'Practitioner/lee' }],
  },
  {
    resourceType: 'Patient',
    id: 'zoe',
    identifier: [{ system: CLIENTS, value: 'C-1002' }],
    name: [{ family: 'Dupré', given: ['Zoë'] }],
    managingOrganization: { reference: 'Organization/south' },
    generalPractitioner: [{ reference: 'Practitioner/ruiz' }],
  },
  // Its organization is an absolute URL on our own base: the same as Organization/north.
  { resourceType: 'Patient', id: 'chidi', name: [{ family: 'Okafor-Reyes', given: ['Chidi'] }], managingOrganization: { reference: `${BASE_URL}/Organization/north` } },
  // Deleted below.
  { resourceType: 'Patient', id: 'ghost', name: [{ family: 'Ghost' }], managingOrganization: { reference: 'Organization/north' } },
  { resourceType: 'Observation', id: 'ada-phq', status: 'final', code: PHQ9, subject: { reference: 'Patient/ada' }, performer: [{ reference: 'Practitioner/lee' }] },
  { resourceType: 'Observation', id: 'zoe-phq', status: 'final', code: PHQ9, subject: { reference: `${BASE_URL}/Patient/zoe` }, performer: [{ reference: 'Practitioner/ruiz' }] },
  { resourceType: 'Observation', id: 'chidi-gad', status: 'preliminary', code: GAD7, subject: { reference: 'Patient/chidi' } },
  { resourceType: 'Observation', id: 'remote', status: 'final', code: PHQ9, subject: { reference: 'https://other.example/fhir/Patient/77' } },
  { resourceType: 'Observation', id: 'logical', status: 'final', code: GAD7, subject: { identifier: { system: CLIENTS, value: 'C-1001' }, display: 'Ada Okafor' } },
  { resourceType: 'Observation', id: 'family', status: 'final', code: { text: 'Family functioning' }, subject: { reference: 'Group/okafor-household' } },
  { resourceType: 'Observation', id: 'ghost-obs', status: 'final', code: PHQ9, subject: { reference: 'Patient/ghost' } },
  { resourceType: 'CarePlan', id: 'ada-plan', status: 'active', intent: 'plan', subject: { reference: 'Patient/ada' }, careTeam: [{ reference: 'CareTeam/ada-team' }] },
  { resourceType: 'CarePlan', id: 'zoe-plan', status: 'draft', intent: 'plan', subject: { reference: 'Patient/zoe' } },
  { resourceType: 'CareTeam', id: 'ada-team', subject: { reference: 'Patient/ada' }, participant: [{ member: { reference: 'Practitioner/lee' } }] },
  { resourceType: 'ServiceRequest', id: 'housing', status: 'active', intent: 'order', code: { text: 'Housing support' }, subject: { reference: 'Patient/ada' } },
  {
    resourceType: 'Task',
    id: 'referral-out',
    status: 'requested',
    intent: 'order',
    focus: { reference: 'ServiceRequest/housing' },
    for: { reference: 'Patient/ada' },
    requester: { reference: 'Practitioner/lee' },
    owner: { reference: 'Organization/south' },
  },
  { resourceType: 'Task', id: 'referral-in', status: 'accepted', intent: 'order', for: { reference: 'Patient/zoe' }, owner: { reference: 'Organization/north' } },
  { resourceType: 'Task', id: 'plan-review', status: 'requested', intent: 'plan', basedOn: [{ reference: 'CarePlan/ada-plan' }], for: { reference: 'Patient/ada' } },
];

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
  await seed(t, RESOURCES);
  await request(t.app).delete('/fhir/Patient/ghost').expect(200);
});
afterAll(async () => {
  await t.close();
});

describe('reference', () => {
  test.each<[string, string, string[]]>([
    ['Type/id', 'Observation?subject=Patient/ada', refs('Observation', 'ada-phq')],
    ['id alone, for any target type', 'Observation?subject=ada', refs('Observation', 'ada-phq')],
    ['an absolute URL on our base is the local reference', `Observation?subject=${BASE_URL}/Patient/ada`, refs('Observation', 'ada-phq')],
    ['a stored absolute URL on our base is found by Type/id', 'Observation?subject=Patient/zoe', refs('Observation', 'zoe-phq')],
    [':Type with an id', 'Observation?subject:Patient=zoe', refs('Observation', 'zoe-phq')],
    [':Type selects the type of the target', 'Observation?subject:Group=okafor-household', refs('Observation', 'family')],
    [':Type excludes other types with the same id', 'Observation?subject:Patient=okafor-household', []],
    ['an id alone finds a reference to a Group', 'Observation?subject=okafor-household', refs('Observation', 'family')],
    ['a remote absolute URL', 'Observation?subject=https://other.example/fhir/Patient/77', refs('Observation', 'remote')],
    [':identifier finds a logical reference', `Observation?subject:identifier=${CLIENTS}|C-1001`, refs('Observation', 'logical')],
    ['comma is OR', 'Observation?subject=Patient/ada,Patient/zoe', refs('Observation', 'ada-phq', 'zoe-phq')],
    ['a parameter restricted to one target type (patient) leaves the Group out', 'Observation?patient=okafor-household', []],
    ['a reference on a repeating element', 'Observation?performer=Practitioner/ruiz', refs('Observation', 'zoe-phq')],
    ['an organization referenced both relatively and by an absolute URL on our base', 'Patient?organization=Organization/north', refs('Patient', 'ada', 'chidi')],
    [':missing=true', 'Observation?performer:missing=true', refs('Observation', 'chidi-gad', 'family', 'ghost-obs', 'logical', 'remote')],
    ['an agency queue: owner and status', 'Task?owner=Organization/south&status=requested', refs('Task', 'referral-out')],
  ])('%s: %s', async (_title, path, expected) => {
    expect(await matched(t, path)).toEqual(expected);
  });
});

describe('chained parameters', () => {
  test.each<[string, string, string[]]>([
    ['one level, with :Type', 'Observation?subject:Patient.name=okafor', refs('Observation', 'ada-phq', 'chidi-gad')],
    ['one level on a token', `Observation?subject:Patient.identifier=${CLIENTS}|C-1002`, refs('Observation', 'zoe-phq')],
    ['one level, values OR-ed', 'Observation?subject:Patient.name=dupre,okafor-reyes', refs('Observation', 'chidi-gad', 'zoe-phq')],
    ['two levels: Observation → Patient → Organization name', 'Observation?subject:Patient.organization.name=north', refs('Observation', 'ada-phq', 'chidi-gad')],
    ['two levels through a parameter with one target type', 'Observation?patient.organization.name=southside', refs('Observation', 'zoe-phq')],
    ['two levels: CarePlan → Patient → Practitioner', 'CarePlan?subject:Patient.general-practitioner:Practitioner.name=lee', refs('CarePlan', 'ada-plan')],
    ['a referral queue by owner name', 'Task?owner:Organization.name=southside&status=requested', refs('Task', 'referral-out')],
    ['a chain that matches no target', 'Observation?subject:Patient.name=nobody', []],
    ['a chain does not pass through a deleted resource', 'Observation?subject:Patient.name=ghost', []],
    ['a chain AND a plain parameter', 'Observation?subject:Patient.organization.name=north&status=final', refs('Observation', 'ada-phq')],
  ])('%s: %s', async (_title, path, expected) => {
    expect(await matched(t, path)).toEqual(expected);
  });
});

describe('_has (reverse chaining)', () => {
  test.each<[string, string, string[]]>([
    ['patients with a PHQ-9 observation', 'Patient?_has:Observation:patient:code=44261-6', refs('Patient', 'ada', 'zoe')],
    ['patients with a preliminary observation', 'Patient?_has:Observation:subject:status=preliminary', refs('Patient', 'chidi')],
    ['patients with a requested Task', 'Patient?_has:Task:patient:status=requested', refs('Patient', 'ada')],
    ['no match', 'Patient?_has:Observation:patient:code=0000-0', []],
    ['nested: organizations whose patients have a GAD-7', 'Organization?_has:Patient:organization:_has:Observation:patient:code=69737-5', refs('Organization', 'north')],
    ['nested: practitioners whose patients have an active care plan', 'Practitioner?_has:Patient:general-practitioner:_has:CarePlan:subject:status=active', refs('Practitioner', 'lee')],
    ['_has ending in a chain', 'Patient?_has:Observation:patient:performer:Practitioner.name=ruiz', refs('Patient', 'zoe')],
    ['_has AND a plain parameter', 'Patient?_has:Observation:patient:code=44261-6&name=dupre', refs('Patient', 'zoe')],
    ['a deleted resource is not found through _has', 'Patient?_has:Observation:patient:_id=ghost-obs', []],
  ])('%s: %s', async (_title, path, expected) => {
    expect(await matched(t, path)).toEqual(expected);
  });
});

describe('_include and _revinclude', () => {
  test.each<[string, string, string[], string[]]>([
    ['_include adds the referenced resource', 'Observation?_id=ada-phq&_include=Observation:subject', refs('Observation', 'ada-phq'), refs('Patient', 'ada')],
    ['_include follows an absolute reference on our base', 'Observation?_id=zoe-phq&_include=Observation:patient', refs('Observation', 'zoe-phq'), refs('Patient', 'zoe')],
    ['_include with a target type', 'Observation?_id=ada-phq,family&_include=Observation:subject:Patient', refs('Observation', 'ada-phq', 'family'), refs('Patient', 'ada')],
    ['_include=* follows every reference', 'Observation?_id=ada-phq&_include=*', refs('Observation', 'ada-phq'), ['Patient/ada', 'Practitioner/lee']],
    ['_include=Type:* follows every reference of the type', 'Task?_id=referral-out&_include=Task:*', refs('Task', 'referral-out'), ['Organization/south', 'Patient/ada', 'Practitioner/lee', 'ServiceRequest/housing']],
    [
      'a resource reached twice is included once',
      'Observation?subject=Patient/ada,Patient/zoe,Patient/chidi&_include=Observation:subject&_include=Observation:patient',
      refs('Observation', 'ada-phq', 'chidi-gad', 'zoe-phq'),
      refs('Patient', 'ada', 'chidi', 'zoe'),
    ],
    ['a deleted resource is not included', 'Observation?_id=ghost-obs&_include=Observation:subject', refs('Observation', 'ghost-obs'), []],
    ['_include without :iterate does not follow the included resources', 'CarePlan?_id=ada-plan&_include=CarePlan:subject&_include=Patient:organization', refs('CarePlan', 'ada-plan'), refs('Patient', 'ada')],
    [
      '_include:iterate follows the included resources',
      'CarePlan?_id=ada-plan&_include=CarePlan:subject&_include:iterate=Patient:organization&_include:iterate=Patient:general-practitioner',
      refs('CarePlan', 'ada-plan'),
      ['Organization/north', 'Patient/ada', 'Practitioner/lee'],
    ],
    ['_revinclude adds the resources that reference a match', 'Patient?_id=ada&_revinclude=Observation:subject', refs('Patient', 'ada'), refs('Observation', 'ada-phq')],
    ['_revinclude finds a reference stored as an absolute URL on our base', 'Patient?_id=zoe&_revinclude=Observation:subject', refs('Patient', 'zoe'), refs('Observation', 'zoe-phq')],
    ['_revinclude of a referral queue', 'Organization?_id=south&_revinclude=Task:owner', refs('Organization', 'south'), refs('Task', 'referral-out')],
    [
      '_revinclude:iterate follows the added resources',
      'Patient?_id=ada&_revinclude=CarePlan:subject&_revinclude:iterate=Task:based-on',
      refs('Patient', 'ada'),
      ['CarePlan/ada-plan', 'Task/plan-review'],
    ],
    ['_revinclude=* adds every resource that references a match', 'Organization?_id=south&_revinclude=*', refs('Organization', 'south'), ['Patient/zoe', 'Task/referral-out']],
    ['_include and _revinclude together', 'Patient?_id=chidi&_include=Patient:organization&_revinclude=Observation:patient', refs('Patient', 'chidi'), ['Observation/chidi-gad', 'Organization/north']],
  ])('%s: %s', async (_title, path, expectedMatches, expectedIncludes) => {
    const res = await search(t, path);
    expect(res.status).toBe(200);
    const body = res.body as Bundle;
    expect(idsOf(body)).toEqual(expectedMatches);
    expect(idsOf(body, 'include')).toEqual(expectedIncludes);
    expect(body.total).toBe(expectedMatches.length);
    for (const e of entries(body)) {
      expect(e.fullUrl).toBe(`${BASE_URL}/${e.resource?.resourceType}/${e.resource?.id}`);
    }
  });
});

describe('Patient compartment', () => {
  test.each<[string, string, string[]]>([
    ['Observations of a patient', 'Patient/ada/Observation', refs('Observation', 'ada-phq')],
    ['with a further condition', 'Patient/ada/Observation?status=final', refs('Observation', 'ada-phq')],
    ['a further condition that excludes', 'Patient/ada/Observation?status=preliminary', []],
    ['a reference stored as an absolute URL on our base', 'Patient/zoe/Observation', refs('Observation', 'zoe-phq')],
    ['CarePlans of a patient', 'Patient/ada/CarePlan', refs('CarePlan', 'ada-plan')],
    ['a patient without any', 'Patient/chidi/CarePlan', []],
    [
      'every type of the compartment with *',
      'Patient/ada/*?_sort=_id',
      [...refs('CarePlan', 'ada-plan'), ...refs('CareTeam', 'ada-team'), ...refs('Observation', 'ada-phq'), ...refs('Patient', 'ada'), ...refs('ServiceRequest', 'housing'), ...refs('Task', 'plan-review', 'referral-out')],
    ],
    ['* narrowed by _type', 'Patient/ada/*?_type=Observation,CarePlan', [...refs('CarePlan', 'ada-plan'), ...refs('Observation', 'ada-phq')]],
    ['* for a patient with one resource of their own', 'Patient/chidi/*', [...refs('Observation', 'chidi-gad'), ...refs('Patient', 'chidi')]],
  ])('%s: GET %s', async (_title, path, expected) => {
    expect(await matched(t, path)).toEqual(expected);
  });

  test('the self link of a compartment search names the compartment', async () => {
    const res = await search(t, 'Patient/ada/Observation?status=final');
    expect(link(res.body as Bundle, 'self')).toBe(`${BASE_URL}/Patient/ada/Observation?status=final&_count=20`);
  });

  test('* pages across types', async () => {
    const first = await search(t, 'Patient/ada/*?_count=3');
    const next = link(first.body as Bundle, 'next');
    expect(next).toMatch(new RegExp(`^${BASE_URL}/Patient/ada/\\*\\?`));
    const second = await search(t, (next as string).slice(BASE_URL.length + 1));
    const all = [...idsOf(first.body as Bundle), ...idsOf(second.body as Bundle)];
    expect(new Set(all).size).toBe(all.length);
  });

  test('a type outside the Patient compartment is a 400', async () => {
    const res = await search(t, 'Patient/ada/Organization');
    expect(res.status).toBe(400);
    expect(res.body.issue[0].code).toBe('invalid');
  });
});

describe('POST [type]/_search', () => {
  test('a form body gives the same Bundle entries and total as the GET', async () => {
    const query = 'subject:Patient.organization.name=north&_include=Observation:performer&_sort=_id';
    const get = await search(t, `Observation?${query}`);
    const post = await request(t.app).post('/fhir/Observation/_search').type('form').send(query);
    expect(post.status).toBe(200);
    expect(post.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(post.body.type).toBe('searchset');
    expect(post.body.total).toBe(get.body.total);
    expect(post.body.entry).toEqual(get.body.entry);
    expect(idsOf(post.body as Bundle)).toEqual(refs('Observation', 'ada-phq', 'chidi-gad'));
    expect(idsOf(post.body as Bundle, 'include')).toEqual(refs('Practitioner', 'lee'));
  });

  test('parameters in the URL and in the body are combined (AND)', async () => {
    const post = await request(t.app).post('/fhir/Observation/_search?code=44261-6').type('form').send('status=final&subject=Patient/zoe');
    expect(post.status).toBe(200);
    expect(idsOf(post.body as Bundle)).toEqual(refs('Observation', 'zoe-phq'));
  });

  test('a body that is not a form is a 415', async () => {
    const post = await request(t.app).post('/fhir/Observation/_search').set('Content-Type', 'application/fhir+json').send('{}');
    expect(post.status).toBe(415);
    expect(post.body.issue[0].code).toBe('not-supported');
  });
});

describe('system search with _type', () => {
  test.each<[string, string, string[]]>([
    ['_id across two types', '_type=Patient,Practitioner&_id=ada,lee', ['Patient/ada', 'Practitioner/lee']],
    ['a parameter both types have', '_type=Patient,Practitioner&name=lee,zoe', ['Patient/zoe', 'Practitioner/lee']],
    ['without _type: every type', '_id=ada-plan,south', ['CarePlan/ada-plan', 'Organization/south']],
  ])('%s: GET [base]?%s', async (_title, query, expected) => {
    expect(await matched(t, `?${query}`)).toEqual(expected);
  });

  test('_sort, _count and _offset apply to the merged order of the types', async () => {
    const query = '?_type=Patient,Practitioner&_sort=_id&_count=2';
    const first = await search(t, query);
    const second = await search(t, `${query}&_offset=2&_total=accurate`);
    const third = await search(t, `${query}&_offset=4&_total=accurate`);
    expect([first, second, third].map((r) => idsOf(r.body as Bundle))).toEqual([
      ['Patient/ada', 'Patient/chidi'],
      ['Practitioner/lee', 'Practitioner/ruiz'],
      ['Patient/zoe'],
    ]);
    expect(second.body.total).toBe(5);
  });

  test('a parameter that one of the _type types lacks is reported, not applied', async () => {
    const res = await search(t, '?_type=Patient,Organization&gender=female', { Prefer: 'handling=strict' });
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ code: 'not-supported', expression: ['gender'] });
  });
});
