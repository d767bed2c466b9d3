// Conditional creates inside transactions are as race-safe as outside (issue 12, item 1): twenty
// transactions sent at once, each creating "the Patient with this identifier if none exists",
// create exactly one; the others find it.
import request from 'supertest';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.close();
});

test('20 concurrent transactions with the same ifNoneExist create one Patient', async () => {
  const identifier = `http://casebridge.test/mrn|race-${Date.now()}`;
  const bundle = (n: number) => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:0b0f5a8e-3e34-4c7e-8f6a-5d1f2a3b4c5d',
        resource: { resourceType: 'Patient', identifier: [{ system: 'http://casebridge.test/mrn', value: identifier.split('|')[1] }] },
        request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${identifier}` },
      },
      {
        resource: { resourceType: 'Observation', status: 'final', code: { text: `visit ${n}` }, subject: { reference: 'urn:uuid:0b0f5a8e-3e34-4c7e-8f6a-5d1f2a3b4c5d' } },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  });
  const answers = await Promise.all(Array.from({ length: 20 }, (_, n) => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(bundle(n))));
  expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
  const created = answers.filter((a) => a.body.entry[0].response.status.startsWith('201'));
  expect(created).toHaveLength(1);
  const patients = await request(t.app).get(`/fhir/Patient?identifier=${encodeURIComponent(identifier)}`);
  expect(patients.body.total).toBe(1);
  const id = patients.body.entry[0].resource.id;
  // Every Observation points at that one Patient.
  const observations = await request(t.app).get(`/fhir/Observation?subject=Patient/${id}&_count=50`);
  expect(observations.body.total).toBe(20);
});
