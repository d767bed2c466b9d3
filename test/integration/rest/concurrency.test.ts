import request from 'supertest';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.close();
});

async function create(): Promise<string> {
  const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: true });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

test('20 concurrent PUTs with the same If-Match give exactly one 200 and nineteen 412s, with no version lost', async () => {
  const id = await create();
  const responses = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      request(t.app)
        .put(`/fhir/Patient/${id}`)
        .set('Content-Type', FHIR_JSON)
        .set('If-Match', 'W/"1"')
        .send({ resourceType: 'Patient', id, name: [{ family: `Writer${i}` }] }),
    ),
  );
  const statuses = responses.map((r) => r.status).sort();
  expect(statuses.filter((s) => s === 200)).toHaveLength(1);
  expect(statuses.filter((s) => s === 412)).toHaveLength(19);
  const winner = responses.find((r) => r.status === 200)!;
  const current = await request(t.app).get(`/fhir/Patient/${id}`);
  expect(current.body.meta.versionId).toBe('2');
  expect(current.body.name).toEqual(winner.body.name);
  const history = await request(t.app).get(`/fhir/Patient/${id}/_history`);
  expect(history.body.entry.map((e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId)).toEqual(['2', '1']);
});

test('20 concurrent PUTs without If-Match each write their own version: none is lost', async () => {
  const id = await create();
  const responses = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      request(t.app)
        .put(`/fhir/Patient/${id}`)
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient', id, name: [{ family: `Writer${i}` }] }),
    ),
  );
  expect(responses.every((r) => r.status === 200)).toBe(true);
  const versions = responses.map((r) => Number(r.body.meta.versionId)).sort((a, b) => a - b);
  expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  const history = await request(t.app).get(`/fhir/Patient/${id}/_history?_count=50`);
  expect(history.body.entry).toHaveLength(21);
  const families = history.body.entry.slice(0, 20).map((e: { resource: { name: { family: string }[] } }) => e.resource.name[0]!.family).sort();
  expect(families).toEqual(Array.from({ length: 20 }, (_, i) => `Writer${i}`).sort());
});

test('concurrent JSON Patches without If-Match are all applied, each to the latest version', async () => {
  const created = await request(t.app)
    .post('/fhir/Patient')
    .set('Content-Type', FHIR_JSON)
    .send({ resourceType: 'Patient', identifier: [{ value: 'base' }] });
  const id = created.body.id as string;
  const responses = await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      request(t.app)
        .patch(`/fhir/Patient/${id}`)
        .set('Content-Type', 'application/json-patch+json')
        .send(JSON.stringify([{ op: 'add', path: '/identifier/-', value: { value: `id-${i}` } }])),
    ),
  );
  expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  const current = await request(t.app).get(`/fhir/Patient/${id}`);
  expect(current.body.meta.versionId).toBe('6');
  expect(current.body.identifier.map((i: { value: string }) => i.value).sort()).toEqual(['base', 'id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
});
