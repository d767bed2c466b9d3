/**
 * Decimals keep the precision the client wrote, through every path a resource takes: create,
 * read, vread, search, history, transaction (with reference rewriting) and both patch formats.
 * See: https://hl7.org/fhir/R4/datatypes.html#decimal
 */
import request from 'supertest';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.close();
});

// As a client sends it: JSON text, not an object supertest would re-serialise.
const OBSERVATION = (subject: string) =>
  `{"resourceType":"Observation","status":"final","code":{"text":"lithium level"},"subject":{"reference":"${subject}"},` +
  `"valueQuantity":{"value":0.60,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},` +
  `"referenceRange":[{"low":{"value":0.40,"unit":"mmol/L"},"high":{"value":1.20,"unit":"mmol/L"}}]}`;

const PRECISE = ['"value":0.60', '"value":0.40', '"value":1.20'];

function expectPrecise(text: string): void {
  for (const fragment of PRECISE) {
    expect(text).toContain(fragment);
  }
}

async function createObservation(): Promise<string> {
  const res = await request(t.app).post('/fhir/Observation').set('Content-Type', FHIR_JSON).send(OBSERVATION('Patient/decimal-client'));
  expect(res.status).toBe(201);
  expectPrecise(res.text);
  return res.body.id as string;
}

test('create, read, vread, search and history answer the decimals as written', async () => {
  const id = await createObservation();
  for (const path of [`Observation/${id}`, `Observation/${id}/_history/1`, `Observation?_id=${id}`, `Observation/${id}/_history`, `Observation?value-quantity=0.60`]) {
    const res = await request(t.app).get(`/fhir/${path}`);
    expect([path, res.status]).toEqual([path, 200]);
    expectPrecise(res.text);
  }
});

test('a transaction keeps them while it rewrites references', async () => {
  const bundle =
    '{"resourceType":"Bundle","type":"transaction","entry":[' +
    '{"fullUrl":"urn:uuid:5d1e2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},' +
    `{"resource":${OBSERVATION('urn:uuid:5d1e2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b')},"request":{"method":"POST","url":"Observation"}}]}`;
  const res = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(bundle);
  expect(res.status).toBe(200);
  const id = res.body.entry[1].resource.id as string;
  expect(res.body.entry[1].resource.subject.reference).toMatch(/^Patient\//);
  expectPrecise((await request(t.app).get(`/fhir/Observation/${id}`)).text);
});

test('a JSON Patch or a FHIRPath Patch elsewhere leaves them as they were', async () => {
  const id = await createObservation();
  const jsonPatch = await request(t.app)
    .patch(`/fhir/Observation/${id}`)
    .set('Content-Type', 'application/json-patch+json')
    .send('[{"op":"replace","path":"/status","value":"amended"}]');
  expect(jsonPatch.status).toBe(200);
  expectPrecise(jsonPatch.text);
  const fhirPathPatch = await request(t.app)
    .patch(`/fhir/Observation/${id}`)
    .set('Content-Type', FHIR_JSON)
    .send('{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Observation.valueQuantity.value"},{"name":"value","valueDecimal":0.70}]}]}');
  expect(fhirPathPatch.status).toBe(200);
  expect(fhirPathPatch.text).toContain('"value":0.40');
  // The patched value keeps the text written in the patch.
  expect(fhirPathPatch.text).toContain('"valueQuantity":{"value":0.70,');
});
