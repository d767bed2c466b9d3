// SMART discovery, the published signing keys and the CapabilityStatement's security section:
// public, and built from configuration only (never from the request's Host or X-Forwarded-*).
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { CLIENT_ASSERTION_TYPE } from '../../../src/auth/client-assertion';
import { signClientAssertion } from '../../../src/auth/client-credentials';
import { BASE_URL, type TestApp, testApp, tokenRequest } from '../../support/app';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.close();
});

const EXPECTED = {
  issuer: 'http://casebridge.test',
  jwks_uri: 'http://casebridge.test/auth/jwks',
  token_endpoint: 'http://casebridge.test/auth/token',
  introspection_endpoint: 'http://casebridge.test/auth/introspect',
  token_endpoint_auth_methods_supported: ['private_key_jwt'],
  token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
  grant_types_supported: ['client_credentials'],
  scopes_supported: ['system/*.cruds', 'system/*.rs', 'system/*.read', 'system/*.write', 'system/*.*'],
  capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
};

describe('.well-known/smart-configuration', () => {
  test.each(['/fhir/.well-known/smart-configuration', '/.well-known/smart-configuration'])('GET %s: the endpoints and what they support, without a token', async (path) => {
    const res = await request(t.bareApp).get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual(EXPECTED);
  });

  test('the Host and X-Forwarded-* headers change nothing', async () => {
    const res = await request(t.bareApp)
      .get('/fhir/.well-known/smart-configuration')
      .set('Host', 'attacker.example.org')
      .set('X-Forwarded-Host', 'attacker.example.org')
      .set('X-Forwarded-Proto', 'https')
      .set('Forwarded', 'host=attacker.example.org;proto=https');
    expect(res.body).toEqual(EXPECTED);
  });

  test('PUBLIC_URL moves the OAuth endpoints, and the token endpoint then expects that audience', async () => {
    const moved = await testApp({ env: { PUBLIC_URL: 'https://auth.example.org/casebridge' } });
    try {
      const res = await request(moved.bareApp).get('/fhir/.well-known/smart-configuration');
      expect(res.body).toMatchObject({
        issuer: 'https://auth.example.org/casebridge',
        token_endpoint: 'https://auth.example.org/casebridge/auth/token',
        introspection_endpoint: 'https://auth.example.org/casebridge/auth/introspect',
        jwks_uri: 'https://auth.example.org/casebridge/auth/jwks',
      });
      // The harness signs for moved.auth.urls.tokenUrl: it got its token, so that audience works.
      expect((await request(moved.app).get('/fhir/Patient?_count=1')).status).toBe(200);
      const oldAudience = await signClientAssertion(moved.admin.credentials, 'http://casebridge.test/auth/token');
      const refused = await tokenRequest(moved, { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: oldAudience, scope: 'system/*.rs' });
      expect(refused.status).toBe(401);
      expect(refused.body.error_description).toBe('aud must be the token endpoint, https://auth.example.org/casebridge/auth/token');
    } finally {
      await moved.close();
    }
  });
});

describe('GET /auth/jwks', () => {
  test('publishes the public signing keys only', async () => {
    const res = await request(t.bareApp).get('/auth/jwks');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/jwk-set+json; charset=utf-8');
    expect(res.body.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of res.body.keys) {
      expect(key).toEqual({ kty: 'EC', crv: 'P-384', x: expect.any(String), y: expect.any(String), kid: expect.any(String), alg: 'ES384', use: 'sig' });
    }
  });

  test('an access token verifies against it, for the FHIR base and from the issuer', async () => {
    const jwks = createLocalJWKSet((await request(t.bareApp).get('/auth/jwks')).body);
    const { payload } = await jwtVerify(await t.admin.token(), jwks, { issuer: 'http://casebridge.test', audience: BASE_URL, typ: 'at+jwt', algorithms: ['ES384'] });
    expect(payload.client_id).toBe(t.admin.clientId);
  });
});

describe('the CapabilityStatement', () => {
  test('is readable without a token and declares SMART-on-FHIR, naming the token endpoint and discovery', async () => {
    const res = await request(t.bareApp).get('/fhir/metadata');
    expect(res.status).toBe(200);
    const security = (res.body as CapabilityStatement).rest?.[0]?.security;
    expect(security?.service).toEqual([
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }], text: expect.any(String) },
    ]);
    expect(security?.description).toContain('http://casebridge.test/auth/token');
    expect(security?.description).toContain(`${BASE_URL}/.well-known/smart-configuration`);
    expect(security?.description).not.toMatch(/No authentication/);
    // No R4 oauth-uris extension: it requires an authorize endpoint this server does not have.
    expect(security?.extension).toBeUndefined();
  });
});
