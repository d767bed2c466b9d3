// `npm run partner:*` against a real FerretDB: a partner registered with the credentials file its
// CaseBridge gave us, listed, disabled and enabled, removed; what cannot be registered is refused
// in one sentence before the database is opened.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CommandRefused } from '../../../src/platform/command-line';
import { generateClientKey, writeCredentials } from '../../../src/auth/client-credentials';
import { runPartnerCommand } from '../../../src/workflows/partner-command';
import { type TestApp, testApp } from '../../support/app';

let t: TestApp;
let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  t = await testApp();
  dir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-partner-'));
  env = { MONGODB_URI: t.database.uri, MONGODB_DATABASE: t.database.dbName, LOG_LEVEL: 'silent' };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await t.close();
});

const run = async (argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  await runPartnerCommand(argv, { env, out: (x) => out.push(x), err: (x) => err.push(x) });
  return { out: out.join(''), err: err.join('') };
};

test('register, list, disable, enable and remove a partner', async () => {
  const file = path.join(dir, 'harbor-client.json');
  const key = await generateClientKey('ES384');
  await writeCredentials(file, { client_id: 'riverside-at-harbor', private_key: key.privateJwk });
  const registered = await run(['register', '--id', 'harbor', '--name', 'Harbor House', '--organization', 'Organization/harbor', '--base-url', 'https://harbor.example.org/fhir/', '--credentials', file, '--scope', 'system/Task.cru system/ServiceRequest.rs']);
  expect(registered.out).toBe('harbor\n');
  expect((await run(['list'])).out).toBe('harbor\tactive\tOrganization/harbor\thttps://harbor.example.org/fhir\tsmart-backend\tHarbor House\n');
  const workflows = await t.workflows();
  const partner = await workflows.context.records.partners.find('harbor');
  expect(partner?.credentials).toMatchObject({ type: 'smart-backend', clientId: 'riverside-at-harbor', scope: 'system/Task.cru system/ServiceRequest.rs' });
  await run(['disable', '--id', 'harbor']);
  expect((await run(['list'])).out).toContain('harbor\tdisabled');
  await run(['enable', '--id', 'harbor']);
  expect((await run(['list'])).out).toContain('harbor\tactive');
  await expect(run(['register', '--id', 'harbor', '--name', 'Again', '--organization', 'Organization/harbor', '--base-url', 'https://x.example.org/fhir', '--no-auth', 'true'])).rejects.toThrow(CommandRefused);
  await run(['remove', '--id', 'harbor']);
  expect((await run(['list'])).out).toBe('');
});

test('refusals: no way to authenticate, credentials without a scope, a bad URL, an unknown partner', async () => {
  await expect(run(['register', '--id', 'x', '--name', 'X', '--organization', 'Organization/x', '--base-url', 'https://x.example.org/fhir'])).rejects.toThrow(/exactly one of --credentials/);
  await expect(run(['register', '--id', 'x', '--name', 'X', '--organization', 'Organization/x', '--base-url', 'https://x.example.org/fhir', '--credentials', path.join(dir, 'none.json')])).rejects.toThrow(/--scope is required/);
  await expect(run(['register', '--id', 'x', '--name', 'X', '--organization', 'Organization/x', '--base-url', 'ftp://x', '--no-auth', 'true'])).rejects.toThrow(/--base-url/);
  await expect(run(['disable', '--id', 'nobody'])).rejects.toThrow(/no partner nobody/);
});
