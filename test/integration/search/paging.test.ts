/**
 * Stable paging: 250 matches at _count=20, walked along next links and back along previous
 * links while new matching resources are written between page requests, both ahead of the
 * position reached and behind it. Keyset paging must see each original exactly once, see what
 * was written ahead, and never what was written behind. In its own database: FerretDB scans a
 * collection per query, so the other files stay small.
 * See: https://hl7.org/fhir/R4/http.html#paging and https://hl7.org/fhir/R4/search.html#count
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import request from 'supertest';
import { BASE_URL, FHIR_JSON, type TestApp, testApp } from '../../support/app';
import { link, search, seed } from './support';

const TAG = { system: 'http://casebridge.org/fhir/CodeSystem/test-set', code: 'paging' };
const QUERY = `_tag=${TAG.system}|${TAG.code}&_count=20`;
const PAGE_SIZE = 20;

const paging = (id: string, fields: Partial<Patient> = {}): Patient => ({ resourceType: 'Patient', id, meta: { tag: [TAG] }, ...fields });

/**
 * Ids ten apart (pg-00000, pg-00010, …) so that new ids fit between them; few distinct sort keys
 * (ten birth dates, every 25th missing; seven family names).
 */
const BIRTH_DATES = Array.from({ length: 10 }, (_, i) => `19${50 + i * 5}-01-01`);
const ORIGINALS: Patient[] = Array.from({ length: 250 }, (_, i) =>
  paging(`pg-${String(i * 10).padStart(5, '0')}`, {
    name: [{ family: `Family${i % 7}` }],
    ...(i % 25 === 0 ? {} : { birthDate: BIRTH_DATES[i % BIRTH_DATES.length] as string }),
  }),
);
const isOriginal = (id: string) => /^pg-\d{5}$/.test(id);

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
  // Written through the repository: this file tests reading, and 250 validated HTTP writes would
  // double its time. The writes between pages go through HTTP.
  for (const patient of ORIGINALS) {
    await t.services.repo.update(patient as Patient & { id: string });
  }
});
afterAll(async () => {
  await t.close();
});

interface Insert {
  readonly resource: Patient;
  /** Ahead of the position reached in the walk's direction: a later page must show it. */
  readonly ahead: boolean;
}

interface Walk {
  readonly pages: Patient[][];
  readonly inserted: Insert[];
  readonly last: Bundle;
}

/** Follows `relation` links from `start`; before each request writes what `inserts` gives for the page. */
async function walk(start: Bundle, relation: 'next' | 'previous', inserts: (page: Patient[], round: number) => Insert[]): Promise<Walk> {
  const pages: Patient[][] = [];
  const inserted: Insert[] = [];
  let body = start;
  for (;;) {
    const page = (body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as Patient);
    expect(page.length).toBeGreaterThan(0);
    expect(page.length).toBeLessThanOrEqual(PAGE_SIZE);
    pages.push(page);
    const url = link(body, relation);
    if (!url) {
      return { pages, inserted, last: body };
    }
    const round = inserts(page, pages.length);
    await seed(t, round.map((i) => i.resource));
    inserted.push(...round);
    body = (await follow(url)).body as Bundle;
  }
}

/** Each original once, nothing twice, every insert ahead seen, no insert behind seen. */
function expectExact(result: Walk): void {
  const ids = result.pages.flat().map((p) => p.id as string);
  expect(ids.length).toBe(new Set(ids).size);
  expect(ids.filter(isOriginal).sort()).toEqual(ORIGINALS.map((p) => p.id).sort());
  const seen = new Set(ids);
  expect(result.inserted.filter((i) => i.ahead && !seen.has(i.resource.id as string)).map((i) => i.resource.id)).toEqual([]);
  expect(result.inserted.filter((i) => !i.ahead && seen.has(i.resource.id as string)).map((i) => i.resource.id)).toEqual([]);
}

/**
 * Two new resources with the same sort keys as the page's edges: `${last}-n…` sorts just after
 * the last entry, `${first minus its last character}-n…` just before the first ('-' sorts before
 * digits and letters). One is ahead of the position reached, the other behind it.
 */
function besideTheEdges(direction: 'next' | 'previous', keysOf: (near: Patient) => Partial<Patient>) {
  return (page: Patient[], round: number): Insert[] => {
    const first = page[0] as Patient;
    const last = page[page.length - 1] as Patient;
    const forward = direction === 'next';
    return [
      { resource: paging(`${last.id}-n${round}`, keysOf(last)), ahead: forward },
      { resource: paging(`${first.id?.slice(0, -1)}-n${round}`, keysOf(first)), ahead: !forward },
    ];
  };
}

test('250 results in the default order (by id) with their total: next links see every original exactly once while resources are created', async () => {
  const first = await search(t, `Patient?${QUERY}&_total=accurate`);
  expect(first.status).toBe(200);
  expect(first.body.total).toBe(250);

  const forward = await walk(first.body, 'next', besideTheEdges('next', () => ({})));
  expect(forward.pages.length).toBeGreaterThanOrEqual(13);
  expectExact(forward);
  const forwardIds = forward.pages.flat().map((p) => p.id as string);
  expect(forwardIds).toEqual([...forwardIds].sort());
  // The total is counted again on every page: it includes what was written meanwhile.
  expect(forward.last.total).toBe(250 + forward.inserted.length);
});

/** -birthdate (missing last), then family (missing first), then id. */
function sortOrder(a: Patient, b: Patient): number {
  const [ab, bb] = [a.birthDate, b.birthDate];
  if (ab !== bb) {
    return ab === undefined ? 1 : bb === undefined ? -1 : ab < bb ? 1 : -1;
  }
  const [af, bf] = [a.name?.[0]?.family?.toLowerCase(), b.name?.[0]?.family?.toLowerCase()];
  if (af !== bf) {
    return af === undefined ? -1 : bf === undefined ? 1 : af < bf ? -1 : 1;
  }
  return (a.id as string) < (b.id as string) ? -1 : 1;
}

test('250 results sorted by -birthdate,family (ten dates, seven names, some missing): next links, then previous links back to the start, are exact while resources with the same keys are created', async () => {
  const sameKeys = (near: Patient): Partial<Patient> => ({
    ...(near.birthDate ? { birthDate: near.birthDate } : {}),
    ...(near.name ? { name: near.name } : {}),
  });
  const first = await search(t, `Patient?${QUERY}&_sort=-birthdate,family&_total=none`);
  expect(first.body.total).toBeUndefined();
  expect(first.status).toBe(200);

  const forward = await walk(first.body, 'next', besideTheEdges('next', sameKeys));
  expectExact(forward);
  const forwardOrder = forward.pages.flat();
  expect(forwardOrder.map((p) => p.id)).toEqual([...forwardOrder].sort(sortOrder).map((p) => p.id));

  const backward = await walk(forward.last, 'previous', besideTheEdges('previous', sameKeys));
  expectExact(backward);
  const backwardOrder = backward.pages.reverse().flat();
  expect(backwardOrder.map((p) => p.id)).toEqual([...backwardOrder].sort(sortOrder).map((p) => p.id));
});

/** GET a link of a Bundle (absolute on our base). */
async function follow(url: string) {
  expect(url.startsWith(`${BASE_URL}/`)).toBe(true);
  const res = await request(t.app).get(`/fhir/${url.slice(BASE_URL.length + 1)}`).set('Accept', FHIR_JSON);
  expect(res.status).toBe(200);
  return res;
}
