// Clients registered with a jwks_uri: the key set is fetched from the URL an administrator
// registered (here a local HTTP server the test runs), cached, given up on after the configured
// timeout, and no other URL (a jku header) is ever fetched.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SignJWT, importJWK } from 'jose';
import { CLIENT_ASSERTION_TYPE } from '../../../src/auth/client-assertion';
import { generateClientKey } from '../../../src/auth/client-credentials';
import { TOKEN_URL, type TestApp, type TestClient, registerTestClient, testApp, tokenRequest } from '../../support/app';

/** A key server: what it answers per path, and every path it was asked for. */
interface KeyServer {
  readonly url: string;
  readonly hits: string[];
  answers: Map<string, { status: number; body?: string; hang?: boolean }>;
  close(): Promise<void>;
}

async function keyServer(): Promise<KeyServer> {
  const hits: string[] = [];
  const answers = new Map<string, { status: number; body?: string; hang?: boolean }>();
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const answer = answers.get(req.url ?? '') ?? { status: 404 };
    if (answer.hang) return; // never answers: the client's timeout must end the wait
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let t: TestApp;
let keys: KeyServer;
beforeAll(async () => {
  keys = await keyServer();
  t = await testApp({ env: { JWKS_FETCH_TIMEOUT_MS: '300' } });
});
afterAll(async () => {
  await t.close();
  await keys.close();
});

const ask = (assertion: string) =>
  tokenRequest(t, { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion, scope: 'system/*.rs' });

/** A client registered with `path` on the key server, which serves `served` there. */
async function remoteClient(path: string, served?: { keys: unknown[] }): Promise<TestClient> {
  const client = await registerTestClient(t, { role: 'payer', organization: 'Organization/payer', scopes: ['system/*.rs'], jwksUri: `${keys.url}${path}` });
  keys.answers.set(path, { status: 200, body: JSON.stringify(served ?? client.publicJwks) });
  return client;
}

test('a token for an assertion signed with a key served at the registered jwks_uri; the key set is fetched once', async () => {
  const client = await remoteClient('/payer/jwks.json');
  const first = await ask(await client.assertion());
  expect(first.status).toBe(200);
  expect((await ask(await client.assertion())).status).toBe(200);
  expect(keys.hits.filter((h) => h === '/payer/jwks.json')).toHaveLength(1);
});

test('a key the server at jwks_uri does not serve: 401 invalid_client', async () => {
  const other = await generateClientKey('ES384');
  const client = await remoteClient('/rotated/jwks.json', other.publicJwks);
  const res = await ask(await client.assertion());
  expect(res.status).toBe(401);
  expect(res.body).toMatchObject({ error: 'invalid_client' });
});

test.each([
  ['answers 500', { status: 500, body: 'oops' }],
  ['answers something that is not a JWKS', { status: 200, body: '{"keys":"none"}' }],
  ['never answers (the timeout ends the wait)', { status: 200, hang: true }],
])('a jwks_uri that %s: 401 invalid_client', async (title, answer) => {
  const path = `/broken/${randomUUID()}.json`;
  const client = await remoteClient(path);
  keys.answers.set(path, answer);
  const started = Date.now();
  const res = await ask(await client.assertion());
  expect(res.status).toBe(401);
  expect(res.body).toEqual({ error: 'invalid_client', error_description: 'the JWKS registered for this client (jwks_uri) could not be read' });
  if (title.startsWith('never')) expect(Date.now() - started).toBeLessThan(5_000);
});

test('a jku header naming another URL: refused, and that URL is never fetched', async () => {
  const client = await remoteClient('/honest/jwks.json');
  keys.answers.set('/attacker/jwks.json', { status: 200, body: JSON.stringify(client.publicJwks) });
  const key = client.credentials.private_key;
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES384', kid: key.kid as string, jku: `${keys.url}/attacker/jwks.json` })
    .setIssuer(client.clientId)
    .setSubject(client.clientId)
    .setAudience(TOKEN_URL)
    .setExpirationTime(now + 60)
    .sign(await importJWK(key, 'ES384'));
  const res = await ask(assertion);
  expect(res.status).toBe(401);
  expect(res.body.error_description).toMatch(/^jku is not the jwks_uri registered/);
  expect(keys.hits).not.toContain('/attacker/jwks.json');
});

test('a jku header equal to the registered jwks_uri is accepted', async () => {
  const client = await remoteClient('/with-jku/jwks.json');
  const key = client.credentials.private_key;
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES384', kid: key.kid as string, jku: `${keys.url}/with-jku/jwks.json` })
    .setIssuer(client.clientId)
    .setSubject(client.clientId)
    .setAudience(TOKEN_URL)
    .setExpirationTime(now + 60)
    .sign(await importJWK(key, 'ES384'));
  expect((await ask(assertion)).status).toBe(200);
});
