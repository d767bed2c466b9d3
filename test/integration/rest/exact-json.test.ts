// Exact JSON (issue 12, item 5): what JSON.parse would silently change or accept is refused with
// its location, and numbers are stored as the client wrote them or not at all.
// See: https://hl7.org/fhir/R4/json.html and https://www.rfc-editor.org/rfc/rfc8259
import request from 'supertest';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.close();
});

/** Sends the bytes as they are (superagent would re-serialise a Buffer sent as JSON). */
function post(type: string, body: string | Buffer): request.Test {
  return request(t.app)
    .post(`/fhir/${type}`)
    .set('Content-Type', FHIR_JSON)
    .serialize((bytes: unknown) => bytes as string)
    .send(Buffer.isBuffer(body) ? body : Buffer.from(body));
}

async function stored(type: string): Promise<number> {
  return t.database.connection.db.collection(type).countDocuments();
}

test('a key repeated in one object is 400 located at the key, and nothing is stored', async () => {
  const before = await stored('Patient');
  const res = await post('Patient', '{"resourceType":"Patient","name":[{"family":"Doe","family":"Roe"}]}');
  expect(res.status).toBe(400);
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue[0].code).toBe('structure');
  expect(res.body.issue[0].expression).toEqual(['Patient.name[0].family']);
  expect(res.body.issue[0].diagnostics).toMatch(/"family" appears more than once/);
  expect(await stored('Patient')).toBe(before);
});

test('a key repeated through an escape is still the same key', async () => {
  const res = await post('Patient', '{"resourceType":"Patient","gender":"male","gend\\u0065r":"female"}');
  expect(res.status).toBe(400);
  expect(res.body.issue[0].expression).toEqual(['Patient.gender']);
});

test('the same key in two different objects is fine', async () => {
  const res = await post('Patient', '{"resourceType":"Patient","name":[{"family":"Doe"},{"family":"Roe"}]}');
  expect(res.status).toBe(201);
});

test('invalid UTF-8 is 400 naming the offset, not stored as U+FFFD', async () => {
  const before = await stored('Patient');
  const body = Buffer.concat([Buffer.from('{"resourceType":"Patient","name":[{"family":"Do'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
  const res = await post('Patient', body);
  expect(res.status).toBe(400);
  expect(res.body.issue[0].code).toBe('structure');
  expect(res.body.issue[0].diagnostics).toMatch(/not valid UTF-8 .*offset 47/);
  expect(await stored('Patient')).toBe(before);
});

test.each(['.', '..'])('the id %j is refused on update', async (id) => {
  const res = await request(t.app).put(`/fhir/Patient/${encodeURIComponent(id)}`).set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', id });
  expect(res.status).toBe(400);
  expect(res.body.resourceType).toBe('OperationOutcome');
});

test.each(['.', '..'])('the id %j is refused in a transaction and in a contained resource', async (id) => {
  const tx = await request(t.app)
    .post('/fhir')
    .set('Content-Type', FHIR_JSON)
    .send({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', id }, request: { method: 'PUT', url: `Patient/${id}` } }] });
  expect(tx.status).toBe(400);
  const contained = await post('Patient', JSON.stringify({ resourceType: 'Patient', contained: [{ resourceType: 'Organization', id, name: 'x' }], managingOrganization: { reference: `#${id}` } }));
  expect(contained.status).toBe(400);
  expect(contained.body.issue.some((i: { expression?: string[] }) => i.expression?.[0] === 'Patient.contained[0].id')).toBe(true);
});

test('an integer beyond 2^53 is refused, not rounded', async () => {
  const res = await post('Observation', '{"resourceType":"Observation","status":"final","code":{"text":"count"},"valueInteger":9007199254740993}');
  expect(res.status).toBe(400);
  expect(res.body.issue[0].expression).toEqual(['Observation.value.ofType(integer)']);
});

test('an integer written with a fraction or exponent is refused: FHIR integers are written as integers', async () => {
  const res = await post('Observation', '{"resourceType":"Observation","status":"final","code":{"text":"count"},"valueInteger":1.0}');
  expect(res.status).toBe(400);
  expect(res.body.issue[0].expression).toEqual(['Observation.value.ofType(integer)']);
});

test.each([
  ['a 16-digit integer above 2^53', '9007199254740993'],
  ['a 16-digit decimal', '1234567.890123457'],
  ['a 30-digit decimal', '123456789012345.678901234567890'],
  ['a decimal with trailing zeros', '7.200'],
])('a decimal (%s) is stored and served as written', async (_title, text) => {
  const res = await post('Observation', `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":${text},"unit":"mg"}}`);
  expect(res.status).toBe(201);
  const read = await request(t.app).get(`/fhir/Observation/${res.body.id}`).buffer(true).parse((r, done) => {
    let s = '';
    r.on('data', (c: Buffer) => (s += c.toString()));
    r.on('end', () => done(null, s));
  });
  expect(read.body as string).toContain(`"value":${text},`);
});

test('a JSON Patch value nested 10,000 levels is 400 too-costly, and the resource is unchanged', async () => {
  const created = await post('Patient', '{"resourceType":"Patient","gender":"male"}');
  const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
  const res = await request(t.app)
    .patch(`/fhir/Patient/${created.body.id}`)
    .set('Content-Type', 'application/json-patch+json')
    .send(`[{"op":"add","path":"/extension","value":[{"url":"http://x","valueString":${deep}}]}]`);
  expect(res.status).toBe(400);
  expect(res.body.issue[0].code).toBe('too-costly');
  const read = await request(t.app).get(`/fhir/Patient/${created.body.id}`);
  expect(read.body.meta.versionId).toBe('1');
});

test('a resource body nested past the limit is 400 too-costly', async () => {
  let extension: object = { url: 'http://x', valueString: 'x' };
  for (let i = 0; i < 150; i++) extension = { url: 'http://x', extension: [extension] };
  const res = await post('Patient', JSON.stringify({ resourceType: 'Patient', extension: [extension] }));
  expect(res.status).toBe(400);
  expect(res.body.issue[0].code).toBe('too-costly');
});

describe('large documents', () => {
  let big: TestApp;
  beforeAll(async () => {
    big = await testApp({ env: { BODY_LIMIT_BYTES: String(40 * 1024 * 1024) } });
  });
  afterAll(async () => {
    await big.close();
  });

  test('a 4 MB body of legal strings is stored, its long strings searchable on their kept part', async () => {
    const text = 'Zoë ab '.repeat(300_000);
    const res = await request(big.app)
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Patient', name: [{ family: text, given: [text], text }], address: [{ line: [text], city: text }] }));
    expect(res.status).toBe(201);
    const found = await request(big.app).get(`/fhir/Patient?given=${encodeURIComponent('zoe AB zoë')}&_elements=id`);
    expect(found.body.entry?.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([res.body.id]);
  });

  test('a resource the database could not hold is 413 naming the limit, before anything is written', async () => {
    const before = await big.database.connection.db.collection('Binary').countDocuments();
    const data = Buffer.alloc(13 * 1024 * 1024, 7).toString('base64');
    const res = await request(big.app).post('/fhir/Binary').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Binary', contentType: 'application/octet-stream', data }));
    expect(res.status).toBe(413);
    expect(res.body.issue[0].code).toBe('too-long');
    expect(res.body.issue[0].diagnostics).toMatch(/at most 16777216 bytes/);
    expect(await big.database.connection.db.collection('Binary').countDocuments()).toBe(before);
  });

  test('in a transaction, the oversized entry fails the whole Bundle with 413 and nothing is written', async () => {
    const before = await big.database.connection.db.collection('Patient').countDocuments();
    const data = Buffer.alloc(13 * 1024 * 1024, 7).toString('base64');
    const res = await request(big.app)
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { fullUrl: 'urn:uuid:8e1c1fbe-4a43-4c1a-9b5e-3f0d2f0a6a01', resource: { resourceType: 'Patient', gender: 'male' }, request: { method: 'POST', url: 'Patient' } },
            { resource: { resourceType: 'Binary', contentType: 'application/octet-stream', data }, request: { method: 'POST', url: 'Binary' } },
          ],
        }),
      );
    expect(res.status).toBe(413);
    expect(await big.database.connection.db.collection('Patient').countDocuments()).toBe(before);
  });
});
