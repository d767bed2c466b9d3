/**
 * What the server answers is itself valid FHIR: every response body of the FHIR API, success or
 * error, passes the same validator as the writes. A client that validates what it receives (HAPI
 * in strict mode, the HL7 validator) must never find fault with us.
 */
import type { Bundle } from '@medplum/fhirtypes';
import request from 'supertest';
import { validateResource } from '../../../src/fhir/validation';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';

let t: TestApp;
let patientId = '';
beforeAll(async () => {
  t = await testApp();
  const created = await request(t.app)
    .post('/fhir/Patient')
    .set('Content-Type', FHIR_JSON)
    .send({ resourceType: 'Patient', identifier: [{ system: 'urn:agency:clients', value: 'V-1' }], name: [{ family: 'Valid' }] });
  patientId = created.body.id as string;
  await request(t.app)
    .post('/fhir')
    .set('Content-Type', FHIR_JSON)
    .send({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'mood' }, subject: { reference: `Patient/${patientId}` } }, request: { method: 'POST', url: 'Observation' } },
        { resource: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: `Patient/${patientId}` } }, request: { method: 'POST', url: 'CarePlan' } },
      ],
    })
    .expect(200);
  await request(t.app).put(`/fhir/Patient/${patientId}`).set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', id: patientId, active: true }).expect(200);
});
afterAll(async () => {
  await t.close();
});

const get = (path: string) => () => request(t.app).get(`/fhir/${path}`);
const post = (path: string, body: object) => () => request(t.app).post(`/fhir/${path}`).set('Content-Type', FHIR_JSON).send(body);

test.each<[string, () => request.Test]>([
  ['the CapabilityStatement', get('metadata')],
  ['a read', () => request(t.app).get(`/fhir/Patient/${patientId}`)],
  ['a read with _summary=true', () => request(t.app).get(`/fhir/Patient/${patientId}?_summary=true`)],
  ['a read with _elements', () => request(t.app).get(`/fhir/Patient/${patientId}?_elements=name`)],
  ['a searchset with _include and _revinclude', () => request(t.app).get(`/fhir/Patient?_id=${patientId}&_revinclude=Observation:subject&_revinclude=CarePlan:subject`)],
  ['an empty searchset', get('Patient?name=nobody')],
  ['a searchset with an unknown parameter reported', get('Patient?colour=blue')],
  ['_summary=count', get('Observation?_summary=count')],
  ['a system search', get('?_type=Patient,Observation')],
  ['a compartment search across types', () => request(t.app).get(`/fhir/Patient/${patientId}/*`)],
  ['instance history', () => request(t.app).get(`/fhir/Patient/${patientId}/_history`)],
  ['system history', get('_history')],
  ['Patient/$everything', () => request(t.app).get(`/fhir/Patient/${patientId}/$everything`)],
  ['a batch-response with a failure', post('', { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/none' } }, { request: { method: 'GET', url: `Patient/${patientId}` } }] })],
  ['a transaction-response', post('', { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }] })],
  ['$validate of an invalid resource', post('Patient/$validate', { resourceType: 'Patient', gender: 'x' })],
  ['Prefer: return=OperationOutcome', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('Prefer', 'return=OperationOutcome').send({ resourceType: 'Patient' })],
  ['a 404', get('Patient/none')],
  ['a 400 for a bad search value', get('Patient?birthdate=yesterday')],
  ['a 406', () => request(t.app).get('/fhir/metadata').set('Accept', 'application/fhir+xml')],
])('%s', async (_title, send) => {
  const res = await send();
  expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
  const errors = validateResource(res.body).filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
  expect(errors).toEqual([]);
  for (const entry of (res.body as Bundle).entry ?? []) {
    if (entry.resource) {
      expect(validateResource(entry.resource).filter((issue) => issue.severity === 'error')).toEqual([]);
    }
  }
});
