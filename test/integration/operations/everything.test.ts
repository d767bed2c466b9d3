import request from 'supertest';
import { BASE_URL, FHIR_JSON, type TestApp, testApp } from '../../support/app';

let t: TestApp;
let patientId: string;
let otherId: string;
let practitionerId: string;
beforeAll(async () => {
  t = await testApp();
  practitionerId = (await post({ resourceType: 'Practitioner', name: [{ family: 'Moreau' }] })).id;
  patientId = (await post({ resourceType: 'Patient', name: [{ family: 'Okafor' }], generalPractitioner: [{ reference: `Practitioner/${practitionerId}` }] })).id;
  otherId = (await post({ resourceType: 'Patient', name: [{ family: 'Other' }] })).id;
  for (const [date, score] of [['2024-02-01', 14], ['2024-06-01', 9], ['2025-01-15', 4]] as const) {
    await post({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '44261-6' }] },
      subject: { reference: `Patient/${patientId}` },
      effectiveDateTime: `${date}T10:00:00Z`,
      valueInteger: score,
    });
  }
  await post({ resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' }, subject: { reference: `Patient/${patientId}` } });
  await post({ resourceType: 'Observation', status: 'final', code: { text: 'other' }, subject: { reference: `Patient/${otherId}` } });
});
afterAll(async () => {
  await t.close();
});

async function post(resource: Record<string, unknown>): Promise<{ id: string }> {
  const res = await request(t.app).post(`/fhir/${resource.resourceType as string}`).set('Content-Type', FHIR_JSON).send(resource);
  expect(res.status).toBe(201);
  return res.body;
}

function keys(bundle: { entry: { resource: { resourceType: string; id: string } }[] }): string[] {
  return bundle.entry.map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
}

test('returns the patient, their compartment and what it references, and nothing of another patient', async () => {
  const res = await request(t.app).get(`/fhir/Patient/${patientId}/$everything`);
  expect(res.status).toBe(200);
  expect(res.body.type).toBe('searchset');
  const found = keys(res.body);
  expect(found).toContain(`Patient/${patientId}`);
  expect(found).toContain(`Practitioner/${practitionerId}`);
  expect(found.filter((k) => k.startsWith('Observation/'))).toHaveLength(3);
  expect(found.filter((k) => k.startsWith('Encounter/'))).toHaveLength(1);
  expect(found).not.toContain(`Patient/${otherId}`);
  expect(res.body.entry.find((e: { resource: { id: string } }) => e.resource.id === practitionerId).search.mode).toBe('include');
});

test('pages with _count across types without loss or duplicates', async () => {
  const all = keys((await request(t.app).get(`/fhir/Patient/${patientId}/$everything?_count=1000`)).body).filter((k) => !k.startsWith('Practitioner/'));
  const seen: string[] = [];
  let url: string | undefined = `/fhir/Patient/${patientId}/$everything?_count=2`;
  while (url) {
    const res = await request(t.app).get(url);
    expect(res.status).toBe(200);
    seen.push(...res.body.entry.filter((e: { search: { mode: string } }) => e.search.mode === 'match').map((e: { resource: { resourceType: string; id: string } }) => `${e.resource.resourceType}/${e.resource.id}`));
    const next = res.body.link.find((l: { relation: string }) => l.relation === 'next');
    url = next ? next.url.replace(BASE_URL, '/fhir') : undefined;
  }
  expect(seen.sort()).toEqual(all);
});

test('a large page that fills up inside a type continues there, without loss or duplicates', async () => {
  const busy = (await post({ resourceType: 'Patient', name: [{ family: 'Busy' }] })).id;
  for (let i = 0; i < 55; i++) {
    await post({ resourceType: 'Observation', status: 'final', code: { text: `note ${i}` }, subject: { reference: `Patient/${busy}` } });
  }
  await post({ resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' }, subject: { reference: `Patient/${busy}` } });
  const matches = (bundle: { entry: { search: { mode: string }; resource: { resourceType: string; id: string } }[] }) =>
    bundle.entry.filter((e) => e.search.mode === 'match').map((e) => `${e.resource.resourceType}/${e.resource.id}`);
  const all = matches((await request(t.app).get(`/fhir/Patient/${busy}/$everything?_count=1000`)).body);
  expect(all).toHaveLength(57);
  const first = await request(t.app).get(`/fhir/Patient/${busy}/$everything?_count=50`);
  const next = first.body.link.find((l: { relation: string }) => l.relation === 'next').url.replace(BASE_URL, '/fhir');
  const second = await request(t.app).get(next);
  expect(matches(first.body)).toHaveLength(50);
  expect(second.body.link.find((l: { relation: string }) => l.relation === 'next')).toBeUndefined();
  expect([...matches(first.body), ...matches(second.body)]).toEqual(all);
});

test('start and end restrict by care date; _type restricts the types', async () => {
  const res = await request(t.app).get(`/fhir/Patient/${patientId}/$everything?start=2024-03-01&end=2024-12-31&_type=Observation`);
  expect(res.status).toBe(200);
  expect(res.body.entry.map((e: { resource: { valueInteger: number } }) => e.resource.valueInteger)).toEqual([9]);
});

test('an unknown patient is 404; an unknown parameter or type is 400', async () => {
  expect((await request(t.app).get('/fhir/Patient/nobody/$everything')).status).toBe(404);
  const bad = await request(t.app).get(`/fhir/Patient/${patientId}/$everything?colour=blue`);
  expect(bad.status).toBe(400);
  expect(bad.body.issue[0].expression).toEqual(['colour']);
  expect((await request(t.app).get(`/fhir/Patient/${patientId}/$everything?_type=Spaceship`)).status).toBe(400);
});
