// When the audit log cannot be written, nothing is answered unrecorded: the request fails with 503
// and an OperationOutcome, and no part of its result leaves (docs/security.md#audit).
import type { AuditEvent } from '@medplum/fhirtypes';
import request from 'supertest';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';
import { seedDirectory } from '../../support/directory';

/** When armed, every write to the audit log fails as a database failure would. */
const fault = { armed: false };

let t: TestApp;
let patient: string;
beforeAll(async () => {
  t = await testApp({
    beforeWrite: ({ collection }) => {
      if (fault.armed && collection === 'AuditEvent') throw new Error('injected audit log failure');
    },
  });
  await seedDirectory(t, { organizations: ['agency'], roles: { 'cm-1': { organization: 'agency' } } });
  const created = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', name: [{ family: 'Okafor' }] });
  patient = `Patient/${created.body.id}`;
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  fault.armed = false;
});

function expectWithheld(res: request.Response) {
  expect(res.status).toBe(503);
  expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
  expect(res.headers.etag).toBeUndefined();
  expect(res.headers.location).toBeUndefined();
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue).toHaveLength(1);
  expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'transient', details: { coding: [{ code: 'UNAVAILABLE' }] } });
  expect(res.text).not.toContain('Okafor');
  expect(res.text).not.toContain('injected');
}

test.each<[string, () => request.Test]>([
  ['a read', () => request(t.app).get(`/fhir/${patient}`)],
  ['a search', () => request(t.app).get('/fhir/Patient?family=Okafor')],
  ['a vread', () => request(t.app).get(`/fhir/${patient}/_history/1`)],
  ['a batch', () => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: patient } }] })],
  ['a failed read', () => request(t.app).get('/fhir/Patient/missing')],
  ['a request refused before any interaction (415)', () => request(t.app).post('/fhir/Patient').set('Content-Type', 'text/plain').send('x')],
  ['an unknown route', () => request(t.app).get('/elsewhere')],
])('%s that cannot be recorded is 503 and sends nothing of its result', async (_title, send) => {
  fault.armed = true;
  expectWithheld(await send());
});

test('a write that cannot be recorded is 503 too, and says the change may have been saved', async () => {
  fault.armed = true;
  const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', name: [{ family: 'Okafor' }] });
  expectWithheld(res);
  expect(res.body.issue[0].diagnostics).toMatch(/may have been saved/);
});

test('a case view that cannot be recorded is 503', async () => {
  const opened = await request(t.app)
    .post('/cm/v1/cases')
    .set('Content-Type', 'application/json')
    .send({ client: { identifier: { system: 'urn:agency:clients', value: 'U-1' }, name: { family: 'Okafor' }, gender: 'female' }, caseManager: 'PractitionerRole/cm-1', agency: 'Organization/agency', opened: '2025-01-20' });
  expect(opened.status).toBe(201);
  fault.armed = true;
  expectWithheld(await request(t.app).get(`/cm/v1/${(opened.body.case as string).replace('EpisodeOfCare/', 'cases/')}`));
});

test('once the audit log can be written again, the same read answers, and it is recorded', async () => {
  fault.armed = true;
  expect((await request(t.app).get(`/fhir/${patient}`).set('X-Request-Id', 'withheld-1')).status).toBe(503);
  fault.armed = false;
  const res = await request(t.app).get(`/fhir/${patient}`).set('X-Request-Id', 'answered-1');
  expect(res.status).toBe(200);
  expect(res.body.name[0].family).toBe('Okafor');
  // The withheld request left no event; the answered one left its one.
  expect(await eventsOfRequest('withheld-1')).toBe(0);
  expect(await eventsOfRequest('answered-1')).toBe(1);
});

/** How many AuditEvents name the request, read from the store directly (the harness's caller is no auditor). */
async function eventsOfRequest(requestId: string): Promise<number> {
  const docs = await t.database.connection.db.collection('AuditEvent').find({}).toArray();
  return docs
    .map((d) => JSON.parse(d.json as string) as AuditEvent)
    .filter((e) => e.entity?.some((x) => x.what?.identifier?.value === requestId)).length;
}
