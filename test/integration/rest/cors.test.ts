/** CORS for browser-based FHIR clients: preflights answered, FHIR headers exposed, origins configurable. */
import request from 'supertest';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';

describe('any origin (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(async () => {
    await t.close();
  });

  test('a preflight for a conditional update is answered 204 with the methods and the asked headers', async () => {
    const res = await request(t.app)
      .options('/fhir/Patient/abc')
      .set('Origin', 'https://app.example.org')
      .set('Access-Control-Request-Method', 'PUT')
      .set('Access-Control-Request-Headers', 'authorization,content-type,if-match');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-methods']).toBe('GET,HEAD,POST,PUT,PATCH,DELETE');
    expect(res.headers['access-control-allow-headers']).toBe('authorization,content-type,if-match');
  });

  test('a create answered to a browser exposes Location and ETag to its script', async () => {
    const res = await request(t.app).post('/fhir/Patient').set('Origin', 'https://app.example.org').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient' });
    expect(res.status).toBe(201);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-expose-headers']?.split(',')).toEqual(expect.arrayContaining(['ETag', 'Location', 'Last-Modified']));
  });

  test('the CapabilityStatement says CORS is supported', async () => {
    const res = await request(t.app).get('/fhir/metadata');
    expect(res.body.rest[0].security.cors).toBe(true);
  });
});

describe('a configured list of origins', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ env: { CORS_ORIGINS: 'https://ehr.example.org' } });
  });
  afterAll(async () => {
    await t.close();
  });

  test('a listed origin is allowed by name; another gets no CORS headers', async () => {
    const listed = await request(t.app).get('/fhir/metadata').set('Origin', 'https://ehr.example.org');
    expect(listed.headers['access-control-allow-origin']).toBe('https://ehr.example.org');
    const other = await request(t.app).get('/fhir/metadata').set('Origin', 'https://evil.example.com');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
