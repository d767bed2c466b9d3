import request from 'supertest';
import { BASE_URL, FHIR_JSON, type TestApp, testApp } from '../../support/app';

let t: TestApp;
// A clock that moves one second per call: versions get distinct, predictable lastUpdated.
let tick = 0;
const clock = () => new Date(Date.UTC(2025, 0, 1) + tick++ * 1000);
beforeAll(async () => {
  t = await testApp({ now: clock });
});
afterAll(async () => {
  await t.close();
});

const patient = { resourceType: 'Patient', name: [{ family: 'Okafor', given: ['Ada'] }], gender: 'female', birthDate: '1984-03-02' };

async function createPatient(body: object = patient) {
  const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
  expect(res.status).toBe(201);
  return res;
}

describe('create', () => {
  test('returns 201 with Location, ETag, Last-Modified and the stored resource', async () => {
    const res = await createPatient({ ...patient, id: 'client-chosen', meta: { versionId: '99', lastUpdated: '2001-01-01T00:00:00Z', tag: [{ code: 't' }] } });
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    const id = res.body.id as string;
    expect(id).not.toBe('client-chosen');
    expect(res.headers.location).toBe(`${BASE_URL}/Patient/${id}/_history/1`);
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers['last-modified']).toBe(new Date(res.body.meta.lastUpdated).toUTCString());
    expect(res.body.meta).toEqual({ versionId: '1', lastUpdated: expect.stringMatching(/Z$/), tag: [{ code: 't' }] });
    expect(res.body.name).toEqual(patient.name);
  });

  test('honours Prefer: return=minimal and return=OperationOutcome', async () => {
    const minimal = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('Prefer', 'return=minimal').send(patient);
    expect(minimal.status).toBe(201);
    expect(minimal.text).toBe('');
    expect(minimal.headers.location).toMatch(/\/Patient\/.+\/_history\/1$/);
    const outcome = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('Prefer', 'return=OperationOutcome').send(patient);
    expect(outcome.status).toBe(201);
    expect(outcome.body.resourceType).toBe('OperationOutcome');
  });

  test('accepts application/json as well as application/fhir+json', async () => {
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', 'application/json').send(patient);
    expect(res.status).toBe(201);
  });
});

describe('read and vread', () => {
  test('read returns the current version with ETag and Last-Modified', async () => {
    const created = await createPatient();
    const res = await request(t.app).get(`/fhir/Patient/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers['last-modified']).toBe(new Date(created.body.meta.lastUpdated).toUTCString());
    expect(res.body).toEqual(created.body);
  });

  test('read of an unknown id is 404 with an OperationOutcome', async () => {
    const res = await request(t.app).get('/fhir/Patient/does-not-exist');
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].code).toBe('not-found');
  });

  test('read answers 304 to If-None-Match with the current ETag', async () => {
    const created = await createPatient();
    const res = await request(t.app).get(`/fhir/Patient/${created.body.id}`).set('If-None-Match', 'W/"1"');
    expect(res.status).toBe(304);
  });

  test('vread returns each kept version; an unknown version is 404', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send({ ...patient, id, gender: 'other' }).expect(200);
    const v1 = await request(t.app).get(`/fhir/Patient/${id}/_history/1`);
    expect(v1.status).toBe(200);
    expect(v1.body.gender).toBe('female');
    expect(v1.headers.etag).toBe('W/"1"');
    const v2 = await request(t.app).get(`/fhir/Patient/${id}/_history/2`);
    expect(v2.body.gender).toBe('other');
    const v3 = await request(t.app).get(`/fhir/Patient/${id}/_history/3`);
    expect(v3.status).toBe(404);
    expect(v3.body.issue[0].code).toBe('not-found');
  });

  test('_summary=true keeps summary elements and marks SUBSETTED; _elements keeps the named ones', async () => {
    const created = await createPatient({ ...patient, text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Ada</div>' } });
    const summary = await request(t.app).get(`/fhir/Patient/${created.body.id}?_summary=true`);
    expect(summary.status).toBe(200);
    expect(summary.body.text).toBeUndefined();
    expect(summary.body.name).toEqual(patient.name);
    expect(summary.body.meta.tag).toContainEqual({ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' });
    const elements = await request(t.app).get(`/fhir/Patient/${created.body.id}?_elements=gender`);
    expect(Object.keys(elements.body).sort()).toEqual(['gender', 'id', 'meta', 'resourceType']);
    const data = await request(t.app).get(`/fhir/Patient/${created.body.id}?_summary=data`);
    expect(data.body.text).toBeUndefined();
    expect(data.body.birthDate).toBe('1984-03-02');
  });

  test('_pretty=true indents the JSON and _format=json is accepted', async () => {
    const created = await createPatient();
    const res = await request(t.app).get(`/fhir/Patient/${created.body.id}?_pretty=true&_format=json`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('\n  "resourceType": "Patient"');
  });
});

describe('update', () => {
  test('increments the version and answers 200 with the new ETag', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    const res = await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send({ ...patient, id, active: true });
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('W/"2"');
    expect(res.headers.location).toBe(`${BASE_URL}/Patient/${id}/_history/2`);
    expect(res.body.meta.versionId).toBe('2');
    expect(res.body.active).toBe(true);
  });

  test('creates the resource under the client id when it does not exist (update-as-create)', async () => {
    const res = await request(t.app).put('/fhir/Patient/client-id-1').set('Content-Type', FHIR_JSON).send({ ...patient, id: 'client-id-1' });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`${BASE_URL}/Patient/client-id-1/_history/1`);
  });

  test('returns 412 when If-Match names a stale version, and 200 when it names the current one', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    const stale = await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).set('If-Match', 'W/"7"').send({ ...patient, id });
    expect(stale.status).toBe(412);
    expect(stale.body.issue[0].code).toBe('conflict');
    const fresh = await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).set('If-Match', 'W/"1"').send({ ...patient, id });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.etag).toBe('W/"2"');
  });
});

describe('patch', () => {
  test('applies a JSON Patch and keeps versioning', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    const res = await request(t.app)
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }, { op: 'add', path: '/active', value: false }]));
    expect(res.status).toBe(200);
    expect(res.body.gender).toBe('male');
    expect(res.body.active).toBe(false);
    expect(res.headers.etag).toBe('W/"2"');
  });

  test('rejects a patch whose result is invalid with 422 and stores nothing', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    const res = await request(t.app)
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'replace', path: '/gender', value: 'robot' }]));
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['Patient.gender']);
    const after = await request(t.app).get(`/fhir/Patient/${id}`);
    expect(after.body.meta.versionId).toBe('1');
  });

  test('a failing test operation is 422; a malformed patch is 400', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    const failed = await request(t.app)
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'test', path: '/gender', value: 'male' }]));
    expect(failed.status).toBe(422);
    const malformed = await request(t.app)
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'explode', path: '/gender' }]));
    expect(malformed.status).toBe(400);
  });

  test('applies a FHIRPath Patch (Parameters, application/fhir+json)', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    const operation = (type: string, path: string, ...parts: object[]) => ({
      name: 'operation',
      part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...parts],
    });
    const res = await request(t.app)
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', FHIR_JSON)
      .set('If-Match', 'W/"1"')
      .send(
        JSON.stringify({
          resourceType: 'Parameters',
          parameter: [
            operation('replace', 'Patient.birthDate', { name: 'value', valueDate: '1985-04-05' }),
            operation('add', 'Patient', { name: 'name', valueString: 'identifier' }, { name: 'value', valueIdentifier: { system: 'urn:mrn', value: '7' } }),
            operation('insert', 'Patient.name[0].given', { name: 'value', valueString: 'Nneka' }, { name: 'index', valueInteger: 0 }),
            operation('delete', 'Patient.gender'),
          ],
        }),
      );
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('W/"2"');
    const read = await request(t.app).get(`/fhir/Patient/${id}`);
    expect(read.body).toMatchObject({ birthDate: '1985-04-05', identifier: [{ system: 'urn:mrn', value: '7' }], name: [{ given: ['Nneka', 'Ada'] }] });
    expect(read.body.gender).toBeUndefined();
  });

  test('a FHIRPath Patch that cannot apply is located and stores nothing', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    const res = await request(t.app)
      .patch(`/fhir/Patient/${id}`)
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'operation', part: [{ name: 'type', valueCode: 'delete' }, { name: 'path', valueString: 'Patient.gender' }] },
          { name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.active' }, { name: 'value', valueBoolean: true }] },
        ],
      });
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].expression).toEqual(['Parameters.parameter[1]']);
    const after = await request(t.app).get(`/fhir/Patient/${id}`);
    expect(after.body.meta.versionId).toBe('1');
    expect(after.body.gender).toBe('female');
  });

  test('a JSON Patch array sent as application/fhir+json is refused: the formats do not mix', async () => {
    const created = await createPatient();
    const res = await request(t.app)
      .patch(`/fhir/Patient/${created.body.id}`)
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }]));
    expect(res.status).toBe(400);
    expect(res.body.issue[0].diagnostics).toMatch(/FHIRPath Patch/);
  });

  test('honours If-Match', async () => {
    const created = await createPatient();
    const res = await request(t.app)
      .patch(`/fhir/Patient/${created.body.id}`)
      .set('Content-Type', 'application/json-patch+json')
      .set('If-Match', 'W/"3"')
      .send(JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }]));
    expect(res.status).toBe(412);
  });
});

describe('delete', () => {
  test('a deleted resource reads as 410, keeps its history, and can be deleted again', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    const res = await request(t.app).delete(`/fhir/Patient/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const gone = await request(t.app).get(`/fhir/Patient/${id}`);
    expect(gone.status).toBe(410);
    expect(gone.body.issue[0].code).toBe('deleted');
    const v1 = await request(t.app).get(`/fhir/Patient/${id}/_history/1`);
    expect(v1.status).toBe(200);
    const v2 = await request(t.app).get(`/fhir/Patient/${id}/_history/2`);
    expect(v2.status).toBe(410);
    const again = await request(t.app).delete(`/fhir/Patient/${id}`);
    expect(again.status).toBe(200);
    const history = await request(t.app).get(`/fhir/Patient/${id}/_history`);
    expect(history.body.entry.map((e: { request: { method: string } }) => e.request.method)).toEqual(['DELETE', 'POST']);
  });

  test('an update after a delete brings the resource back with the next version (201)', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    await request(t.app).delete(`/fhir/Patient/${id}`).expect(200);
    const res = await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send({ ...patient, id });
    expect(res.status).toBe(201);
    expect(res.headers.etag).toBe('W/"3"');
  });
});

describe('history', () => {
  test('instance history lists versions newest first with request and response', async () => {
    const created = await createPatient();
    const id = created.body.id as string;
    await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send({ ...patient, id, active: true }).expect(200);
    const res = await request(t.app).get(`/fhir/Patient/${id}/_history`);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('history');
    expect(res.body.entry).toHaveLength(2);
    const [newest, oldest] = res.body.entry;
    expect(newest.request).toEqual({ method: 'PUT', url: `Patient/${id}` });
    expect(newest.response).toMatchObject({ status: '200 OK', etag: 'W/"2"' });
    expect(oldest.request).toEqual({ method: 'POST', url: 'Patient' });
    expect(oldest.response.status).toBe('201 Created');
    expect(oldest.fullUrl).toBe(`${BASE_URL}/Patient/${id}`);
  });

  test('history of an unknown resource is 404', async () => {
    const res = await request(t.app).get('/fhir/Patient/nobody/_history');
    expect(res.status).toBe(404);
  });

  test('type history pages with _count and next links without loss or duplicates', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++) {
      const res = await request(t.app).post('/fhir/Practitioner').set('Content-Type', FHIR_JSON).send({ resourceType: 'Practitioner', name: [{ family: `P${i}` }] });
      ids.add(res.body.id as string);
    }
    const seen: string[] = [];
    let url: string | undefined = '/fhir/Practitioner/_history?_count=3';
    let pages = 0;
    while (url) {
      const res = await request(t.app).get(url);
      expect(res.status).toBe(200);
      for (const e of res.body.entry) seen.push(e.resource.id);
      const next = (res.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'next');
      url = next ? next.url.replace(BASE_URL, '/fhir') : undefined;
      pages++;
      if (pages === 1) {
        // A version written between pages must not shift later pages.
        await request(t.app).post('/fhir/Practitioner').set('Content-Type', FHIR_JSON).send({ resourceType: 'Practitioner' });
      }
    }
    expect(pages).toBe(3);
    expect(new Set(seen)).toEqual(ids);
    expect(seen).toHaveLength(7);
  });

  test('_since keeps only versions last updated at or after the instant', async () => {
    const before = await createPatient();
    const since = new Date(new Date(before.body.meta.lastUpdated).getTime() + 1).toISOString();
    const later = await createPatient();
    const res = await request(t.app).get(`/fhir/Patient/_history?_since=${encodeURIComponent(since)}`);
    const ids = res.body.entry.map((e: { resource: { id: string } }) => e.resource.id);
    expect(ids).not.toContain(before.body.id);
    expect(ids).toContain(later.body.id);
    expect(res.body.entry.every((e: { response: { lastModified: string } }) => e.response.lastModified >= since)).toBe(true);
  });

  test('system history includes versions of every type', async () => {
    const org = await request(t.app).post('/fhir/Organization').set('Content-Type', FHIR_JSON).send({ resourceType: 'Organization', name: 'Harbour Housing' });
    const res = await request(t.app).get('/fhir/_history?_count=500');
    expect(res.status).toBe(200);
    const urls = res.body.entry.map((e: { fullUrl: string }) => e.fullUrl);
    expect(urls).toContain(`${BASE_URL}/Organization/${org.body.id}`);
    expect(urls.some((u: string) => u.includes('/Patient/'))).toBe(true);
  });

  test('an invalid _since is 400 naming the parameter', async () => {
    const res = await request(t.app).get('/fhir/Patient/_history?_since=yesterday');
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['_since']);
  });
});
