/**
 * Result control over real HTTP on FerretDB: _sort (several keys, descending), _count (default
 * and maximum), _offset and the page links, _total, _summary and _elements. Paging while the
 * searched type is written is in paging.test.ts (its own database: 250 resources).
 * See: https://hl7.org/fhir/R4/search.html#sort, #count, #total, #summary, #elements and
 * https://hl7.org/fhir/R4/http.html#paging
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import request from 'supertest';
import { BASE_URL, FHIR_JSON, type TestApp, testApp } from '../../support/app';
import { link, orderOf, search, seed } from './support';

const TAGS = 'http://casebridge.org/fhir/CodeSystem/test-set';
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

function tagged(set: string, id: string, fields: Partial<Patient> = {}): Patient {
  return { resourceType: 'Patient', id, meta: { tag: [{ system: TAGS, code: set }] }, ...fields };
}

const SORTED: Patient[] = [
  tagged('sort', 's1', { name: [{ family: 'Baker', given: ['Amy'] }], birthDate: '1990-01-01', gender: 'female' }),
  tagged('sort', 's2', { name: [{ family: 'Adams' }], birthDate: '1985-06-01', gender: 'male' }),
  tagged('sort', 's3', { name: [{ family: 'Baker', given: ['Zed'] }], birthDate: '1975-03-03', gender: 'male' }),
  tagged('sort', 's4', { name: [{ family: 'Cole' }], gender: 'female' }),
  tagged('sort', 's5', { name: [{ family: 'Ávila' }], birthDate: '2000-12-24', gender: 'other' }),
];

const COUNTED: Patient[] = Array.from({ length: 25 }, (_, i) => tagged('count', `c${String(i).padStart(2, '0')}`, { name: [{ family: `Count${i}` }] }));

const SUMMARISED: Patient = tagged('summary', 'full', {
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Ada Okafor</div>' },
  name: [{ family: 'Okafor', given: ['Ada'] }],
  gender: 'female',
  birthDate: '1984-03-02',
  maritalStatus: { text: 'Married' },
  communication: [{ language: { text: 'Igbo' } }],
});

// One millisecond per call: every write has its own meta.lastUpdated, in write order.
let clock = Date.UTC(2025, 0, 1);
let t: TestApp;
beforeAll(async () => {
  t = await testApp({ now: () => new Date(clock++) });
  await seed(t, [...SORTED, ...COUNTED, SUMMARISED]);
});
afterAll(async () => {
  await t.close();
});

describe('_sort', () => {
  test.each<[string, string, string[]]>([
    ['one key, folded for case and accents', '_sort=family', ['s2', 's5', 's1', 's3', 's4']],
    // The _id tie-break follows the last rule's direction: one index serves both directions (docs/storage.md#indexes-on-mongodb-which-shape-uses-which).
    ['descending (ties by id, descending too)', '_sort=-family', ['s4', 's3', 's1', 's5', 's2']],
    ['two keys, the second descending', '_sort=family,-birthdate', ['s2', 's5', 's1', 's3', 's4']],
    ['two keys, both ascending', '_sort=family,birthdate', ['s2', 's5', 's3', 's1', 's4']],
    ['a token, then a date descending', '_sort=gender,-birthdate', ['s1', 's4', 's2', 's3', 's5']],
    ['dates', '_sort=birthdate&birthdate:missing=false', ['s3', 's2', 's1', 's5']],
    ['dates descending', '_sort=-birthdate&birthdate:missing=false', ['s5', 's1', 's2', 's3']],
    ['_id descending', '_sort=-_id', ['s5', 's4', 's3', 's2', 's1']],
    ['_lastUpdated descending: the last written first', '_sort=-_lastUpdated', ['s5', 's4', 's3', 's2', 's1']],
  ])('%s: Patient?%s', async (_title, query, expected) => {
    const res = await search(t, `Patient?_tag=${TAGS}|sort&${query}`);
    expect(res.status).toBe(200);
    expect(orderOf(res.body as Bundle)).toEqual(expected);
  });

  test('a sorted search pages in sort order', async () => {
    const first = await search(t, `Patient?_tag=${TAGS}|sort&_sort=family,-birthdate&_count=2`);
    const second = await follow(link(first.body, 'next'));
    const third = await follow(link(second.body, 'next'));
    expect([first, second, third].map((r) => orderOf(r.body as Bundle))).toEqual([['s2', 's5'], ['s1', 's3'], ['s4']]);
    expect(link(third.body, 'next')).toBeUndefined();
  });
});

describe('_count, _offset and the page links', () => {
  const set = `_tag=${TAGS}|count`;

  test('without _count a page holds the default 20 entries and a next link; the total is left out unless asked for', async () => {
    const res = await search(t, `Patient?${set}`);
    expect(res.body.entry).toHaveLength(20);
    expect(res.body.total).toBeUndefined();
    expect((await search(t, `Patient?${set}&_total=accurate`)).body.total).toBe(25);
    expect(link(res.body, 'self')).toBe(`${BASE_URL}/Patient?_tag=${TAGS}%7Ccount&_count=20`);
    expect(link(res.body, 'next')).toMatch(new RegExp(`^${BASE_URL}/Patient\\?_tag=.*&_count=20&_cursor=`));
    expect(link(res.body, 'previous')).toBeUndefined();
  });

  test('the CapabilityStatement states the default and the maximum page size', async () => {
    const res = await request(t.app).get('/fhir/metadata');
    expect(res.status).toBe(200);
    expect(res.body.rest[0].documentation).toContain('20 entries unless _count asks for another size, up to 1000');
  });

  test('_count above the maximum is lowered to the maximum (1000)', async () => {
    const res = await search(t, `Patient?${set}&_count=5000`);
    expect(res.status).toBe(200);
    expect(res.body.entry).toHaveLength(25);
    expect(link(res.body, 'self')).toBe(`${BASE_URL}/Patient?_tag=${TAGS}%7Ccount&_count=1000`);
    expect(link(res.body, 'next')).toBeUndefined();
  });

  test('_count=5 pages by five until the last page, which has no next link', async () => {
    const pages: string[][] = [];
    let res = await search(t, `Patient?${set}&_count=5`);
    pages.push(orderOf(res.body));
    while (link(res.body, 'next')) {
      res = await follow(link(res.body, 'next'));
      pages.push(orderOf(res.body));
    }
    expect(pages).toEqual(Array.from({ length: 5 }, (_, p) => COUNTED.slice(p * 5, p * 5 + 5).map((r) => r.id)));
  });

  test('_count=0 answers the total without entries', async () => {
    const res = await search(t, `Patient?${set}&_count=0`);
    expect(res.status).toBe(200);
    expect(res.body.entry).toBeUndefined();
    expect(res.body.total).toBe(25);
  });

  test('_offset skips entries and gives first and previous links', async () => {
    const res = await search(t, `Patient?${set}&_count=10&_offset=20`);
    expect(orderOf(res.body)).toEqual(COUNTED.slice(20).map((r) => r.id));
    expect(link(res.body, 'first')).toBe(`${BASE_URL}/Patient?_tag=${TAGS}%7Ccount&_count=10`);
    const previous = await follow(link(res.body, 'previous'));
    expect(orderOf(previous.body)).toEqual(COUNTED.slice(10, 20).map((r) => r.id));
  });

  test('a tampered page cursor is a 400 naming _cursor', async () => {
    const res = await search(t, `Patient?${set}&_cursor=not-a-cursor`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ code: 'invalid', expression: ['_cursor'] });
  });
});

describe('_total', () => {
  const set = `_tag=${TAGS}|count&_count=5`;
  test.each<[string, number | undefined]>([
    ['none', undefined],
    ['estimate', 25],
    ['accurate', 25],
  ])('_total=%s', async (mode, total) => {
    const res = await search(t, `Patient?${set}&_total=${mode}`);
    expect(res.status).toBe(200);
    expect(res.body.entry).toHaveLength(5);
    expect(res.body.total).toBe(total);
  });
});

describe('_summary and _elements', () => {
  test('_summary=count answers the total only', async () => {
    const res = await search(t, `Patient?_tag=${TAGS}|count&_summary=count`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(25);
    expect(res.body.entry).toBeUndefined();
  });

  test('_summary=true keeps the summary elements and marks each entry SUBSETTED', async () => {
    const res = await search(t, 'Patient?_id=full&_summary=true');
    const [resource] = (res.body as Bundle).entry?.map((e) => e.resource as Patient) ?? [];
    expect(Object.keys(resource ?? {}).sort()).toEqual(['birthDate', 'gender', 'id', 'meta', 'name', 'resourceType']);
    expect(resource?.meta?.tag).toContainEqual(SUBSETTED);
  });

  test('_summary=text keeps the narrative and the mandatory elements', async () => {
    const res = await search(t, 'Patient?_id=full&_summary=text');
    const resource = res.body.entry[0].resource as Patient;
    expect(Object.keys(resource).sort()).toEqual(['id', 'meta', 'resourceType', 'text']);
    expect(resource.meta?.tag).toContainEqual(SUBSETTED);
  });

  test('_summary=data leaves out the narrative only', async () => {
    const res = await search(t, 'Patient?_id=full&_summary=data');
    const resource = res.body.entry[0].resource as Patient;
    expect(resource.text).toBeUndefined();
    expect(resource.maritalStatus).toEqual({ text: 'Married' });
    expect(resource.meta?.tag).toContainEqual(SUBSETTED);
  });

  test('_summary=false returns the whole resource, not marked', async () => {
    const res = await search(t, 'Patient?_id=full&_summary=false');
    const resource = res.body.entry[0].resource as Patient;
    expect(resource.maritalStatus).toEqual({ text: 'Married' });
    expect(resource.meta?.tag).not.toContainEqual(SUBSETTED);
  });

  test('_elements keeps the named elements (and id, meta) and marks each entry SUBSETTED', async () => {
    const res = await search(t, 'Patient?_id=full&_elements=name,gender');
    const resource = res.body.entry[0].resource as Patient;
    expect(Object.keys(resource).sort()).toEqual(['gender', 'id', 'meta', 'name', 'resourceType']);
    expect(resource.meta?.tag).toContainEqual(SUBSETTED);
  });
});

/** GET a link of a Bundle (absolute on our base). */
async function follow(url: string | undefined) {
  expect(url).toBeDefined();
  expect(url?.startsWith(`${BASE_URL}/`)).toBe(true);
  const res = await request(t.app).get(`/fhir/${url?.slice(BASE_URL.length + 1)}`).set('Accept', FHIR_JSON);
  expect(res.status).toBe(200);
  return res;
}

