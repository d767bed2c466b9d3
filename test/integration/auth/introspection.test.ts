// Token introspection (RFC 7662) at POST /auth/introspect, for an authenticated client.
import { decodeJwt } from 'jose';
import request from 'supertest';
import { BASE_URL, type TestApp, type TestClient, registerTestClient, testApp } from '../../support/app';

let t: TestApp;
let payer: TestClient;
let offsetMs = 0;
beforeAll(async () => {
  t = await testApp({ authNow: () => new Date(Date.now() + offsetMs) });
  payer = await registerTestClient(t, { role: 'payer', organization: 'Organization/acme-health', scopes: ['system/Coverage.rs', 'system/Patient.read'], purposes: ['HPAYMT', 'COVERAGE'] });
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  offsetMs = 0;
});

const introspect = async (token: string, authorization?: string) =>
  request(t.bareApp)
    .post('/auth/introspect')
    .set('Authorization', authorization ?? `Bearer ${await t.admin.token()}`)
    .type('form')
    .send(new URLSearchParams({ token }).toString());

test('a valid token: active, with its scope, client, times, audience, issuer, organization, role and purposes', async () => {
  const token = await payer.token({ purposes: ['HPAYMT'] });
  const res = await introspect(token);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  const { iat, exp, jti } = decodeJwt(token);
  expect(res.body).toEqual({
    active: true,
    token_type: 'Bearer',
    scope: 'system/Coverage.rs system/Patient.read',
    client_id: payer.clientId,
    sub: payer.clientId,
    aud: BASE_URL,
    iss: 'http://casebridge.test',
    iat,
    exp,
    jti,
    role: 'payer',
    organization: 'Organization/acme-health',
    purpose_of_use: ['HPAYMT'],
  });
});

test('a client may introspect its own token', async () => {
  const token = await payer.token();
  expect((await introspect(token, `Bearer ${token}`)).body.active).toBe(true);
});

test.each([
  ['garbage', async () => 'not-a-token'],
  ['a client assertion', async () => payer.assertion()],
  ['a token with a changed payload', async () => {
    const [header, , signature] = (await payer.token()).split('.');
    return `${header}.${Buffer.from(JSON.stringify({ scope: 'system/*.cruds' })).toString('base64url')}.${signature}`;
  }],
])('%s: {active: false} and nothing else', async (_title, token) => {
  const res = await introspect(await token());
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ active: false });
});

test('an expired token: {active: false}', async () => {
  const token = await payer.token();
  offsetMs = ((decodeJwt(token).exp as number) - Math.floor(Date.now() / 1000) + 10) * 1000;
  // The asking client signs its assertion by the server's (moved) clock.
  const caller = await t.admin.token({ assertionTime: new Date(Date.now() + offsetMs) });
  expect((await introspect(token, `Bearer ${caller}`)).body).toEqual({ active: false });
});

test('the token of a client disabled since: {active: false}', async () => {
  const client = await registerTestClient(t, { role: 'agency', organization: 'Organization/x', scopes: ['system/Patient.rs'] });
  const token = await client.token();
  expect((await introspect(token)).body.active).toBe(true);
  await t.auth.setClientActive(client.clientId, false);
  expect((await introspect(token)).body).toEqual({ active: false });
});

test('without a Bearer token of a registered client: 401 with the challenge', async () => {
  const token = await payer.token();
  const none = await request(t.bareApp).post('/auth/introspect').type('form').send(`token=${token}`);
  expect(none.status).toBe(401);
  expect(none.headers['www-authenticate']).toBe('Bearer realm="CaseBridge"');
  const bad = await introspect(token, 'Bearer forged.token.here');
  expect(bad.status).toBe(401);
  expect(bad.headers['www-authenticate']).toMatch(/^Bearer realm="CaseBridge", error="invalid_token"/);
  expect(bad.body).toMatchObject({ error: 'invalid_token' });
});

test('without a token parameter: 400 invalid_request', async () => {
  const res = await request(t.bareApp).post('/auth/introspect').set('Authorization', `Bearer ${await t.admin.token()}`).type('form').send('token_type_hint=access_token');
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ error: 'invalid_request', error_description: 'token is required' });
});
