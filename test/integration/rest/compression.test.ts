/** Responses are gzipped when the client accepts it, and only then. */
import request from 'supertest';
import { type TestApp, testApp } from '../../support/app';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.close();
});

test('Accept-Encoding: gzip gets a gzipped CapabilityStatement', async () => {
  // supertest unzips what it receives: the header says what travelled.
  const res = await request(t.app).get('/fhir/metadata').set('Accept-Encoding', 'gzip');
  expect(res.headers['content-encoding']).toBe('gzip');
  expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
  expect(res.body.resourceType).toBe('CapabilityStatement');
});

test('without Accept-Encoding the body is plain', async () => {
  const res = await request(t.app).get('/fhir/metadata').set('Accept-Encoding', 'identity');
  expect(res.headers['content-encoding']).toBeUndefined();
  expect(res.body.resourceType).toBe('CapabilityStatement');
});
