// While a transaction is being applied, readers see none of it (issue 12, item 1): its creates
// are neither found nor counted, and the resource it is updating reads, searches and lists in
// its history at its previous version, until the transaction commits; then all of it at once.
import request from 'supertest';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';

let t: TestApp;
let hold: Promise<void> | undefined;
let held = false;
/** Patient replaces to let through before holding one. */
let replacesBeforeHold = 0;
beforeAll(async () => {
  // Holds the transaction's replace of an existing Patient while `hold` is set: by then its
  // creates are written and the version it replaces is copied to history.
  t = await testApp({
    beforeWrite: async ({ collection, operation }) => {
      if (hold && collection === 'Patient' && operation === 'replace') {
        if (replacesBeforeHold > 0) {
          replacesBeforeHold--;
          return;
        }
        held = true;
        await hold;
      }
    },
  });
});
afterAll(async () => {
  await t.close();
});

/**
 * Sends a transaction Bundle of `entry` and waits until it is held at a Patient replace (after
 * `replacesFirst` others): its answer, and the function that lets it go on.
 */
async function sendHeld(entry: object[], replacesFirst = 0): Promise<{ sent: Promise<request.Response>; release: () => void }> {
  let release: () => void = () => undefined;
  hold = new Promise((resolve) => (release = resolve));
  held = false;
  replacesBeforeHold = replacesFirst;
  const sent = request(t.app)
    .post('/fhir')
    .set('Content-Type', FHIR_JSON)
    .send({ resourceType: 'Bundle', type: 'transaction', entry })
    .then((res) => res);
  for (let i = 0; i < 300 && !held; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(held).toBe(true);
  hold = undefined;
  return { sent, release };
}

test('a transaction half-applied is invisible to reads, searches, counts and history; whole once committed', async () => {
  const existing = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', gender: 'female', name: [{ family: 'Before' }] });
  const id = existing.body.id as string;
  const batch = `http://casebridge.test/in-flight|${Date.now()}`;
  const [system, value] = batch.split('|');
  const { sent, release } = await sendHeld([
    ...Array.from({ length: 5 }, () => ({ resource: { resourceType: 'Patient', identifier: [{ system, value }] }, request: { method: 'POST', url: 'Patient' } })),
    { resource: { resourceType: 'Patient', id, gender: 'female', name: [{ family: 'After' }] }, request: { method: 'PUT', url: `Patient/${id}` } },
  ]);

  try {
    const found = await request(t.app).get(`/fhir/Patient?identifier=${encodeURIComponent(batch)}`);
    expect(found.body.entry ?? []).toHaveLength(0);
    const counted = await request(t.app).get(`/fhir/Patient?identifier=${encodeURIComponent(batch)}&_summary=count`);
    expect(counted.body.total).toBe(0);
    const read = await request(t.app).get(`/fhir/Patient/${id}`);
    expect(read.body.meta.versionId).toBe('1');
    expect(read.body.name[0].family).toBe('Before');
    expect((await request(t.app).get(`/fhir/Patient/${id}/_history/2`)).status).toBe(404);
    const byName = await request(t.app).get(`/fhir/Patient?_id=${id}`);
    expect(byName.body.entry.map((e: { resource: { name: { family: string }[] } }) => e.resource.name[0]?.family)).toEqual(['Before']);
    const history = await request(t.app).get(`/fhir/Patient/${id}/_history`);
    expect(history.body.entry.map((e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId)).toEqual(['1']);
  } finally {
    // Even when a check fails: a held transaction would hold the test run.
    release();
  }
  expect((await sent).status).toBe(200);
  expect((await request(t.app).get(`/fhir/Patient?identifier=${encodeURIComponent(batch)}&_summary=count`)).body.total).toBe(5);
  expect((await request(t.app).get(`/fhir/Patient/${id}`)).body.name[0].family).toBe('After');
});

test('a resource a transaction in flight has already rewritten matches no search, chain or condition by its new values', async () => {
  const post = (body: object) => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(body);
  const family = `Renamed${Date.now()}`;
  const [a, b] = [(await post({ resourceType: 'Patient', name: [{ family: 'Before' }] })).body.id as string, (await post({ resourceType: 'Patient', name: [{ family: 'Other' }] })).body.id as string];
  const observation = await request(t.app)
    .post('/fhir/Observation')
    .set('Content-Type', FHIR_JSON)
    .send({ resourceType: 'Observation', status: 'final', code: { text: 'mood' }, subject: { reference: `Patient/${a}` } });
  expect(observation.status).toBe(201);
  // A is rewritten (tagged, not committed); the transaction is then held at B's replace.
  const { sent, release } = await sendHeld(
    [
      { resource: { resourceType: 'Patient', id: a, name: [{ family }] }, request: { method: 'PUT', url: `Patient/${a}` } },
      { resource: { resourceType: 'Patient', id: b, name: [{ family: 'Other2' }] }, request: { method: 'PUT', url: `Patient/${b}` } },
    ],
    1,
  );
  try {
    // The database matches A's new version; the reader is shown the one before, which does not match.
    expect((await request(t.app).get(`/fhir/Patient?family=${family}`)).body.entry ?? []).toHaveLength(0);
    expect((await request(t.app).get(`/fhir/Observation?subject:Patient.family=${family}`)).body.entry ?? []).toHaveLength(0);
    expect((await request(t.app).get(`/fhir/Patient?_id=${a}`)).body.entry[0].resource.name[0].family).toBe('Before');
    // Counted as the version before it: once by its id, not at all by its new name.
    expect((await request(t.app).get(`/fhir/Patient?_id=${a}&_summary=count`)).body.total).toBe(1);
    expect((await request(t.app).get(`/fhir/Patient?family=${family}&_summary=count`)).body.total).toBe(0);
    // A conditional create by the new value finds nothing to match: it creates.
    const conditional = await post({ resourceType: 'Patient', name: [{ family: `${family}-conditional` }] }).set('If-None-Exist', `family=${family}`);
    expect(conditional.status).toBe(201);
  } finally {
    release();
  }
  expect((await sent).status).toBe(200);
  expect((await request(t.app).get(`/fhir/Patient?family:exact=${family}`)).body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([a]);
  expect((await request(t.app).get(`/fhir/Observation?subject:Patient.family=${family}`)).body.entry).toHaveLength(1);
});
