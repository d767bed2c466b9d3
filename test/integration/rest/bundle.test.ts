import request from 'supertest';
import { BASE_URL, FHIR_JSON, type TestApp, testApp } from '../../support/app';
import { databaseContents } from '../../support/database';

/** Fails the Nth write to the database when armed (counting from 1); the repository must undo. */
const fault = { failAt: 0, writes: 0 };

let t: TestApp;
beforeAll(async () => {
  t = await testApp({
    beforeWrite: ({ collection }) => {
      if (fault.failAt === 0 || collection === 'journal') return;
      fault.writes++;
      if (fault.writes === fault.failAt) {
        throw new Error('injected database failure');
      }
    },
  });
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  fault.failAt = 0;
  fault.writes = 0;
});

const snapshot = () => databaseContents(t.database.connection.db);

function post(body: object) {
  return request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
}

const fiveEntryTransaction = (patientId: string) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    { fullUrl: 'urn:uuid:6d3b1c2e-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', name: [{ family: 'Nakamura' }] }, request: { method: 'POST', url: 'Patient' } },
    {
      fullUrl: 'urn:uuid:6d3b1c2e-0000-4000-8000-000000000002',
      resource: { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: 'urn:uuid:6d3b1c2e-0000-4000-8000-000000000001' } },
      request: { method: 'POST', url: 'EpisodeOfCare' },
    },
    {
      resource: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Reduce anxiety' }, subject: { reference: 'urn:uuid:6d3b1c2e-0000-4000-8000-000000000001' } },
      request: { method: 'POST', url: 'Goal' },
    },
    { resource: { resourceType: 'Patient', id: patientId, active: false }, request: { method: 'PUT', url: `Patient/${patientId}` } },
    {
      resource: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'urn:uuid:6d3b1c2e-0000-4000-8000-000000000001' } },
      request: { method: 'POST', url: 'CarePlan' },
    },
  ],
});

describe('transaction', () => {
  test('creates every entry, rewrites urn:uuid references and answers in request order', async () => {
    const existing = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: true });
    const res = await post(fiveEntryTransaction(existing.body.id));
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('transaction-response');
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual(['201 Created', '201 Created', '201 Created', '200 OK', '201 Created']);
    const patientId = res.body.entry[0].resource.id as string;
    expect(res.body.entry[0].response.location).toBe(`${BASE_URL}/Patient/${patientId}/_history/1`);
    const episode = await request(t.app).get(`/fhir/EpisodeOfCare/${res.body.entry[1].resource.id}`);
    expect(episode.body.patient.reference).toBe(`Patient/${patientId}`);
    const carePlan = res.body.entry[4].resource;
    expect(carePlan.subject.reference).toBe(`Patient/${patientId}`);
    expect(res.body.entry[3].resource.meta.versionId).toBe('2');
  });

  test('a transaction whose 5th entry is invalid fails with 400 pointing at the entry and leaves no trace', async () => {
    const existing = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: true });
    const bundle = fiveEntryTransaction(existing.body.id);
    (bundle.entry[4]!.resource as Record<string, unknown>).status = 'not-a-status';
    const before = await snapshot();
    const res = await post(bundle);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[4].resource.status']);
    expect(await snapshot()).toEqual(before);
  });

  // Writes: four creates (POST first), then the PUT's history copy and its replace.
  test.each([1, 2, 3, 4, 5, 6])('a database failure at write %i undoes every earlier write: no trace', async (n) => {
    const existing = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: true });
    const before = await snapshot();
    fault.failAt = n;
    const res = await post(fiveEntryTransaction(existing.body.id));
    expect(res.status).toBe(500);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(res.body)).not.toContain('injected');
    fault.failAt = 0;
    expect(await snapshot()).toEqual(before);
    const read = await request(t.app).get(`/fhir/Patient/${existing.body.id}`);
    expect(read.body.meta.versionId).toBe('1');
    expect(read.body.active).toBe(true);
  });

  test('the 5th entry failing on a stale ifMatch is 412 and leaves no trace', async () => {
    const existing = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: true });
    const bundle = fiveEntryTransaction(existing.body.id);
    const fifth = { resource: { resourceType: 'Patient', id: existing.body.id, active: true }, request: { method: 'PUT', url: `Patient/${existing.body.id}`, ifMatch: 'W/"9"' } };
    bundle.entry.splice(3, 1);
    bundle.entry.push(fifth as (typeof bundle.entry)[number]);
    const before = await snapshot();
    const res = await post(bundle);
    expect(res.status).toBe(412);
    expect(await snapshot()).toEqual(before);
  });

  test('an unresolvable urn:uuid reference is 400', async () => {
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'x' }, subject: { reference: 'urn:uuid:0b6a1d4c-0000-4000-8000-00000000dead' } }, request: { method: 'POST', url: 'Goal' } }],
    });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].diagnostics).toContain('urn:uuid:0b6a1d4c-0000-4000-8000-00000000dead');
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[0]']);
  });

  test('the same resource twice in one transaction is 400', async () => {
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', id: 'twice', active: true }, request: { method: 'PUT', url: 'Patient/twice' } },
        { resource: { resourceType: 'Patient', id: 'twice', active: false }, request: { method: 'PUT', url: 'Patient/twice' } },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[1]']);
    const read = await request(t.app).get('/fhir/Patient/twice');
    expect(read.status).toBe(404);
  });

  test('two entries with the same fullUrl are 400, located at the second', async () => {
    const fullUrl = 'urn:uuid:6f1c2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl, resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
        { fullUrl, resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[1]']);
  });

  test('processes DELETE before POST before PUT before GET, whatever the entry order', async () => {
    const doomed = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: true });
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `Patient/${doomed.body.id}` } },
        { resource: { resourceType: 'Patient', id: 'ordered', active: true }, request: { method: 'PUT', url: 'Patient/ordered' } },
        { request: { method: 'DELETE', url: `Patient/${doomed.body.id}` } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.entry[0].response.status).toBe('410 Gone');
    expect(res.body.entry[1].response.status).toBe('201 Created');
    expect(res.body.entry[2].response.status).toBe('204 No Content');
  });

  test('a JSON Patch entry (Binary) is applied inside the transaction', async () => {
    const existing = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: true });
    const patch = Buffer.from(JSON.stringify([{ op: 'replace', path: '/active', value: false }])).toString('base64');
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch }, request: { method: 'PATCH', url: `Patient/${existing.body.id}` } }],
    });
    expect(res.status).toBe(200);
    expect(res.body.entry[0].resource.active).toBe(false);
  });

  test('a FHIRPath Patch entry (Parameters) is applied inside the transaction', async () => {
    const existing = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: true });
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: {
            resourceType: 'Parameters',
            parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.active' }, { name: 'value', valueBoolean: false }] }],
          },
          request: { method: 'PATCH', url: `Patient/${existing.body.id}` },
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.entry[0].resource.active).toBe(false);
  });
});

describe('batch', () => {
  test('runs entries independently: each carries its own status or OperationOutcome', async () => {
    const res = await post({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', gender: 'robot' }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/no-such-patient' } },
        { request: { method: 'GET', url: 'metadata' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('batch-response');
    const [created, invalid, missing, metadata] = res.body.entry;
    expect(created.response.status).toBe('201 Created');
    expect(created.resource.id).toBeDefined();
    expect(invalid.response.status).toBe('400 Bad Request');
    expect(invalid.response.outcome.issue[0].expression).toEqual(['Patient.gender']);
    expect(missing.response.status).toBe('404 Not Found');
    expect(metadata.resource.resourceType).toBe('CapabilityStatement');
  });

  test('a malformed entry request is 400 for the whole Bundle', async () => {
    const res = await post({ resourceType: 'Bundle', type: 'batch', entry: [{ resource: { resourceType: 'Patient' } }] });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[0].request']);
  });
});
