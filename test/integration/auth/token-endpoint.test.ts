// The token endpoint (SMART Backend Services, client_credentials with private_key_jwt) against
// the real application and FerretDB: real clients registered with real keys, assertions signed
// here, every assertion rule broken once.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { type JWK, type JWTPayload, SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK } from 'jose';
import request from 'supertest';
import { CLIENT_ASSERTION_TYPE } from '../../../src/auth/client-assertion';
import { tokenRequestForm } from '../../../src/auth/client-credentials';
import { BASE_URL, TOKEN_URL, type TestApp, type TestClient, registerTestClient, testApp, tokenRequest } from '../../support/app';

let t: TestApp;
let es: TestClient;
let rs: TestClient;
beforeAll(async () => {
  t = await testApp();
  es = await registerTestClient(t, { role: 'agency', organization: 'Organization/riverside', scopes: ['system/*.rs', 'system/Task.cruds'], purposes: ['TREAT', 'CAREMGT'] });
  rs = await registerTestClient(t, { role: 'ehr', organization: 'Organization/st-mary', scopes: ['system/CarePlan.read', 'system/Patient.rs'], alg: 'RS384' });
});
afterAll(async () => {
  await t.close();
});

const now = () => Math.floor(Date.now() / 1000);

/** An assertion for `client` with the given claims and header changed (undefined removes one). */
async function assertion(client: TestClient, claims: Partial<Record<keyof JWTPayload, unknown>> = {}, header: Record<string, unknown> = {}, key?: JWK): Promise<string> {
  const jwk = key ?? client.credentials.private_key;
  const payload = Object.fromEntries(
    Object.entries({ iss: client.clientId, sub: client.clientId, aud: TOKEN_URL, exp: now() + 60, iat: now(), jti: randomUUID(), ...claims }).filter(([, v]) => v !== undefined),
  );
  const protectedHeader = Object.fromEntries(Object.entries({ alg: jwk.alg, typ: 'JWT', kid: jwk.kid, ...header }).filter(([, v]) => v !== undefined));
  return new SignJWT(payload).setProtectedHeader(protectedHeader as { alg: string }).sign(await importJWK(jwk, jwk.alg));
}

const ask = (signed: string, scope = 'system/*.rs', extra: Record<string, string> = {}) =>
  tokenRequest(t, { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: signed, scope, ...extra });

function expectOAuthError(res: request.Response, status: number, error: string, description?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).toEqual({ error, error_description: expect.any(String) });
  if (description) expect(res.body.error_description).toMatch(description);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('a token for a valid assertion', () => {
  test.each([
    ['ES384', () => es, 'system/*.rs system/Task.cruds', 'agency', 'Organization/riverside'],
    ['RS384', () => rs, 'system/CarePlan.read system/Patient.rs', 'ehr', 'Organization/st-mary'],
  ])('%s: 200 with a bearer token, its lifetime and the granted scopes; the token opens the FHIR API', async (alg, client, scope, role, organization) => {
    const res = await ask(await client().assertion(), scope);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 300, scope });
    expect(decodeProtectedHeader(res.body.access_token)).toEqual({ alg: 'ES384', typ: 'at+jwt', kid: expect.any(String) });
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toEqual({
      iss: 'http://casebridge.test',
      sub: client().clientId,
      aud: BASE_URL,
      iat: expect.any(Number),
      exp: (claims.iat as number) + 300,
      jti: expect.any(String),
      client_id: client().clientId,
      scope,
      role,
      organization,
    });
    const read = await request(t.bareApp).get('/fhir/Patient?_count=1').set('Authorization', `Bearer ${res.body.access_token}`);
    expect(read.status).toBe(200);
    expect(alg).toBeDefined();
  });

  test('client_id may be sent beside the assertion', async () => {
    const res = await ask(await es.assertion(), 'system/*.rs', { client_id: es.clientId });
    expect(res.status).toBe(200);
  });

  test('the stated purposes of use are in the token', async () => {
    const res = await ask(await es.assertion(), 'system/*.rs', { purpose_of_use: 'TREAT CAREMGT' });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).purpose_of_use).toEqual(['TREAT', 'CAREMGT']);
  });

  test('the requested scopes are narrowed to the registered ones, and the answer says what was granted', async () => {
    const res = await ask(await rs.assertion(), 'system/*.cruds system/Goal.rs');
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('system/CarePlan.rs system/Patient.rs');
    expect(decodeJwt(res.body.access_token).scope).toBe('system/CarePlan.rs system/Patient.rs');
  });

  test('each token has its own jti', async () => {
    const first = decodeJwt((await ask(await es.assertion())).body.access_token).jti;
    const second = decodeJwt((await ask(await es.assertion())).body.access_token).jti;
    expect(first).not.toBe(second);
  });
});

describe('an assertion that breaks a rule: 401 invalid_client', () => {
  test.each<[string, () => Promise<string>, RegExp]>([
    ['iss is another registered client', async () => assertion(es, { iss: rs.clientId }), /sub must be the client_id|no key registered|signature/],
    ['iss and sub name another registered client', async () => assertion(es, { iss: rs.clientId, sub: rs.clientId }), /no key registered|signature/],
    ['sub is not the client_id', async () => assertion(es, { sub: 'someone-else' }), /^sub must be the client_id$/],
    ['aud is the FHIR base URL', async () => assertion(es, { aud: BASE_URL }), /^aud must be the token endpoint, http:\/\/casebridge.test\/auth\/token$/],
    ['aud is the token URL of another server', async () => assertion(es, { aud: 'https://other.example.org/auth/token' }), /^aud must be the token endpoint/],
    ['exp is missing', async () => assertion(es, { exp: undefined }), /^exp is required$/],
    ['exp is in the past', async () => assertion(es, { exp: now() - 120, iat: now() - 180 }), /expired/],
    ['exp is more than five minutes ahead', async () => assertion(es, { exp: now() + 600 }), /at most five minutes/],
    ['jti is missing', async () => assertion(es, { jti: undefined }), /^jti is required/],
    ['nbf is in the future', async () => assertion(es, { nbf: now() + 200 }), /not valid yet|nbf/],
    ['the kid header is missing', async () => assertion(es, {}, { kid: undefined }), /kid/],
    ['the client is unknown', async () => assertion(es, { iss: 'nobody', sub: 'nobody' }), /^unknown client$/],
    ['iss is not a client_id at all', async () => assertion(es, { iss: { $ne: null }, sub: 'x' }), /^iss must be the client_id$/],
    ['the signature was made with another key under the registered kid', async () => {
      const { privateKey } = await generateKeyPair('ES384', { extractable: true });
      return assertion(es, {}, {}, { ...(await exportJWK(privateKey)), alg: 'ES384', kid: es.credentials.private_key.kid as string });
    }, /signature does not verify/],
    ['the key is not in the client’s JWKS', async () => {
      const { privateKey } = await generateKeyPair('ES384', { extractable: true });
      return assertion(es, {}, {}, { ...(await exportJWK(privateKey)), alg: 'ES384', kid: 'not-registered' });
    }, /no key registered for this client matches/],
    ['RS384 signed, but the client registered an EC key', async () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
      return assertion(es, {}, {}, { ...rsa, alg: 'RS384', kid: es.credentials.private_key.kid as string } as JWK);
    }, /no key registered|signature/],
    ['alg none (unsigned)', async () => `${b64({ alg: 'none', typ: 'JWT', kid: es.credentials.private_key.kid })}.${b64({ iss: es.clientId, sub: es.clientId, aud: TOKEN_URL, exp: now() + 60, jti: randomUUID() })}.`, /^alg none is not accepted/],
    ['HS256 with the public key as the secret', async () => {
      const secret = new TextEncoder().encode(JSON.stringify(es.publicJwks.keys[0]));
      return new SignJWT({ iss: es.clientId, sub: es.clientId, aud: TOKEN_URL, exp: now() + 60, jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS256', kid: es.credentials.private_key.kid as string })
        .sign(secret);
    }, /^alg HS256 is not accepted/],
    ['ES256 (an algorithm SMART does not name)', async () => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      return new SignJWT({ iss: es.clientId, sub: es.clientId, aud: TOKEN_URL, exp: now() + 60, jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).sign(privateKey);
    }, /^alg ES256 is not accepted/],
    ['the assertion is not a JWT', async () => 'not-a-jwt', /not a signed JWT/],
    ['a jku header points elsewhere', async () => assertion(es, {}, { jku: 'http://127.0.0.1:1/attacker-jwks.json' }), /^jku is not the jwks_uri registered/],
  ])('%s', async (_title, make, description) => {
    expectOAuthError(await ask(await make()), 401, 'invalid_client', description);
  });

  test('a disabled client, and no more once disabled: its assertions are refused', async () => {
    const client = await registerTestClient(t, { role: 'agency', organization: 'Organization/gone', scopes: ['system/*.rs'] });
    expect((await ask(await client.assertion())).status).toBe(200);
    await t.auth.setClientActive(client.clientId, false);
    expectOAuthError(await ask(await client.assertion()), 401, 'invalid_client', /^the client is disabled$/);
    await t.auth.setClientActive(client.clientId, true);
    expect((await ask(await client.assertion())).status).toBe(200);
  });

  test('a replayed assertion (the same jti) is refused the second time', async () => {
    const signed = await es.assertion();
    expect((await ask(signed)).status).toBe(200);
    expectOAuthError(await ask(signed), 401, 'invalid_client', /this jti was used before/);
    // The same jti in a new assertion is a replay too.
    const jti = randomUUID();
    expect((await ask(await assertion(es, { jti }))).status).toBe(200);
    expectOAuthError(await ask(await assertion(es, { jti, exp: now() + 120 })), 401, 'invalid_client', /jti was used before/);
  });

  test('the same jti from another client is not a replay', async () => {
    const jti = randomUUID();
    expect((await ask(await assertion(es, { jti }))).status).toBe(200);
    expect((await ask(await assertion(rs, { jti }), 'system/Patient.rs')).status).toBe(200);
  });

  test('only an assertion that passes every check uses up its jti', async () => {
    // Refused before authentication ends (aud): the jti is still unused.
    const kept = randomUUID();
    expectOAuthError(await ask(await assertion(es, { jti: kept, aud: BASE_URL })), 401, 'invalid_client', /aud/);
    expect((await ask(await assertion(es, { jti: kept }))).status).toBe(200);
    // Refused after authentication (the scope): the jti is spent.
    const spent = randomUUID();
    expectOAuthError(await ask(await assertion(es, { jti: spent }), 'system/Goal.cud'), 400, 'invalid_scope');
    expectOAuthError(await ask(await assertion(es, { jti: spent })), 401, 'invalid_client', /jti was used before/);
  });
});

describe('other refusals', () => {
  test.each<[string, Record<string, string>, number, string, RegExp]>([
    ['grant_type authorization_code: 400 unsupported_grant_type', { grant_type: 'authorization_code' }, 400, 'unsupported_grant_type', /authorization_code/],
    ['no grant_type: 400 invalid_request', { grant_type: '' }, 400, 'invalid_request', /grant_type/],
    ['no client authentication: 401 invalid_client', { client_assertion: '' }, 401, 'invalid_client', /client_assertion/],
    ['another client_assertion_type: 401 invalid_client', { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' }, 401, 'invalid_client', /client_assertion_type/],
    ['no scope: 400 invalid_request', { scope: '' }, 400, 'invalid_request', /scope is required/],
    ['only scopes the client is not registered for: 400 invalid_scope', { scope: 'system/Goal.cud patient/*.rs' }, 400, 'invalid_scope', /none of the requested scopes/],
    ['a purpose of use the client is not registered for: 400 invalid_request', { purpose_of_use: 'HPAYMT' }, 400, 'invalid_request', /purpose_of_use HPAYMT is not registered/],
    ['a client_id other than the assertion’s: 401 invalid_client', { client_id: 'someone-else' }, 401, 'invalid_client', /client_id/],
  ])('%s', async (_title, changes, status, error, description) => {
    const fields: Record<string, string> = { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await es.assertion(), scope: 'system/*.rs', ...changes };
    const form = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== ''));
    expectOAuthError(await tokenRequest(t, form), status, error, description);
  });

  test('a parameter sent twice: 400 invalid_request', async () => {
    const form = tokenRequestForm(await es.assertion(), 'system/*.rs');
    form.append('scope', 'system/Task.cruds');
    expectOAuthError(await tokenRequest(t, form), 400, 'invalid_request', /scope is given more than once/);
  });

  test('a JSON body: 400 invalid_request', async () => {
    const res = await request(t.bareApp)
      .post('/auth/token')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await es.assertion(), scope: 'system/*.rs' }));
    expectOAuthError(res, 400, 'invalid_request', /application\/x-www-form-urlencoded/);
  });

  test('a body over 64 kB: 413 with an OAuth JSON error', async () => {
    const res = await tokenRequest(t, { grant_type: 'client_credentials', padding: 'x'.repeat(70_000) });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toMatchObject({ error: 'invalid_request' });
  });

  test('GET /auth/token: 405 with Allow: POST', async () => {
    const res = await request(t.bareApp).get('/auth/token');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body).toMatchObject({ error: 'invalid_request' });
  });
});
