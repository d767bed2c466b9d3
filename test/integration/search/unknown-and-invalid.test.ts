/**
 * Unknown parameters are ignored and reported (search.mode outcome), or refused with
 * Prefer: handling=strict; invalid values are always a 400 whose OperationOutcome names the
 * parameter in issue.expression. Over real HTTP on FerretDB.
 * See: https://hl7.org/fhir/R4/search.html#errors
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import { BASE_URL, type TestApp, testApp } from '../../support/app';
import { idsOf, link, outcomeEntry, search, seed } from './support';

const RESOURCES: Resource[] = [
  { resourceType: 'Patient', id: 'ada', name: [{ family: 'Okafor', given: ['Ada'] }], birthDate: '1984-03-02' },
  { resourceType: 'Patient', id: 'zoe', name: [{ family: 'Dupré', given: ['Zoë'] }] },
  { resourceType: 'Observation', id: 'phq', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '44261-6' }] }, subject: { reference: 'Patient/ada' } },
];

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
  await seed(t, RESOURCES);
});
afterAll(async () => {
  await t.close();
});

describe('an unknown parameter', () => {
  test.each<[string, string | undefined]>([
    ['without a Prefer header', undefined],
    ['with Prefer: handling=lenient', 'handling=lenient'],
  ])('is ignored and reported in an OperationOutcome entry %s', async (_title, prefer) => {
    const res = await search(t, 'Patient?shoe-size=42&name=ada', prefer ? { Prefer: prefer } : {});
    expect(res.status).toBe(200);
    const body = res.body as Bundle;
    expect(idsOf(body)).toEqual(['Patient/ada']);
    expect(body.total).toBe(1);
    const outcome = body.entry?.find((e) => e.search?.mode === 'outcome');
    expect(outcome?.fullUrl).toBeUndefined();
    expect(outcome?.resource).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'warning', code: 'not-supported', diagnostics: expect.stringContaining('shoe-size'), expression: ['shoe-size'] }],
    });
    // The self link shows the search as it was applied.
    expect(link(body, 'self')).toBe(`${BASE_URL}/Patient?name=ada&_count=20`);
  });

  test('an unknown parameter at the end of a chain is ignored and reported the same way', async () => {
    const res = await search(t, 'Observation?subject:Patient.shoe-size=42');
    expect(res.status).toBe(200);
    expect(idsOf(res.body as Bundle)).toEqual(['Observation/phq']);
    expect(outcomeEntry(res.body as Bundle)?.issue[0]?.expression).toEqual(['subject:Patient.shoe-size']);
  });

  test.each<[string, string]>([
    ['Patient?shoe-size=42', 'shoe-size'],
    ['Patient?name=ada&shoe-size=42', 'shoe-size'],
    ['Observation?subject:Patient.shoe-size=42', 'subject:Patient.shoe-size'],
    ['Patient?_has:Observation:patient:shoe-size=42', '_has:Observation:patient:shoe-size'],
  ])('is a 400 with Prefer: handling=strict: %s', async (path, expression) => {
    const res = await search(t, path, { Prefer: 'handling=strict' });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'not-supported', expression: [expression] });
  });

  test('is a 400 with Prefer: handling=strict on POST _search too', async () => {
    const res = await request(t.app).post('/fhir/Patient/_search').set('Prefer', 'handling=strict').type('form').send('shoe-size=42');
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ code: 'not-supported', expression: ['shoe-size'] });
  });
});

describe('an invalid value is a 400 naming the parameter, whatever the handling', () => {
  test.each<[string, string, string, string]>([
    ['a date that does not exist', 'Patient?birthdate=2024-13-01', 'birthdate', 'invalid'],
    ['a date that is not a date', 'Patient?birthdate=yesterday', 'birthdate', 'invalid'],
    ['an unknown date prefix', 'Patient?birthdate=xx2024', 'birthdate', 'invalid'],
    ['a prefix without a value', 'Patient?birthdate=ge', 'birthdate', 'invalid'],
    ['a number that is not a number', 'RiskAssessment?probability=gtabc', 'probability', 'invalid'],
    ['an unknown number prefix', 'RiskAssessment?probability=zz1', 'probability', 'invalid'],
    ['a quantity with two parts', 'Observation?value-quantity=5|mg', 'value-quantity', 'invalid'],
    ['a token with three parts', 'Observation?code=a|b|c', 'code', 'invalid'],
    ['a reference to an unknown type', 'Observation?subject=Foo/1', 'subject', 'invalid'],
    ['a reference to a type the parameter cannot point to', 'Observation?subject=Organization/1', 'subject', 'invalid'],
    ['an id with a space', 'Patient?_id=a%20b', '_id', 'invalid'],
    [':missing that is not true or false', 'Patient?birthdate:missing=maybe', 'birthdate:missing', 'invalid'],
    ['an unknown modifier', 'Patient?name:sounds-like=ada', 'name:sounds-like', 'invalid'],
    ['_count=abc', 'Patient?_count=abc', '_count', 'invalid'],
    ['a negative _count', 'Patient?_count=-1', '_count', 'invalid'],
    ['a negative _offset', 'Patient?_offset=-5', '_offset', 'invalid'],
    ['_offset=abc', 'Patient?_offset=abc', '_offset', 'invalid'],
    ['an unknown _sort key', 'Patient?_sort=shoe-size', '_sort', 'invalid'],
    ['an unknown _sort key after a known one', 'Patient?_sort=family,-shoe-size', '_sort', 'invalid'],
    ['a repeated _sort', 'Patient?_sort=family&_sort=given', '_sort', 'invalid'],
    ['an unknown _total', 'Patient?_total=maybe', '_total', 'invalid'],
    ['an unknown _summary', 'Patient?_summary=yes', '_summary', 'invalid'],
    ['an invalid _elements', 'Patient?_elements=9bad', '_elements', 'invalid'],
    ['an unknown chain target type', 'Observation?subject:Foo.name=x', 'subject:Foo.name', 'invalid'],
    ['a chain target type the reference cannot point to', 'Observation?subject:Organization.name=x', 'subject:Organization.name', 'invalid'],
    ['a chain whose target is ambiguous', 'Observation?subject.name=x', 'subject.name', 'invalid'],
    ['a chain through a parameter that is not a reference', 'Patient?name.family=x', 'name.family', 'invalid'],
    ['an invalid value inside a chain', 'Observation?subject:Patient.birthdate=2024-13', 'subject:Patient.birthdate', 'invalid'],
    ['_has through a parameter that is not a reference', 'Patient?_has:Observation:code:status=final', '_has:Observation:code:status', 'invalid'],
    ['_has through a reference that cannot point here', 'Patient?_has:Observation:encounter:status=final', '_has:Observation:encounter:status', 'invalid'],
    ['_include of a parameter that does not exist', 'Observation?_include=Observation:shoe-size', '_include', 'invalid'],
    ['_include of a parameter that is not a reference', 'Observation?_include=Observation:code', '_include', 'invalid'],
    ['_include of an unknown type', 'Observation?_include=Foo:subject', '_include', 'invalid'],
    ['_include without a parameter', 'Observation?_include=Observation', '_include', 'invalid'],
    ['_include with a target type the reference cannot point to', 'Observation?_include=Observation:patient:Group', '_include', 'invalid'],
    ['_include:iterate of a parameter that does not exist', 'Observation?_include:iterate=Patient:shoe-size', '_include:iterate', 'invalid'],
    ['_revinclude of a parameter that is not a reference', 'Patient?_revinclude=Observation:code', '_revinclude', 'invalid'],
    ['_type in a type-level search', 'Patient?_type=Patient', '_type', 'invalid'],
    ['_type naming an unknown type', '?_type=Foo', '_type', 'invalid'],
    ['a modifier that is not supported', 'Observation?code:in=http://example.org/vs', 'code:in', 'not-supported'],
  ])('%s: %s', async (_title, path, expression, code) => {
    for (const prefer of ['handling=lenient', 'handling=strict']) {
      const res = await search(t, path, { Prefer: prefer });
      expect({ prefer, status: res.status }).toEqual({ prefer, status: 400 });
      expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0]).toMatchObject({ severity: 'error', code, expression: [expression] });
    }
  });

  test('an invalid value in a POST _search body is a 400 too', async () => {
    const res = await request(t.app).post('/fhir/Patient/_search').type('form').send('birthdate=2024-13-01');
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ code: 'invalid', expression: ['birthdate'] });
  });

  test('an unknown resource type is a 404', async () => {
    const res = await search(t, 'Shoe?size=42');
    expect(res.status).toBe(404);
    expect(res.body.issue[0].code).toBe('not-supported');
  });
});

describe('a search too costly to run is refused: 422 too-costly, naming the parameter', () => {
  test.each<[string, string, string | undefined]>([
    ['a value longer than 1024 characters', `Patient?name:contains=${'a'.repeat(1025)}`, 'name:contains'],
    ['more than 100 alternatives in one parameter', `Patient?_id=${Array.from({ length: 101 }, (_, i) => `p${i}`).join(',')}`, '_id'],
    ['more than 64 parameters', `Patient?${Array.from({ length: 65 }, (_, i) => `name=a${i}`).join('&')}`, undefined],
  ])('%s', async (_title, query, expression) => {
    const res = await search(t, query);
    expect(res.status).toBe(422);
    expect(res.body.issue[0].code).toBe('too-costly');
    if (expression) expect(res.body.issue[0].expression).toEqual([expression]);
  });

  test('an escaped comma does not count as an alternative, and 100 alternatives are fine', async () => {
    const ids = Array.from({ length: 99 }, (_, i) => `p${i}`).concat('ada');
    expect((await search(t, `Patient?_id=${ids.join(',')}`)).status).toBe(200);
    expect((await search(t, `Patient?name=${'a\\,'.repeat(150)}`)).status).toBe(200);
  });
});
