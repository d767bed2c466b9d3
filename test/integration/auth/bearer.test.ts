// Access tokens at the FHIR API and the case API: a valid token of an active client opens them;
// anything else is 401 with an OperationOutcome and the RFC 6750 challenge. Tokens are real:
// issued by the token endpoint, or signed here with the server's own key (read from the
// database) to show that a claim alone, with a good signature, is still checked.
import { randomUUID } from 'node:crypto';
import { type JWK, SignJWT, decodeJwt, exportJWK, generateKeyPair, importJWK } from 'jose';
import pino from 'pino';
import request from 'supertest';
import { CLIENT_ASSERTION_TYPE } from '../../../src/auth/client-assertion';
import { buildAuthService } from '../../../src/composition';
import { loadConfig } from '../../../src/config/config';
import { BASE_URL, FHIR_JSON, type TestApp, type TestClient, registerTestClient, testApp } from '../../support/app';

let t: TestApp;
let agency: TestClient;
let offsetMs = 0;
beforeAll(async () => {
  t = await testApp({ authNow: () => new Date(Date.now() + offsetMs) });
  agency = await registerTestClient(t, { role: 'agency', organization: 'Organization/riverside', scopes: ['system/Patient.rs'], purposes: ['TREAT'] });
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  offsetMs = 0;
});

const get = (path: string, authorization?: string) => {
  const req = request(t.bareApp).get(path).set('Accept', FHIR_JSON);
  return authorization === undefined ? req : req.set('Authorization', authorization);
};

function expectUnauthenticated(res: request.Response, error?: RegExp) {
  expect(res.status).toBe(401);
  expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'login', details: { coding: [{ code: 'UNAUTHENTICATED' }] } });
  if (error === undefined) {
    expect(res.headers['www-authenticate']).toBe('Bearer realm="CaseBridge"');
  } else {
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="CaseBridge", error="invalid_token", error_description="[^"]*"$/);
    expect(res.headers['www-authenticate']).toMatch(error);
  }
}

/** Signs `claims` with the server's own signing key (as a forger holding it would). */
async function serverSigned(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const stored = await t.database.connection.db.collection<{ _id: string; privateJwk: JWK }>('signing_keys').find({}).sort({ created: -1 }).limit(1).next();
  if (stored === null) throw new Error('no signing key stored');
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES384', typ: 'at+jwt', kid: stored._id, ...header }).sign(await importJWK(stored.privateJwk, 'ES384'));
}

/** The claims the server puts in a token for `agency`, valid now. */
function claims(changes: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return Object.fromEntries(
    Object.entries({ iss: 'http://casebridge.test', sub: agency.clientId, aud: BASE_URL, iat: now, exp: now + 300, jti: randomUUID(), client_id: agency.clientId, scope: 'system/Patient.rs', role: 'agency', organization: 'Organization/riverside', ...changes }).filter(([, v]) => v !== undefined),
  );
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('a valid token', () => {
  test('opens the FHIR API and the case API', async () => {
    const token = await agency.token();
    expect((await get('/fhir/Patient', `Bearer ${token}`)).status).toBe(200);
    expect((await get('/cm/v1/cases', `Bearer ${token}`)).status).not.toBe(401);
  });

  test('a token the server signed with its own key and the claims it issues is accepted (the forgery tests below differ from it by one thing)', async () => {
    expect((await get('/fhir/Patient', `Bearer ${await serverSigned(claims())}`)).status).toBe(200);
  });

  test('the scheme is case-insensitive', async () => {
    expect((await get('/fhir/Patient', `bearer ${await agency.token()}`)).status).toBe(200);
  });

  test('the caller is the client: its scopes decide (403 for what they do not grant)', async () => {
    const res = await request(t.bareApp)
      .post('/fhir/Patient')
      .set('Authorization', `Bearer ${await agency.token()}`)
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Patient' }));
    expect(res.status).toBe(403);
    expect(res.body.issue[0].code).toBe('forbidden');
  });

  test('another instance on the same database verifies the tokens this one issued, and the other way round', async () => {
    const other = await buildAuthService({ config: loadConfig({ BASE_URL, LOG_LEVEL: 'silent' }), connection: t.database.connection, logger: pino({ level: 'silent' }) });
    const token = await agency.token();
    await expect(other.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ clientId: agency.clientId, role: 'agency', organization: 'Organization/riverside' });
    const issued = await other.token([
      ['grant_type', 'client_credentials'],
      ['client_assertion_type', CLIENT_ASSERTION_TYPE],
      ['client_assertion', await agency.assertion()],
      ['scope', 'system/Patient.rs'],
    ]);
    expect((await get('/fhir/Patient', `Bearer ${issued.access_token}`)).status).toBe(200);
  });

  test('a signing key another instance adds (rotation) is picked up', async () => {
    const other = await buildAuthService({ config: loadConfig({ BASE_URL, LOG_LEVEL: 'silent' }), connection: t.database.connection, logger: pino({ level: 'silent' }) });
    const kid = await other.rotateSigningKey();
    const issued = await other.token([
      ['grant_type', 'client_credentials'],
      ['client_assertion_type', CLIENT_ASSERTION_TYPE],
      ['client_assertion', await agency.assertion()],
      ['scope', 'system/Patient.rs'],
    ]);
    // This instance loaded its keys under 30 s ago and reloads for an unknown kid only after that.
    offsetMs = 31_000;
    expect((await get('/fhir/Patient', `Bearer ${issued.access_token}`)).status).toBe(200);
    expect((await request(t.bareApp).get('/auth/jwks')).body.keys.map((k: JWK) => k.kid)).toContain(kid);
  });
});

describe('401 without a token', () => {
  test.each(['/fhir/Patient', '/fhir/Patient/x', '/fhir', '/fhir/_history', '/fhir/Unknown', '/cm/v1/cases', '/cm/v1/cases/x'])('GET %s: the challenge names no error', async (path) => {
    expectUnauthenticated(await get(path));
  });

  test('a write is refused before its body is looked at', async () => {
    const res = await request(t.bareApp).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send('{ not even json');
    expectUnauthenticated(res);
  });

  test('a browser client can read the challenge (CORS exposes WWW-Authenticate)', async () => {
    const res = await request(t.bareApp).get('/fhir/Patient').set('Origin', 'https://app.example.org');
    expect(res.status).toBe(401);
    expect(res.headers['access-control-expose-headers']?.split(',')).toContain('WWW-Authenticate');
  });

  test('a token in the query string is not accepted (it would end up in logs)', async () => {
    expectUnauthenticated(await get(`/fhir/Patient?access_token=${await agency.token()}`));
  });
});

describe('401 invalid_token', () => {
  test.each<[string, () => Promise<string>, RegExp]>([
    ['an empty Bearer', async () => 'Bearer ', /must be: Bearer <access token>/],
    ['another scheme', async () => 'Basic dXNlcjpwYXNzd29yZA==', /must be/],
    ['two tokens', async () => `Bearer ${await agency.token()} ${await agency.token()}`, /must be/],
    ['not a JWT', async () => 'Bearer not-a-token', /malformed/],
    ['characters a token cannot hold', async () => `Bearer ${b64({ alg: 'ES384', typ: 'at+jwt' })}.%%%.AAAA`, /must be: Bearer <access token>/],
    ['a JWT without kid whose payload is not JSON', async () => `Bearer ${b64({ alg: 'ES384', typ: 'at+jwt' })}.${Buffer.from('not json').toString('base64url')}.AAAA`, /unknown kid/],
    ['alg none', async () => `Bearer ${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`, /the token alg is not accepted/],
    ['HS256 with the server’s public key as the secret', async () => {
      const jwks = (await request(t.bareApp).get('/auth/jwks')).body as { keys: JWK[] };
      const key = jwks.keys[0] as JWK;
      return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: key.kid as string }).sign(new TextEncoder().encode(JSON.stringify(key)))}`;
    }, /alg is not accepted/],
    ['a signature by another key under the server’s kid', async () => {
      const { privateKey } = await generateKeyPair('ES384');
      const kid = ((await request(t.bareApp).get('/auth/jwks')).body as { keys: JWK[] }).keys[0]?.kid as string;
      return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: 'ES384', typ: 'at+jwt', kid }).sign(privateKey)}`;
    }, /signature does not verify/],
    ['a key the server does not have (unknown kid)', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES384');
      return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: 'ES384', typ: 'at+jwt', kid: (await exportJWK(publicKey)).x as string }).sign(privateKey)}`;
    }, /unknown kid/],
    ['expired (by the server’s clock)', async () => `Bearer ${await serverSigned(claims({ iat: Math.floor(Date.now() / 1000) - 400, exp: Math.floor(Date.now() / 1000) - 100 }))}`, /the token has expired/],
    ['not valid yet (nbf)', async () => `Bearer ${await serverSigned(claims({ nbf: Math.floor(Date.now() / 1000) + 600 }))}`, /not valid yet/],
    ['for another FHIR server (aud)', async () => `Bearer ${await serverSigned(claims({ aud: 'http://other.example.org/fhir' }))}`, /not for this FHIR server/],
    ['issued by another server (iss)', async () => `Bearer ${await serverSigned(claims({ iss: 'http://other.example.org' }))}`, /not issued by this server/],
    ['not an access token (typ JWT)', async () => `Bearer ${await serverSigned(claims(), { typ: 'JWT' })}`, /typ/],
    ['no exp', async () => `Bearer ${await serverSigned(claims({ exp: undefined }))}`, /exp/],
    ['sub other than client_id', async () => `Bearer ${await serverSigned(claims({ sub: 'someone' }))}`, /claims are not those/],
    ['an unknown role', async () => `Bearer ${await serverSigned(claims({ role: 'root' }))}`, /claims are not those/],
    ['a client that does not exist', async () => `Bearer ${await serverSigned(claims({ sub: 'ghost', client_id: 'ghost' }))}`, /disabled/],
    ['a client assertion presented as a token', async () => `Bearer ${await agency.assertion()}`, /unknown kid|typ/],
  ])('%s', async (_title, authorization, description) => {
    expectUnauthenticated(await get('/fhir/Patient', await authorization()), description);
  });

  test('an expired token, once the clock passes its exp (the FHIR services’ clock plays no part)', async () => {
    const token = await agency.token();
    expect((await get('/fhir/Patient', `Bearer ${token}`)).status).toBe(200);
    offsetMs = (decodeJwt(token).exp as number) * 1000 - Date.now() + 10_000;
    expectUnauthenticated(await get('/fhir/Patient', `Bearer ${token}`), /the token has expired/);
    expectUnauthenticated(await get('/cm/v1/cases', `Bearer ${token}`), /the token has expired/);
  });

  test('the tokens of a disabled client stop working; enabled again, they work', async () => {
    const client = await registerTestClient(t, { role: 'payer', organization: 'Organization/payer', scopes: ['system/Patient.rs'] });
    const token = await client.token();
    expect((await get('/fhir/Patient', `Bearer ${token}`)).status).toBe(200);
    await t.auth.setClientActive(client.clientId, false);
    expectUnauthenticated(await get('/fhir/Patient', `Bearer ${token}`), /disabled/);
    await t.auth.setClientActive(client.clientId, true);
    expect((await get('/fhir/Patient', `Bearer ${token}`)).status).toBe(200);
  });
});

describe('public without a token', () => {
  test.each<[string, string, number]>([
    ['GET', '/fhir/metadata', 200],
    ['HEAD', '/fhir/metadata', 200],
    ['GET', '/fhir/metadata?_pretty=true', 200],
    ['GET', '/fhir/.well-known/smart-configuration', 200],
    ['GET', '/.well-known/smart-configuration', 200],
    ['GET', '/auth/jwks', 200],
    ['GET', '/cm/v1/openapi.json', 200],
    ['GET', '/healthz', 200],
    ['GET', '/readyz', 200],
  ])('%s %s', async (method, path, status) => {
    const res = await (method === 'HEAD' ? request(t.bareApp).head(path) : request(t.bareApp).get(path));
    expect(res.status).toBe(status);
  });

  test('but not another method on /metadata', async () => {
    expectUnauthenticated(await request(t.bareApp).post('/fhir/metadata').set('Content-Type', FHIR_JSON).send('{}'));
  });

  test('an invalid token on a public endpoint is ignored there, not honoured', async () => {
    expect((await get('/fhir/metadata', 'Bearer forged')).status).toBe(200);
  });
});
