/** Binary in its native form: raw content in, raw content out. See: https://hl7.org/fhir/R4/binary.html#rest */
import request from 'supertest';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';
import { databaseContents } from '../../support/database';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.close();
});

// A few bytes that are not UTF-8 text: the content must come back byte for byte.
const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from([0xe2, 0xe3, 0xcf, 0xd3, 0x00, 0xff])]);

async function postPdf(headers: Record<string, string> = {}) {
  const res = await request(t.app).post('/fhir/Binary').set('Content-Type', 'application/pdf').set(headers).send(PDF);
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('raw content becomes a Binary', () => {
  test('POST of a PDF stores a Binary whose data is the PDF', async () => {
    const id = await postPdf();
    const res = await request(t.app).get(`/fhir/Binary/${id}`).set('Accept', FHIR_JSON);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body).toMatchObject({ resourceType: 'Binary', id, contentType: 'application/pdf', data: PDF.toString('base64') });
  });

  test('PUT of text to Binary/[id] creates it, then updates it', async () => {
    const first = await request(t.app).put('/fhir/Binary/note-1').set('Content-Type', 'text/plain; charset=utf-8').send('Home visit: client well.');
    expect(first.status).toBe(201);
    const second = await request(t.app).put('/fhir/Binary/note-1').set('Content-Type', 'text/plain; charset=utf-8').set('If-Match', 'W/"1"').send('Home visit: client well, rent paid.');
    expect(second.status).toBe(200);
    const text = await request(t.app).get('/fhir/Binary/note-1');
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(text.text).toBe('Home visit: client well, rent paid.');
  });

  test('FHIR JSON that is not a Binary is content too; a Binary resource is taken as one', async () => {
    const content = await request(t.app).post('/fhir/Binary').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: true });
    expect(content.status).toBe(201);
    expect(content.body).toMatchObject({ resourceType: 'Binary', contentType: 'application/fhir+json' });
    expect(JSON.parse(Buffer.from(content.body.data, 'base64').toString('utf8'))).toEqual({ resourceType: 'Patient', active: true });
    const resource = await request(t.app).post('/fhir/Binary').set('Content-Type', FHIR_JSON).send({ resourceType: 'Binary', contentType: 'text/csv', data: 'YSxi' });
    expect(resource.body).toMatchObject({ resourceType: 'Binary', contentType: 'text/csv', data: 'YSxi' });
  });
});

describe('a Binary read without asking for FHIR answers the content', () => {
  test.each<[string, Record<string, string>]>([
    ['Accept: application/pdf', { Accept: 'application/pdf' }],
    ['Accept: */*', { Accept: '*/*' }],
    ['no Accept', {}],
  ])('%s', async (_title, headers) => {
    const id = await postPdf();
    const res = await request(t.app).get(`/fhir/Binary/${id}`).set(headers).responseType('blob');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers['content-disposition']).toBe('attachment');
    expect(Buffer.compare(res.body as Buffer, PDF)).toBe(0);
  });

  test('vread and HEAD too; _format=json asks for the resource', async () => {
    const id = await postPdf({ 'X-Security-Context': 'Patient/sc-1' });
    const vread = await request(t.app).get(`/fhir/Binary/${id}/_history/1`).responseType('blob');
    expect(Buffer.compare(vread.body as Buffer, PDF)).toBe(0);
    expect(vread.headers['x-security-context']).toBe('Patient/sc-1');
    const head = await request(t.app).head(`/fhir/Binary/${id}`);
    expect([head.status, head.headers['content-type'], head.headers['content-length']]).toEqual([200, 'application/pdf', String(PDF.length)]);
    const json = await request(t.app).get(`/fhir/Binary/${id}?_format=json`);
    expect(json.body).toMatchObject({ resourceType: 'Binary', securityContext: { reference: 'Patient/sc-1' } });
  });

  test('errors stay OperationOutcomes', async () => {
    const res = await request(t.app).get('/fhir/Binary/no-such-binary').set('Accept', 'application/pdf');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});

test('a raw body anywhere but Binary is still a 415, and nothing is stored', async () => {
  const before = await databaseContents(t.database.connection.db);
  const res = await request(t.app).post('/fhir/DocumentReference').set('Content-Type', 'application/pdf').send(PDF);
  expect(res.status).toBe(415);
  expect(await databaseContents(t.database.connection.db)).toEqual(before);
});
