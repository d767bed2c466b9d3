/**
 * String and token parameters with their modifiers, the common parameters (_id, _tag, _security,
 * _profile, _source), :missing, comma = OR and repeat = AND, over real HTTP on FerretDB. Also: a
 * search never sees deleted resources or superseded versions, and query text reaches the database
 * only as typed values. See: https://hl7.org/fhir/R4/search.html#string and #token
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import { type TestApp, testApp } from '../../support/app';
import { matched, outcomeEntry, refs, search, seed } from './support';

const CLIENTS = 'urn:agency:clients';
const SSN = 'http://hl7.org/fhir/sid/us-ssn';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const WORKFLOW = 'http://casebridge.org/fhir/CodeSystem/workflow';
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const CLIENT_PROFILE = 'http://casebridge.org/fhir/StructureDefinition/cm-client';
const SNOMED = 'http://snomed.info/sct';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';

const PATIENTS: Resource[] = [
  {
    resourceType: 'Patient',
    id: 'ada',
    meta: {
      tag: [{ system: WORKFLOW, code: 'intake' }],
      security: [{ system: CONFIDENTIALITY, code: 'R' }],
      profile: [CLIENT_PROFILE],
      source: 'http://agency-north.example/intake#form-12',
    },
    active: true,
    gender: 'female',
    birthDate: '1984-03-02',
    identifier: [{ system: CLIENTS, value: 'C-1001', type: { coding: [{ system: V2_0203, code: 'MR' }] } }],
    name: [{ use: 'official', family: 'Okafor', given: ['Ada', 'Ngozi'] }],
    telecom: [
      { system: 'phone', value: '555-0101' },
      { system: 'email', value: 'ada@example.org' },
    ],
    address: [{ line: ['12 Elm Street'], city: 'Springfield', state: 'IL', postalCode: '62704', country: 'US' }],
    generalPractitioner: [{ reference: 'Practitioner/lee' }],
  },
  {
    resourceType: 'Patient',
    id: 'zoe',
    meta: { tag: [{ system: WORKFLOW, code: 'waitlist' }], security: [{ system: CONFIDENTIALITY, code: 'N' }] },
    active: false,
    gender: 'female',
    birthDate: '1990-05-17',
    identifier: [
      { system: CLIENTS, value: 'C-1002', type: { coding: [{ system: V2_0203, code: 'MR' }] } },
      { system: SSN, value: '123-45-6789', type: { coding: [{ system: V2_0203, code: 'SS' }] } },
    ],
    name: [{ family: 'Dupré', given: ['Zoë', 'Élise'] }],
    address: [{ line: ['4 Rue Sainte-Catherine'], city: 'Montréal', state: 'QC', postalCode: 'H2X 1K4', country: 'CA' }],
  },
  {
    resourceType: 'Patient',
    id: 'chidi',
    meta: { source: 'http://agency-south.example/referrals' },
    gender: 'male',
    birthDate: '2001-11-30',
    identifier: [{ system: CLIENTS, value: 'C-1003' }],
    name: [{ family: 'Okafor-Reyes', given: ['Chidi'] }],
    address: [{ city: 'Springfield', state: 'MO' }],
  },
  {
    resourceType: 'Patient',
    id: 'kim',
    gender: 'unknown',
    identifier: [{ value: 'LEGACY-9' }],
    name: [{ prefix: ['Mx'], given: ['Kim'], family: 'Nguyen', suffix: ['III'] }],
  },
  // Deleted below: no search may return it, whatever the condition.
  { resourceType: 'Patient', id: 'gone', active: false, gender: 'female', name: [{ family: 'Okafor' }], identifier: [{ system: CLIENTS, value: 'C-1001' }] },
  // Renamed below: its old name is history, not searchable.
  { resourceType: 'Patient', id: 'renamed', gender: 'other', name: [{ family: 'Formername' }] },
  { resourceType: 'Practitioner', id: 'lee', name: [{ family: 'Lee', given: ['Jordan'] }] },
];

const problemList = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] };

const CONDITIONS: Resource[] = [
  {
    resourceType: 'Condition',
    id: 'mdd',
    subject: { reference: 'Patient/ada' },
    category: [problemList],
    clinicalStatus: { coding: [{ system: CLINICAL, code: 'active' }] },
    code: { coding: [{ system: SNOMED, code: '370143000', display: 'Major depressive disorder' }], text: 'Depression, recurrent' },
  },
  {
    resourceType: 'Condition',
    id: 'gad',
    subject: { reference: 'Patient/zoe' },
    clinicalStatus: { coding: [{ system: CLINICAL, code: 'active' }] },
    code: { coding: [{ system: SNOMED, code: '21897009', display: 'Generalized anxiety disorder' }] },
  },
  {
    resourceType: 'Condition',
    id: 'ptsd',
    subject: { reference: 'Patient/chidi' },
    clinicalStatus: { coding: [{ system: CLINICAL, code: 'remission' }] },
    code: { coding: [{ system: ICD10, code: 'F43.1', display: 'Post-traumatic stress disorder' }] },
  },
];

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
  await seed(t, [...PATIENTS, ...CONDITIONS]);
  await request(t.app).delete('/fhir/Patient/gone').expect(200);
  await request(t.app)
    .put('/fhir/Patient/renamed')
    .set('Content-Type', 'application/fhir+json')
    .send({ resourceType: 'Patient', id: 'renamed', gender: 'other', name: [{ family: 'Newname' }] })
    .expect(200);
});
afterAll(async () => {
  await t.close();
});

const patients = (...ids: string[]) => refs('Patient', ...ids);
const conditions = (...ids: string[]) => refs('Condition', ...ids);

describe('string', () => {
  test.each<[string, string, string[]]>([
    ['default is a case-insensitive starts-with on any part of a HumanName (given)', 'name=ada', patients('ada')],
    ['default starts-with on the family name, in capitals', 'name=OKAF', patients('ada', 'chidi')],
    ['accents are folded: zoe finds Zoë', 'name=zoe', patients('zoe')],
    ['accents are folded in the query too: ÉLISE finds Élise', 'name=%C3%89LISE', patients('zoe')],
    ['the name prefix is a part of a HumanName', 'name=mx', patients('kim')],
    ['the name suffix is a part of a HumanName', 'name=iii', patients('kim')],
    ['family is starts-with', 'family=okafor', patients('ada', 'chidi')],
    ['given matches the second given name', 'given=ngo', patients('ada')],
    ['a starts-with does not match inside a word', 'family=kafor', []],
    [':exact matches the whole value as written', 'family:exact=Okafor', patients('ada')],
    [':exact is case-sensitive', 'family:exact=okafor', []],
    [':exact is accent-sensitive', 'family:exact=Dupre', []],
    [':exact with the accent', 'family:exact=Dupr%C3%A9', patients('zoe')],
    [':contains matches inside a value', 'family:contains=FOR', patients('ada', 'chidi')],
    [':contains folds accents', 'name:contains=lis', patients('zoe')],
    ['address matches the city', 'address=springfield', patients('ada', 'chidi')],
    ['address matches the postal code', 'address=62704', patients('ada')],
    ['address matches a line from its start', 'address=12%20elm', patients('ada')],
    ['address does not match inside a line without :contains', 'address=elm', []],
    ['address:contains matches inside a line', 'address:contains=elm', patients('ada')],
    ['address-city folds accents', 'address-city=montreal', patients('zoe')],
    ['address-postalcode is starts-with', 'address-postalcode=H2X', patients('zoe')],
    ['address-country', 'address-country=ca', patients('zoe')],
    ['comma is OR', 'given=ada,chidi', patients('ada', 'chidi')],
    ['a repeated parameter is AND (both given names)', 'given=ada&given=ngozi', patients('ada')],
    ['a repeated parameter is AND (no one has both)', 'given=ada&given=chidi', []],
    ['AND across parameters', 'address-city=springfield&address-state=IL', patients('ada')],
    ['an escaped comma is part of the value, not OR', 'name=ada%5C,chidi', []],
  ])('Patient?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `Patient?${query}`)).toEqual(expected);
  });
});

describe('token', () => {
  test.each<[string, string, string[]]>([
    ['code alone matches in any system', 'Patient?identifier=C-1001', patients('ada')],
    ['system|code', 'Patient?identifier=urn:agency:clients|C-1002', patients('zoe')],
    ['system|code does not match the same value in another system', 'Patient?identifier=urn:other|C-1002', []],
    ['system| matches every value of the system', 'Patient?identifier=urn:agency:clients|', patients('ada', 'chidi', 'zoe')],
    ['|code matches only values without a system', 'Patient?identifier=|LEGACY-9', patients('kim')],
    ['|code does not match a value that has a system', 'Patient?identifier=|C-1001', []],
    [':of-type matches the identifier type and value together', `Patient?identifier:of-type=${V2_0203}|MR|C-1001`, patients('ada')],
    [':of-type with the SSN type', `Patient?identifier:of-type=${V2_0203}|SS|123-45-6789`, patients('zoe')],
    [':of-type does not pair one identifier type with another identifier value', `Patient?identifier:of-type=${V2_0203}|MR|123-45-6789`, []],
    [':not excludes the matches and keeps resources without the element', 'Patient?identifier:not=urn:agency:clients|C-1001', patients('chidi', 'kim', 'renamed', 'zoe')],
    ['code on a code element', 'Patient?gender=female', patients('ada', 'zoe')],
    ['comma is OR', 'Patient?gender=male,unknown', patients('chidi', 'kim')],
    [':not on a code element', 'Patient?gender:not=female', patients('chidi', 'kim', 'renamed')],
    [':not with several values excludes each of them', 'Patient?gender:not=female,male', patients('kim', 'renamed')],
    ['boolean true', 'Patient?active=true', patients('ada')],
    ['boolean false', 'Patient?active=false', patients('zoe')],
    [':not on a boolean keeps resources without a value', 'Patient?active:not=true', patients('chidi', 'kim', 'renamed', 'zoe')],
    ['ContactPoint system|value', 'Patient?telecom=phone|555-0101', patients('ada')],
    ['email', 'Patient?email=ada@example.org', patients('ada')],
    ['CodeableConcept code', 'Condition?code=370143000', conditions('mdd')],
    ['CodeableConcept system|code', 'Condition?code=http://snomed.info/sct|21897009', conditions('gad')],
    ['CodeableConcept system|', 'Condition?code=http://snomed.info/sct|', conditions('gad', 'mdd')],
    ['codes of different systems, OR', 'Condition?code=370143000,F43.1', conditions('mdd', 'ptsd')],
    ['CodeableConcept :not', 'Condition?code:not=370143000', conditions('gad', 'ptsd')],
    [':text matches CodeableConcept.text from its start, folded', 'Condition?code:text=DEPRESS', conditions('mdd')],
    [':text matches Coding.display', 'Condition?code:text=generalized', conditions('gad')],
    [':text that no text starts with', 'Condition?code:text=schizo', []],
    ['a token parameter on a status CodeableConcept', 'Condition?clinical-status=active', conditions('gad', 'mdd')],
    ['AND of two token parameters', 'Condition?clinical-status=active&code=http://snomed.info/sct|370143000', conditions('mdd')],
  ])('%s: %s', async (_title, path, expected) => {
    expect(await matched(t, path)).toEqual(expected);
  });
});

describe('common parameters', () => {
  test.each<[string, string, string[]]>([
    ['_id', '_id=ada,kim', patients('ada', 'kim')],
    ['_id of an unknown resource', '_id=nobody', []],
    ['_tag system|code', `_tag=${WORKFLOW}|intake`, patients('ada')],
    ['_tag code', '_tag=waitlist', patients('zoe')],
    ['_security', `_security=${CONFIDENTIALITY}|R`, patients('ada')],
    ['_profile', `_profile=${CLIENT_PROFILE}`, patients('ada')],
    ['_source', '_source=http://agency-south.example/referrals', patients('chidi')],
    ['_source:below', '_source:below=http://agency-north.example', patients('ada')],
  ])('Patient?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `Patient?${query}`)).toEqual(expected);
  });
});

describe(':missing', () => {
  test.each<[string, string, string[]]>([
    ['date, true', 'birthdate:missing=true', patients('kim', 'renamed')],
    ['date, false', 'birthdate:missing=false', patients('ada', 'chidi', 'zoe')],
    ['token, true', 'telecom:missing=true', patients('chidi', 'kim', 'renamed', 'zoe')],
    ['token (boolean), true', 'active:missing=true', patients('chidi', 'kim', 'renamed')],
    ['string, true', 'address:missing=true', patients('kim', 'renamed')],
    ['string, false', 'address:missing=false', patients('ada', 'chidi', 'zoe')],
    ['reference, false', 'general-practitioner:missing=false', patients('ada')],
    ['uri, false', '_source:missing=false', patients('ada', 'chidi')],
    ['token (_tag), true', '_tag:missing=true', patients('chidi', 'kim', 'renamed')],
  ])('Patient?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `Patient?${query}`)).toEqual(expected);
  });
});

describe('deleted resources and old versions', () => {
  test('a search without conditions lists every current Patient and not the deleted one', async () => {
    expect(await matched(t, 'Patient')).toEqual(patients('ada', 'chidi', 'kim', 'renamed', 'zoe'));
  });

  test.each<[string, string]>([
    ['a value it had', 'family=okafor'],
    ['its identifier', 'identifier=urn:agency:clients|C-1001'],
    ['its id', '_id=gone'],
    [':missing=true of a value it lacked', 'birthdate:missing=true'],
    [':missing=false of a value it had', 'family:missing=false'],
    [':not of a value it lacked', 'active:not=true'],
    ['ne of a date', 'birthdate=ne1984'],
  ])('a deleted resource is not found by %s', async (_title, query) => {
    const found = await matched(t, `Patient?${query}`);
    expect(found).not.toContain('Patient/gone');
  });

  test('only the current version of a resource is searchable', async () => {
    expect(await matched(t, 'Patient?family=formername')).toEqual([]);
    expect(await matched(t, 'Patient?family=newname')).toEqual(patients('renamed'));
  });
});

describe('query text reaches the database only as typed values', () => {
  // Each of these would match every document if it were passed to the driver as an operator.
  test.each<[string, string]>([
    ['an operator in brackets in the name', 'name[$ne]=x'],
    ['an operator in brackets on _id', '_id[$gt]='],
    ['an operator as the parameter name', '$where=1'],
    ['a JSON operator as a string value', 'name=%7B%22%24ne%22%3Anull%7D'],
    ['a JSON operator as a token value', 'identifier=%7B%22%24ne%22%3A%22%22%7D'],
    ['a JSON operator inside system|code', 'identifier=urn:agency:clients|%7B%22%24ne%22%3A%22%22%7D'],
    ['a regular expression as a string value', 'family=.*'],
    ['a regular expression with :contains', 'family:contains=.*'],
    ['a regular expression as a reference', 'general-practitioner=.*'],
  ])('%s gets no match or a 400, never every Patient', async (_title, query) => {
    const res = await search(t, `Patient?${query}`);
    if (res.status === 200) {
      expect((res.body as Bundle).entry?.filter((e) => e.search?.mode === 'match') ?? []).toEqual([]);
    } else {
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
  });

  test('_id={"$gt":""} is a 400 naming _id', async () => {
    const res = await search(t, `Patient?_id=${encodeURIComponent('{"$gt":""}')}`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'invalid', expression: ['_id'] });
  });

  test('a parameter name that cannot name a search parameter is a 400 naming it, also with lenient handling', async () => {
    const res = await search(t, 'Patient?name[$ne]=x', { Prefer: 'handling=lenient' });
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'invalid', expression: ['name[$ne]'] });
    expect(outcomeEntry(res.body as Bundle)).toBeUndefined();
  });
});
