// The administrator's commands against a real FerretDB: client registration (with a generated
// key, a JWKS file or a jwks_uri), disabling and enabling, listing; the local development client
// of the embedded quick start; and `npm run token` against a listening CaseBridge.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import pino from 'pino';
import request from 'supertest';
import { runClientCommand } from '../../../src/auth/client-command';
import { CommandRefused } from '../../../src/platform/command-line';
import { generateClientKey, readCredentials } from '../../../src/auth/client-credentials';
import { DEVELOPMENT_CLIENT_ID, ensureDevelopmentClient } from '../../../src/auth/development-client';
import { openAuthService } from '../../../src/auth/service';
import { runTokenCommand } from '../../../src/auth/token-command';
import { loadConfig } from '../../../src/config/config';
import { DatabaseInUse } from '../../../src/platform/command-database';
import { startEmbeddedDatabase } from '../../../src/platform/embedded-database';
import { type TestApp, testApp } from '../../support/app';
import { ferretdbBinaryPath, testDatabase } from '../../support/database';

jest.setTimeout(60_000);

let t: TestApp;
let server: Server;
let baseUrl: string;
let dir: string;
/** How far the authorization server's clock is ahead of real time. */
let offsetMs = 0;
beforeAll(async () => {
  // Listening on a real port: `npm run token` discovers the token endpoint over HTTP.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  baseUrl = `http://127.0.0.1:${port}/fhir`;
  t = await testApp({ env: { BASE_URL: baseUrl }, authNow: () => new Date(Date.now() + offsetMs) });
  server = t.bareApp.listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  dir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-clients-'));
});
afterEach(() => {
  offsetMs = 0;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the client command on this file's database; answers what it printed. */
async function client(...argv: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  await runClientCommand(argv, {
    env: { MONGODB_URI: t.database.uri, MONGODB_DATABASE: t.database.dbName, BASE_URL: baseUrl, LOG_LEVEL: 'silent' },
    out: (text) => (out += text),
    err: (text) => (err += text),
  });
  return { out, err };
}

const fhir = (token: string) => request(t.bareApp).get('/fhir/Patient?_count=1').set('Authorization', `Bearer ${token}`);

describe('npm run client:register', () => {
  test('--generate-key: registers the public key, writes the credentials (0600), prints the client_id; npm run token then gets a token', async () => {
    const file = path.join(dir, 'riverside.json');
    const { out, err } = await client('register', '--name', 'Riverside CMHS', '--organization', 'Organization/riverside', '--role', 'agency', '--scopes', 'system/*.rs system/Task.cruds', '--purposes', 'TREAT,CAREMGT', '--generate-key', file);
    const clientId = out.trim();
    expect(clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(err).toMatch(/^Registered "Riverside CMHS" \(agency for Organization\/riverside\), scopes system\/\*\.rs system\/Task\.cruds, purposes TREAT CAREMGT; token endpoint http:\/\/127\.0\.0\.1:\d+\/auth\/token; its private key is in /);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const credentials = await readCredentials(file);
    expect(credentials.client_id).toBe(clientId);
    expect(await t.auth.clients()).toEqual(expect.arrayContaining([expect.objectContaining({ clientId, role: 'agency', scopes: ['system/*.rs', 'system/Task.cruds'], purposes: ['TREAT', 'CAREMGT'] })]));

    const token = await runTokenCommand(['--url', baseUrl, '--credentials', file, '--scope', 'system/Patient.rs', '--purposes', 'TREAT'], {});
    expect(decodeJwt(token)).toMatchObject({ client_id: clientId, scope: 'system/Patient.rs', organization: 'Organization/riverside', purpose_of_use: ['TREAT'] });
    expect((await fhir(token)).status).toBe(200);
  });

  test('--jwks-file with a public key (JWKS or a single JWK), and --client-id', async () => {
    const { publicJwks } = await generateClientKey('RS384');
    const file = path.join(dir, 'ehr-public.json');
    await writeFile(file, JSON.stringify(publicJwks.keys[0]));
    const { out } = await client('register', '--name', 'St Mary EHR', '--organization', 'Organization/st-mary', '--role', 'ehr', '--scopes', 'system/CarePlan.read', '--jwks-file', file, '--client-id', 'st-mary-ehr');
    expect(out).toBe('st-mary-ehr\n');
    await expect(client('register', '--name', 'again', '--role', 'administrator', '--scopes', 'system/*.rs', '--jwks-file', file, '--client-id', 'st-mary-ehr')).rejects.toThrow('a client st-mary-ehr is registered already.');
  });

  test('--jwks-uri', async () => {
    const { out } = await client('register', '--name', 'Acme payer', '--organization', 'Organization/acme', '--role', 'payer', '--scopes', 'system/Coverage.rs', '--jwks-uri', 'https://keys.acme.example.org/jwks.json');
    expect(await t.auth.clients()).toEqual(expect.arrayContaining([expect.objectContaining({ clientId: out.trim(), jwksUri: 'https://keys.acme.example.org/jwks.json' })]));
  });

  test.each<[string, string[], RegExp]>([
    ['a private key in the JWKS file', ['--jwks-file', 'PRIVATE'], /holds private key material \(d\): register the public key only\.$/],
    ['no key source', [], /^give exactly one of --jwks-file, --jwks-uri and --generate-key/],
    ['two key sources', ['--jwks-uri', 'https://k.example.org/j', '--generate-key', 'x.json'], /^give exactly one of/],
    ['an unknown flag', ['--jwks-uri', 'https://k.example.org/j', '--force', 'yes'], /^unknown argument --force/],
    ['an agency without organization', ['--jwks-uri', 'https://k.example.org/j', '--organization', ''], /organization/],
    ['a scope that is not a system scope', ['--jwks-uri', 'https://k.example.org/j', '--scopes', 'patient/*.rs'], /not a SMART system scope/],
    ['a --generate-key file that exists', ['--generate-key', 'EXISTING'], /exists already: --generate-key .* never replaces one\.$/],
  ])('refuses %s, in one sentence, registering nothing', async (_title, extra, message) => {
    const before = (await t.auth.clients()).length;
    const { privateJwk } = await generateClientKey();
    const privateFile = path.join(dir, 'private.json');
    await writeFile(privateFile, JSON.stringify(privateJwk));
    const existing = path.join(dir, 'existing.json');
    await writeFile(existing, '{}');
    const args = extra.map((a) => (a === 'PRIVATE' ? privateFile : a === 'EXISTING' ? existing : a));
    const base = ['--name', 'X', '--role', 'agency', '--organization', 'Organization/x', '--scopes', 'system/*.rs'];
    const merged = [...base];
    for (let i = 0; i < args.length; i += 2) {
      const at = merged.indexOf(args[i] as string);
      if (at >= 0) merged.splice(at, 2, ...(args[i + 1] === '' ? [] : [args[i] as string, args[i + 1] as string]));
      else merged.push(args[i] as string, args[i + 1] as string);
    }
    const refusal = client('register', ...merged);
    await expect(refusal).rejects.toThrow(CommandRefused);
    await expect(refusal).rejects.toThrow(message);
    expect((await t.auth.clients()).length).toBe(before);
  });

  test('an unknown action: the usage line', async () => {
    await expect(client('delete')).rejects.toThrow(/^usage: npm run -s client:register/);
  });
});

describe('npm run client:disable / client:enable / client:list', () => {
  test('a disabled client gets no token and its tokens stop working; enabled, it works again', async () => {
    const file = path.join(dir, 'to-disable.json');
    const clientId = (await client('register', '--name', 'Temp', '--role', 'auditor', '--scopes', 'system/AuditEvent.rs', '--generate-key', file)).out.trim();
    const token = await runTokenCommand(['--url', baseUrl, '--credentials', file], {});
    expect(decodeJwt(token).scope).toBe('system/AuditEvent.rs');

    const read = () => request(t.bareApp).get('/fhir/AuditEvent').set('Authorization', `Bearer ${token}`);
    expect((await read()).status).toBe(200);

    // The command is another process: the service sees the change once its cache of the
    // client (10 s) has expired.
    expect((await client('disable', '--client-id', clientId)).err).toMatch(/is disabled/);
    offsetMs += 11_000;
    expect((await read()).status).toBe(401);
    await expect(runTokenCommand(['--url', baseUrl, '--credentials', file], {})).rejects.toThrow(/answered 401: invalid_client \(the client is disabled\)/);
    expect((await client('list')).out).toMatch(new RegExp(`^${clientId}\\tdisabled\\tauditor\\t-\\tsystem/AuditEvent.rs\\t-\\tinline JWKS\\tTemp$`, 'm'));

    await client('enable', '--client-id', clientId);
    offsetMs += 11_000;
    expect((await read()).status).toBe(200);
  });

  test('an unknown client_id is refused', async () => {
    await expect(client('disable', '--client-id', 'nobody')).rejects.toThrow('no client nobody is registered.');
  });
});

describe('npm run signing-key:rotate / signing-key:retire', () => {
  test('a newer key signs from the next reload; the older keeps verifying until retired; the newest cannot be retired', async () => {
    const oldKid = decodeProtectedHeader(await t.admin.token()).kid as string;
    const oldToken = await t.admin.token();
    const rotated = await client('rotate-signing-key');
    const lines = rotated.out.trim().split('\n');
    expect(lines).toEqual([`${oldKid}\tverifying only`, expect.stringMatching(/^\S+\tsigning$/)]);
    const newKid = (lines[1] as string).split('\t')[0] as string;
    expect(rotated.err).toMatch(`Access tokens are now signed with key ${newKid}`);

    // This instance picks the new key up at its periodic reload (maintain, every minute).
    await t.auth.maintain();
    const newToken = await t.admin.token();
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
    expect((await fhir(oldToken)).status).toBe(200);
    expect((await fhir(newToken)).status).toBe(200);

    await expect(client('retire-signing-key', '--kid', newKid)).rejects.toThrow(`${newKid} is the newest signing key, which tokens are signed with: rotate first.`);
    const retired = await client('retire-signing-key', '--kid', oldKid);
    expect(retired.out).toBe(`${newKid}\tsigning\n`);
    await t.auth.maintain();
    expect((await fhir(oldToken)).status).toBe(401);
    expect((await fhir(newToken)).status).toBe(200);
    expect(((await request(t.bareApp).get('/auth/jwks')).body.keys as { kid: string }[]).map((k) => k.kid)).toEqual([newKid]);
    await expect(client('retire-signing-key', '--kid', 'nope')).rejects.toThrow('there is no signing key nope.');
  });
});

describe('on the embedded database', () => {
  test('the commands refuse, in one sentence, while another process serves the data folder', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-held-'));
    const held = await startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir, logger: pino({ level: 'silent' }) });
    try {
      const refusal = runClientCommand(['list'], { env: { DATA_DIR: dataDir, FERRETDB_BINARY: ferretdbBinaryPath, LOG_LEVEL: 'silent' }, out: () => undefined, err: () => undefined });
      await expect(refusal).rejects.toThrow(DatabaseInUse);
      await expect(refusal).rejects.toThrow(new RegExp(`^the embedded database in ${dataDir} is in use by process ${held.pid} \\(the CaseBridge service\\?\\): stop it, run npm run client:list, then start it again .*\\.$`));
    } finally {
      await held.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the local development client', () => {
  test('on an embedded database with no client: registered, credentials written 0600, a working token; once only', async () => {
    const database = await testDatabase();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-dev-'));
    try {
      const logger = pino({ level: 'silent' });
      const auth = await openAuthService({ config: loadConfig({ BASE_URL: baseUrl }), connection: database.connection, logger });
      expect(await ensureDevelopmentClient(auth, { embedded: true, dataDir, logger })).toBe('registered');
      const file = path.join(dataDir, 'development-client.json');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const credentials = JSON.parse(await readFile(file, 'utf8'));
      expect(credentials).toEqual({ client_id: DEVELOPMENT_CLIENT_ID, private_key: expect.objectContaining({ kty: 'EC', crv: 'P-384', d: expect.any(String), alg: 'ES384' }) });
      expect(await auth.clients()).toEqual([expect.objectContaining({ clientId: DEVELOPMENT_CLIENT_ID, role: 'administrator', scopes: ['system/*.cruds'], active: true })]);
      expect(await ensureDevelopmentClient(auth, { embedded: true, dataDir, logger })).toBe('present');
      await rm(file);
      expect(await ensureDevelopmentClient(auth, { embedded: true, dataDir, logger })).toBe('credentials-missing');
    } finally {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('never on MongoDB (MONGODB_URI set), and not when a client is registered', async () => {
    const database = await testDatabase();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-dev-'));
    try {
      const logger = pino({ level: 'silent' });
      const auth = await openAuthService({ config: loadConfig({ BASE_URL: baseUrl }), connection: database.connection, logger });
      expect(await ensureDevelopmentClient(auth, { embedded: false, dataDir, logger })).toBe('not-needed');
      expect(await auth.clients()).toEqual([]);
      await auth.register({ name: 'first', role: 'administrator', scopes: ['system/*.rs'], jwks: (await generateClientKey()).publicJwks });
      expect(await ensureDevelopmentClient(auth, { embedded: true, dataDir, logger })).toBe('not-needed');
      expect((await auth.clients()).map((c) => c.clientId)).not.toContain(DEVELOPMENT_CLIENT_ID);
      await expect(stat(path.join(dataDir, 'development-client.json'))).rejects.toThrow(/ENOENT/);
    } finally {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('npm run token with the development client’s credentials (the default file in DATA_DIR)', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-dev-'));
    try {
      // The development client registered in this app's database, its credentials in dataDir.
      const clients = await t.auth.clients();
      expect(clients.some((c) => c.clientId === DEVELOPMENT_CLIENT_ID)).toBe(false);
      const { publicJwks, privateJwk } = await generateClientKey();
      await t.auth.register({ clientId: DEVELOPMENT_CLIENT_ID, name: 'dev', role: 'administrator', scopes: ['system/*.cruds'], jwks: publicJwks });
      await writeFile(path.join(dataDir, 'development-client.json'), JSON.stringify({ client_id: DEVELOPMENT_CLIENT_ID, private_key: privateJwk }));
      const token = await runTokenCommand([], { DATA_DIR: dataDir, BASE_URL: baseUrl });
      expect(decodeJwt(token)).toMatchObject({ client_id: DEVELOPMENT_CLIENT_ID, scope: 'system/*.cruds', role: 'administrator' });
      expect((await fhir(token)).status).toBe(200);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('npm run token without credentials: one sentence saying where it looked', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-none-'));
    try {
      await expect(runTokenCommand([], { DATA_DIR: dataDir, BASE_URL: baseUrl })).rejects.toThrow(`no local development client credentials in ${dataDir}/development-client.json: start CaseBridge on the embedded database (npm start) once, or give --credentials <file> for a registered client.`);
      await expect(runTokenCommand(['--nope'], {})).rejects.toThrow(/^usage: npm run -s token/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
