/**
 * Request budgets: each client has its own per minute for the FHIR and case APIs, and each
 * address its own for the token endpoint; beyond it, 429 with Retry-After and an OperationOutcome.
 * See: https://www.rfc-editor.org/rfc/rfc6585#section-4
 */
import request from 'supertest';
import { type TestApp, registerTestClient, testApp, tokenRequest } from '../../support/app';

let t: TestApp;
beforeAll(async () => {
  t = await testApp({ env: { RATE_LIMIT_PER_MINUTE: '5', TOKEN_RATE_LIMIT_PER_MINUTE: '3' } });
});
afterAll(async () => {
  await t.close();
});

test("a client's sixth request in a minute is 429 with Retry-After; another client's budget is its own", async () => {
  const a = await registerTestClient(t, { role: 'administrator', scopes: ['system/*.rs'] });
  const b = await registerTestClient(t, { role: 'administrator', scopes: ['system/*.rs'] });
  const [tokenA, tokenB] = [await a.token(), await b.token()];
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    statuses.push((await request(t.bareApp).get('/fhir/Patient').set('Authorization', `Bearer ${tokenA}`)).status);
  }
  expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  const refused = await request(t.bareApp).get('/cm/v1/cases?client=Patient/x').set('Authorization', `Bearer ${tokenA}`);
  expect(refused.status).toBe(429);
  expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(refused.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'throttled' }] });
  expect((await request(t.bareApp).get('/fhir/Patient').set('Authorization', `Bearer ${tokenB}`)).status).toBe(200);
});

test('the token endpoint answers an address three times a minute, then 429', async () => {
  // An app of its own: its harness asks for one token at start, leaving two of the three.
  const own = await testApp({ env: { TOKEN_RATE_LIMIT_PER_MINUTE: '3' } });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await tokenRequest(own, { grant_type: 'client_credentials' })).status);
    }
    // Without a client assertion the first two are invalid_client (401); then the budget is spent.
    expect(statuses).toEqual([401, 401, 429, 429]);
  } finally {
    await own.close();
  }
});

test('the CapabilityStatement, public, is not counted against anyone', async () => {
  for (let i = 0; i < 8; i++) {
    expect((await request(t.bareApp).get('/fhir/metadata')).status).toBe(200);
  }
});
