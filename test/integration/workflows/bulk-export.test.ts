/**
 * Bulk Data $export: a payer's Group export kicked off asynchronously, polled (202 with
 * X-Progress, then the manifest), its NDJSON files downloaded — every resource valid, only the
 * members the payer covers, Part 2 records only under consent — plus _type and _since, Patient and
 * system level, cancellation, expiry, and another client's export answering 404. The export runs
 * in workflow rounds the test drives, with its own clock.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import { validateResource } from '../../../src/fhir/validation';
import type { Workflows } from '../../../src/workflows/runtime';
import { BASE_URL, bearerRequests, registerTestClient, type TestApp, testApp } from '../../support/app';

const ACME = 'Organization/acme';
const AGENCY = 'Organization/riverside';
const CLEARWATER = 'Organization/clearwater';

let t: TestApp;
let workflows: Workflows;
let clock = Date.now();
const tokens: Record<string, string> = {};
const members: string[] = [];
let outsider: string;
let group: string;
let part2Note: string;

const as = (who: string) => bearerRequests(t.bareApp, tokens[who]);
const local = (url: string) => url.replace(BASE_URL, '/fhir');

beforeAll(async () => {
  t = await testApp({ env: { PART2_PROGRAMS: CLEARWATER, BULK_EXPORT_TTL_SECONDS: '3600' } });
  workflows = await t.workflows({ now: () => new Date(clock) });
  const payer = await registerTestClient(t, { role: 'payer', organization: ACME, scopes: ['system/*.rs', 'system/Group.cruds'], purposes: ['HPAYMT'] });
  const otherPayer = await registerTestClient(t, { role: 'payer', organization: 'Organization/other-payer', scopes: ['system/*.rs'], purposes: ['HPAYMT'] });
  const agency = await registerTestClient(t, { role: 'agency', organization: AGENCY, scopes: ['system/*.cruds'] });
  const clearwater = await registerTestClient(t, { role: 'agency', organization: CLEARWATER, scopes: ['system/*.cruds'] });
  tokens.payer = await payer.token({ purposes: ['HPAYMT'] });
  tokens.otherPayer = await otherPayer.token({ purposes: ['HPAYMT'] });
  tokens.agency = await agency.token();
  tokens.clearwater = await clearwater.token();
  for (const family of ['Okafor', 'Bell', 'Outsider']) {
    const patient = `Patient/${(await as('agency').post('/fhir/Patient', { resourceType: 'Patient', name: [{ family }], gender: 'female', birthDate: '1980-04-02' })).body.id}`;
    if (family === 'Outsider') outsider = patient;
    else members.push(patient);
    await as('agency').post('/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '44261-6' }] },
      subject: { reference: patient },
      effectiveDateTime: '2025-03-01',
      valueInteger: 9,
    });
    await as('agency').post('/fhir/Encounter', { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' }, subject: { reference: patient }, period: { start: '2025-03-02T10:00:00Z' } });
  }
  // Acme covers the two members; the outsider is covered by nobody.
  for (const member of members) {
    await as('agency').post('/fhir/Coverage', { resourceType: 'Coverage', status: 'active', beneficiary: { reference: member }, payor: [{ reference: ACME }] });
  }
  // Clearwater (a Part 2 programme) treats the first member: its notes are Part 2, without a consent naming Acme.
  await as('agency').post('/fhir/CareTeam', { resourceType: 'CareTeam', status: 'active', subject: { reference: members[0] }, participant: [{ member: { reference: CLEARWATER } }] });
  part2Note = (await as('clearwater').post('/fhir/Observation', { resourceType: 'Observation', status: 'final', code: { text: 'AUDIT-C' }, subject: { reference: members[0] }, valueInteger: 7 })).body.id;
  // The agency keeps the programme's cohort, which names someone Acme does not cover.
  const created = await as('agency').post('/fhir/Group', { resourceType: 'Group', type: 'person', actual: true, member: [...members, outsider].map((m) => ({ entity: { reference: m } })) });
  expect(created.status).toBe(201);
  group = created.body.id;
});
afterAll(async () => {
  await t.close();
});

async function kickOff(who: string, path: string): Promise<string> {
  const res = await as(who).get(path).set('Prefer', 'respond-async');
  expect(res.status).toBe(202);
  expect(res.headers['content-location']).toMatch(new RegExp(`^${BASE_URL}/\\$export-status/`));
  return local(res.headers['content-location'] as string);
}

interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: unknown[];
}

async function completed(who: string, status: string): Promise<Manifest> {
  await workflows.settle();
  const res = await as(who).get(status);
  expect(res.status).toBe(200);
  return res.body as Manifest;
}

async function download(who: string, url: string): Promise<Resource[]> {
  const res = await as(who).get(local(url)).buffer(true).parse((response, callback) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    response.on('end', () => callback(null, text));
  });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/fhir+ndjson');
  return (res.body as string).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Resource);
}

test('a Group export: 202 while it runs, then NDJSON files of only the covered members, every resource valid', async () => {
  const status = await kickOff('payer', `/fhir/Group/${group}/$export?_type=Patient,Observation,Encounter`);
  const pending = await as('payer').get(status);
  expect(pending.status).toBe(202);
  expect(pending.headers['x-progress']).toBeDefined();
  const manifest = await completed('payer', status);
  expect(manifest.requiresAccessToken).toBe(true);
  expect(manifest.request).toBe(`${BASE_URL}/Group/${group}/$export?_type=Patient%2CObservation%2CEncounter`);
  expect(manifest.output.map((o) => [o.type, o.count])).toEqual([
    ['Patient', 2],
    ['Observation', 2],
    ['Encounter', 2],
  ]);
  const everything: Resource[] = [];
  for (const file of manifest.output) {
    const resources = await download('payer', file.url);
    expect(resources).toHaveLength(file.count);
    expect(resources.every((r) => r.resourceType === file.type)).toBe(true);
    everything.push(...resources);
  }
  for (const resource of everything) {
    expect({ id: `${resource.resourceType}/${resource.id}`, errors: validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal') }).toEqual({ id: `${resource.resourceType}/${resource.id}`, errors: [] });
  }
  const patients = new Set(everything.map((r) => (r.resourceType === 'Patient' ? `Patient/${r.id}` : (r as { subject?: { reference?: string } }).subject?.reference)));
  expect([...patients].sort()).toEqual([...members].sort());
  // Clearwater's Part 2 record is not disclosed to the payer without a consent naming it.
  expect(everything.map((r) => r.id)).not.toContain(part2Note);
});

test('_since keeps what changed since; Patient/$export is every patient the payer covers', async () => {
  const later = new Date(Date.now() + 60_000).toISOString();
  const none = await completed('payer', await kickOff('payer', `/fhir/Group/${group}/$export?_type=Observation&_since=${encodeURIComponent(later)}`));
  expect(none.output).toEqual([]);
  const all = await completed('payer', await kickOff('payer', '/fhir/Patient/$export?_type=Patient'));
  const patients = await download('payer', all.output[0]?.url as string);
  expect(patients.map((p) => `Patient/${p.id}`).sort()).toEqual([...members].sort());
});

test('the kick-off needs Prefer: respond-async, a known output format, types the client may search', async () => {
  expect((await as('payer').get(`/fhir/Group/${group}/$export`)).status).toBe(400);
  expect((await as('payer').get(`/fhir/Group/${group}/$export?_outputFormat=text/csv`).set('Prefer', 'respond-async')).status).toBe(400);
  expect((await as('payer').get(`/fhir/Group/${group}/$export?_type=Spaceship`).set('Prefer', 'respond-async')).status).toBe(400);
  expect((await as('payer').get('/fhir/Group/nope/$export').set('Prefer', 'respond-async')).status).toBe(404);
});

test('another client cannot see, cancel or download an export; its owner cancels it; files expire', async () => {
  const status = await kickOff('payer', `/fhir/Group/${group}/$export?_type=Patient`);
  expect((await as('otherPayer').get(status)).status).toBe(404);
  expect((await as('otherPayer').delete(status)).status).toBe(404);
  const manifest = await completed('payer', status);
  const file = local(manifest.output[0]?.url as string);
  expect((await as('otherPayer').get(file)).status).toBe(404);

  const cancelled = await kickOff('payer', `/fhir/Group/${group}/$export?_type=Patient`);
  expect((await as('payer').delete(cancelled)).status).toBe(202);
  await workflows.settle();
  expect((await as('payer').get(cancelled)).status).toBe(404);

  // An hour and more later, the sweep removes the finished export's files.
  clock += 2 * 3600_000;
  await workflows.runOnce();
  expect((await as('payer').get(status)).status).toBe(404);
  expect((await as('payer').get(file)).status).toBe(404);
});

test('the kick-off, the status polls and the downloads are audited', async () => {
  const auditor = await registerTestClient(t, { role: 'auditor', scopes: ['system/AuditEvent.rs'] });
  const events = await request(t.bareApp).get('/fhir/AuditEvent?_count=500&subtype=http://hl7.org/fhir/restful-interaction|operation').set('Authorization', `Bearer ${await auditor.token()}`);
  const queries = ((events.body as Bundle).entry ?? []).flatMap((e) => (e.resource as { entity?: { description?: string }[] }).entity?.flatMap((x) => x.description ?? []) ?? []);
  expect(queries.some((q) => /GET .*\/Group\/.*\/\$export/.test(q))).toBe(true);
  expect(queries.some((q) => /GET .*\/\$export-status\//.test(q))).toBe(true);
  expect(queries.some((q) => /GET .*\/\$export-file\/.*\/Patient\.ndjson/.test(q))).toBe(true);
});
