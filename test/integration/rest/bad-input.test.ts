// Every bad input gets its status and an OperationOutcome, and nothing is stored but the record of
// its refusal in the audit log.
import request from 'supertest';
import { databaseContents } from '../../support/database';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';

let t: TestApp;
beforeAll(async () => {
  t = await testApp({ env: { BODY_LIMIT_BYTES: '4096' } });
});
afterAll(async () => {
  await t.close();
});

/** Every stored document but CaseBridge's operational records (token ledger, request budgets, audit log): support/database.ts. */
async function storedDocuments(): Promise<number> {
  return Object.values(await databaseContents(t.database.connection.db)).reduce((n, docs) => n + docs.length, 0);
}

/** How many AuditEvents the audit log holds (docs/security.md#audit: every request, refused ones included). */
function auditEvents(): Promise<number> {
  return t.database.connection.db.collection('AuditEvent').countDocuments();
}

function expectOutcome(res: request.Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue[0].severity).toBe('error');
  expect(res.body.issue[0].code).toBe(code);
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+|Mongo|stack/i);
}

type Case = [title: string, send: () => request.Test, status: number, code: string];

const patient = { resourceType: 'Patient', gender: 'female' };

const cases: Case[] = [
  ['malformed JSON is 400', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send('{"resourceType": "Patient",'), 400, 'structure'],
  ['a body over the limit is 413', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...patient, text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(5000)}</div>` } })), 413, 'too-long'],
  ['an XML body is 415', () => request(t.app).post('/fhir/Patient').set('Content-Type', 'application/fhir+xml').send('<Patient xmlns="http://hl7.org/fhir"/>'), 415, 'not-supported'],
  ['a text/plain body is 415', () => request(t.app).post('/fhir/Patient').set('Content-Type', 'text/plain').send('hello'), 415, 'not-supported'],
  ['a body without Content-Type is 415', () => request(t.app).post('/fhir/Patient').send(Buffer.from(JSON.stringify(patient))).unset('Content-Type'), 415, 'not-supported'],
  ['Accept: XML only is 406', () => request(t.app).get('/fhir/metadata').set('Accept', 'application/fhir+xml'), 406, 'not-supported'],
  ['_format=xml is 406', () => request(t.app).get('/fhir/metadata?_format=xml'), 406, 'not-supported'],
  ['resourceType not matching the URL is 400', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Observation', status: 'final', code: { text: 'x' } }), 400, 'invalid'],
  ['a body id different from the URL id is 400', () => request(t.app).put('/fhir/Patient/abc').set('Content-Type', FHIR_JSON).send({ ...patient, id: 'xyz' }), 400, 'invalid'],
  ['an update body without id is 400', () => request(t.app).put('/fhir/Patient/abc').set('Content-Type', FHIR_JSON).send(patient), 400, 'required'],
  ['an unknown resource type is 404', () => request(t.app).get('/fhir/Spaceship/1'), 404, 'not-supported'],
  ['create of an unknown resource type is 404', () => request(t.app).post('/fhir/Spaceship').set('Content-Type', FHIR_JSON).send({ resourceType: 'Spaceship' }), 404, 'not-supported'],
  ['a $where key is rejected, not interpreted', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ ...patient, $where: 'sleep(1000)' }), 400, 'security'],
  ['a $gt operator object in an element is rejected', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ ...patient, birthDate: { $gt: '' } }), 400, 'security'],
  ['a __proto__ key is rejected', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send('{"resourceType":"Patient","__proto__":{"admin":true}}'), 400, 'security'],
  ['a key containing a dot is rejected', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ ...patient, 'name.family': 'x' }), 400, 'security'],
  ['an unknown element is 400', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ ...patient, favouriteColour: 'blue' }), 400, 'structure'],
  ['a bad code for a required binding is 400', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ ...patient, gender: 'x' }), 400, 'code-invalid'],
  ['an impossible date is 400', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ ...patient, birthDate: '2024-02-31' }), 400, 'value'],
  ['a missing required element is 400', () => request(t.app).post('/fhir/CarePlan').set('Content-Type', FHIR_JSON).send({ resourceType: 'CarePlan', subject: { reference: 'Patient/1' } }), 400, 'required'],
  ['a body that is not an object is 400', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send('[1,2]'), 400, 'structure'],
  ['an empty create body is 400', () => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON), 400, 'structure'],
  ['an invalid id in the URL is 400', () => request(t.app).put('/fhir/Patient/a%20b').set('Content-Type', FHIR_JSON).send({ ...patient, id: 'a b' }), 400, 'value'],
  ['an invalid If-Match is 400', () => request(t.app).put('/fhir/Patient/abc').set('Content-Type', FHIR_JSON).set('If-Match', 'yesterday').send({ ...patient, id: 'abc' }), 400, 'invalid'],
  ['a PATCH whose FHIR JSON body is not a FHIRPath Patch is 400', () => request(t.app).patch('/fhir/Patient/abc').set('Content-Type', FHIR_JSON).send(patient), 400, 'invalid'],
  ['a PATCH in text/plain is 415', () => request(t.app).patch('/fhir/Patient/abc').set('Content-Type', 'text/plain').send('gender=male'), 415, 'not-supported'],
  ['POST to an instance is 405', () => request(t.app).post('/fhir/Patient/abc').set('Content-Type', FHIR_JSON).send(patient), 405, 'not-supported'],
  ['a Bundle of type collection is 400', () => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle', type: 'collection' }), 400, 'invalid'],
  ['a path outside /fhir is 404', () => request(t.app).get('/elsewhere'), 404, 'not-supported'],
  ['an unknown operation is 404', () => request(t.app).post('/fhir/Patient/$teleport').set('Content-Type', FHIR_JSON).send({}), 404, 'not-supported'],
];

test.each(cases)('%s, and nothing is stored but one AuditEvent of the refusal', async (_title, send, status, code) => {
  const before = await storedDocuments();
  const audited = await auditEvents();
  const res = await send();
  expectOutcome(res, status, code);
  expect(await storedDocuments()).toBe(before);
  expect(await auditEvents()).toBe(audited + 1);
});

test('validation issues locate each problem with a FHIRPath expression', async () => {
  const res = await request(t.app)
    .post('/fhir/Patient')
    .set('Content-Type', FHIR_JSON)
    .send({ resourceType: 'Patient', gender: 'x', name: [{ family: 'A', bogus: 1 }], birthDate: '1990-13-01' });
  expect(res.status).toBe(400);
  const expressions = res.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? []);
  // An unknown element is located at the object holding it, as the HL7 validator does (docs/validation.md).
  expect(expressions).toEqual(expect.arrayContaining(['Patient.gender', 'Patient.name[0]', 'Patient.birthDate']));
});

test('the stored resource keeps operator-looking strings as plain data', async () => {
  const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ ...patient, name: [{ family: '$where' }] });
  expect(res.status).toBe(201);
  const read = await request(t.app).get(`/fhir/Patient/${res.body.id}`);
  expect(read.body.name).toEqual([{ family: '$where' }]);
});
