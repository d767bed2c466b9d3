// Every interaction leaves its AuditEvent (docs/security.md#audit): reads, searches, writes,
// Bundles and their entries, case commands and views, failures and refusals — with who (client,
// organisation, role, purposes), what (interaction, resources and versions, query), which
// patients and the outcome; a sensitive resource shown to another organisation is recorded as a
// disclosure. Only an auditor can search them, and nobody can change or delete one.
import type { AuditEvent, AuditEventAgent, Bundle } from '@medplum/fhirtypes';
import express, { type Express } from 'express';
import pino from 'pino';
import request from 'supertest';
import { storeAuditLog } from '../../../src/audit/audit-log';
import { FhirError } from '../../../src/fhir/outcomes';
import { auditAuthentication, auditContext } from '../../../src/http/audit';
import { errorHandler } from '../../../src/http/error-handler';
import { requestContext } from '../../../src/http/request-context';
import { type ActingAs, actingAs } from '../../support/acting-as';
import { tokenRequestForm } from '../../../src/auth/client-credentials';
import { BASE_URL, FHIR_JSON, type TestApp, registerTestClient, testApp, tokenRequest } from '../../support/app';
import { seedDirectory } from '../../support/directory';

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const PART2_POLICY = 'https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2';
const CALLER = 'http://casebridge.org/fhir/sid/caller';

let t: TestApp;
let tick = 0;
let harbor: Express;
let clearwater: Express;
let auditor: Express;
let patient: string;
let observation: string;

const as = (who: ActingAs) => actingAs(t, who);

beforeAll(async () => {
  // 2025-03-01T09:00:00Z, one second further at each reading.
  t = await testApp({ now: () => new Date(Date.UTC(2025, 2, 1, 9) + tick++ * 1000) });
  await seedDirectory(t, { organizations: ['agency'], roles: { 'cm-1': { organization: 'agency' } } });
  harbor = await as({ role: 'agency', id: 'harbor-app', organization: 'Organization/harbor', purposes: ['TREAT'] });
  clearwater = await as({ role: 'agency', id: 'clearwater-app', organization: 'Organization/clearwater', purposes: ['TREAT'] });
  auditor = await as({ role: 'auditor', id: 'auditor-1', scopes: ['system/AuditEvent.rs'] });
  patient = `Patient/${(await send(harbor, 'post', 'Patient', { resourceType: 'Patient', name: [{ family: 'Okafor' }] })).body.id}`;
  observation = `Observation/${(await send(harbor, 'post', 'Observation', { resourceType: 'Observation', status: 'final', code: { text: 'PHQ-9' }, subject: { reference: patient } })).body.id}`;
});
afterAll(async () => {
  await t.close();
});

let requests = 0;
/** A unique X-Request-Id per request, to find its events. */
const nextId = () => `audit-test-${++requests}`;

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

function send(app: Express, method: Method, path: string, body?: unknown, requestId = nextId()): request.Test {
  const req = request(app)[method](`/fhir/${path}`).set('Accept', FHIR_JSON).set('X-Request-Id', requestId);
  return body === undefined ? req : req.set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
}

/** The events of one request, as the auditor finds them (by the request id entity). */
async function eventsOf(requestId: string): Promise<AuditEvent[]> {
  const res = await request(auditor).get(`/fhir/AuditEvent?entity:identifier=${requestId}&_count=100`).set('Accept', FHIR_JSON);
  expect(res.status).toBe(200);
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
}

/** The one event of a request sent with `send`. */
async function eventOf(res: request.Response): Promise<AuditEvent> {
  const events = await eventsOf(res.headers['x-request-id'] as string);
  expect(events).toHaveLength(1);
  return events[0] as AuditEvent;
}

const subtypes = (e: AuditEvent) => (e.subtype ?? []).map((c) => c.code);
const patientsIn = (e: AuditEvent) => (e.entity ?? []).filter((x) => x.role?.code === '1').map((x) => x.what?.reference);
const dataIn = (e: AuditEvent) => (e.entity ?? []).filter((x) => x.role?.code === '4').map((x) => x.what?.reference);
const queryIn = (e: AuditEvent) => (e.entity ?? []).find((x) => x.role?.code === '24');
const requestor = (e: AuditEvent) => e.agent.find((a) => a.requestor) as AuditEventAgent;
const organisation = (e: AuditEvent) => e.agent.find((a) => a.type?.coding?.[0]?.code === 'RESP')?.who?.reference;
const purposes = (e: AuditEvent) => (e.purposeOfEvent ?? []).map((p) => p.coding?.[0]?.code);

function expectClient(e: AuditEvent, id: string, role: string) {
  expect(requestor(e).who?.identifier).toEqual({ system: CALLER, value: id });
  expect(requestor(e).role?.[0]?.coding?.[0]?.code).toBe(role);
}

describe('FHIR interactions', () => {
  test('a read: subtype read, action R, success, the client and its organisation, the resource at its version, its patient and the purpose', async () => {
    const res = await send(harbor, 'get', observation);
    expect(res.status).toBe(200);
    const e = await eventOf(res);
    expect(e.type.code).toBe('rest');
    expect(subtypes(e)).toEqual(['read']);
    expect(e.action).toBe('R');
    expect(e.outcome).toBe('0');
    expectClient(e, 'harbor-app', 'agency');
    expect(organisation(e)).toBe('Organization/harbor');
    expect(purposes(e)).toEqual(['TREAT']);
    expect(dataIn(e)).toEqual([`${observation}/_history/1`]);
    expect(patientsIn(e)).toEqual([patient]);
    expect(e.entity?.[0]?.what?.identifier?.value).toBe(res.headers['x-request-id']);
  });

  test('a search: subtype search-type, action E, the query (base64 and readable) and the patient it asked about', async () => {
    const res = await send(harbor, 'get', `Observation?subject=${patient}&_count=5`);
    expect(res.status).toBe(200);
    const e = await eventOf(res);
    expect(subtypes(e)).toEqual(['search-type']);
    expect(e.action).toBe('E');
    const query = queryIn(e);
    expect(query?.description).toBe(`GET http://casebridge.test/fhir/Observation?subject=${encodeURIComponent(patient)}&_count=5`);
    expect(Buffer.from(query?.query ?? '', 'base64').toString('utf8')).toBe(query?.description);
    expect(patientsIn(e)).toEqual([patient]);
  });

  test('a create, an update and a delete: actions C, U, D with the versions written and the patient', async () => {
    const body = { resourceType: 'Observation', status: 'preliminary', code: { text: 'GAD-7' }, subject: { reference: patient } };
    const created = await send(harbor, 'post', 'Observation', body);
    expect(created.status).toBe(201);
    const ref = `Observation/${created.body.id}`;
    const c = await eventOf(created);
    expect([subtypes(c), c.action, c.outcome, dataIn(c), patientsIn(c)]).toEqual([['create'], 'C', '0', [`${ref}/_history/1`], [patient]]);

    const updated = await send(harbor, 'put', ref, { ...body, id: created.body.id, status: 'final' });
    expect(updated.status).toBe(200);
    const u = await eventOf(updated);
    expect([subtypes(u), u.action, u.outcome, dataIn(u), patientsIn(u)]).toEqual([['update'], 'U', '0', [`${ref}/_history/2`], [patient]]);

    const deleted = await send(harbor, 'delete', ref);
    expect(deleted.status).toBe(200);
    const d = await eventOf(deleted);
    expect([subtypes(d), d.action, d.outcome, dataIn(d), patientsIn(d)]).toEqual([['delete'], 'D', '0', [`${ref}/_history/3`], [patient]]);
  });

  test('a failed read (404): outcome 4 with the reason, and what was asked for', async () => {
    const res = await send(harbor, 'get', 'Observation/no-such-thing');
    expect(res.status).toBe(404);
    const e = await eventOf(res);
    expect([subtypes(e), e.action, e.outcome]).toEqual([['read'], 'R', '4']);
    expect(e.outcomeDesc).toBe('Observation/no-such-thing is not known');
    expect(dataIn(e)).toEqual(['Observation/no-such-thing']);
  });

  test('a 403 from the access check is recorded: the scope did not allow it', async () => {
    const narrow = await as({ role: 'agency', id: 'narrow-app', organization: 'Organization/harbor', scopes: ['system/Patient.rs'] });
    const res = await send(narrow, 'get', observation);
    expect(res.status).toBe(403);
    const e = await eventOf(res);
    expect([subtypes(e), e.action, e.outcome, e.outcomeDesc]).toEqual([['read'], 'R', '4', 'Not allowed: read on Observation']);
    expectClient(e, 'narrow-app', 'agency');
    expect(dataIn(e)).toEqual([observation]);
  });

  test("another agency's read of a client it does not serve is a 404, recorded with the client it tried", async () => {
    const res = await send(clearwater, 'get', patient);
    expect(res.status).toBe(404);
    const e = await eventOf(res);
    expect([subtypes(e), e.outcome]).toEqual([['read'], '4']);
    expectClient(e, 'clearwater-app', 'agency');
    expect(organisation(e)).toBe('Organization/clearwater');
    expect(patientsIn(e)).toEqual([patient]);
  });

  test('a batch: one event for the batch and one per entry, failures included, under the request id', async () => {
    const requestId = nextId();
    const batch = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: patient } },
        { request: { method: 'GET', url: 'Observation/missing' } },
      ],
    };
    const res = await send(harbor, 'post', '', batch, requestId);
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual(['200 OK', '404 Not Found']);
    const events = await eventsOf(requestId);
    const summary = events.map((e) => [subtypes(e)[0], e.outcome, dataIn(e)[0]]).sort((a, b) => String(a).localeCompare(String(b)));
    expect(summary).toEqual([
      ['batch', '0', undefined],
      ['read', '0', `${patient}/_history/1`],
      ['read', '4', 'Observation/missing'],
    ]);
  });

  test("a transaction: its writes are one event naming each resource written with its version, its reads have their own", async () => {
    const requestId = nextId();
    const transaction = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:8f3e3b8e-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', name: [{ family: 'Mensah' }] }, request: { method: 'POST', url: 'Patient' } },
        {
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'PHQ-2' }, subject: { reference: 'urn:uuid:8f3e3b8e-0000-4000-8000-000000000001' } },
          request: { method: 'POST', url: 'Observation' },
        },
        { request: { method: 'GET', url: observation } },
      ],
    };
    const res = await send(harbor, 'post', '', transaction, requestId);
    expect(res.status).toBe(200);
    const [newPatient, newObservation] = (res.body as Bundle).entry?.map((e) => e.response?.location?.replace('http://casebridge.test/fhir/', '')) ?? [];
    const events = await eventsOf(requestId);
    expect(events).toHaveLength(2);
    const tx = events.find((e) => subtypes(e)[0] === 'transaction') as AuditEvent;
    expect([tx.action, tx.outcome]).toEqual(['E', '0']);
    expect(dataIn(tx)).toEqual([newPatient, newObservation]);
    expect(patientsIn(tx)).toEqual([newPatient?.split('/_history')[0]]);
    const read = events.find((e) => subtypes(e)[0] === 'read') as AuditEvent;
    expect(dataIn(read)).toEqual([`${observation}/_history/1`]);
  });
});

describe('the case API', () => {
  test('a command names what its Provenance names and the client; a case view reads the case and its client', async () => {
    const intake = await as({ role: 'administrator', id: 'intake-app' });
    const opened = await request(intake)
      .post('/cm/v1/cases')
      .set('Content-Type', 'application/json')
      .set('X-Request-Id', nextId())
      .send({ client: { identifier: { system: 'urn:agency:clients', value: 'A-1' }, name: { family: 'Okafor', given: ['Ada'] }, gender: 'female' }, caseManager: 'PractitionerRole/cm-1', agency: 'Organization/agency', opened: '2025-01-20' });
    expect(opened.status).toBe(201);
    const command = await eventOf(opened);
    expect(command.subtype).toEqual([{ system: 'http://casebridge.org/fhir/CodeSystem/case-management', code: 'open-case', display: 'Open a case (intake)' }]);
    expect([command.action, command.outcome]).toEqual(['E', '0']);
    expectClient(command, 'intake-app', 'administrator');
    const written = (opened.body.written as { reference: string; versionId: string }[]).map((w) => `${w.reference}/_history/${w.versionId}`);
    expect(dataIn(command)).toEqual([...written, `${opened.body.provenance}/_history/1`]);
    const client = (opened.body.written as { reference: string }[]).find((w) => w.reference.startsWith('Patient/'))?.reference;
    expect(patientsIn(command)).toEqual([client]);

    const caseId = (opened.body.case as string).split('/')[1];
    const viewed = await request(intake).get(`/cm/v1/cases/${caseId}`).set('X-Request-Id', nextId());
    expect(viewed.status).toBe(200);
    const view = await eventOf(viewed);
    expect([subtypes(view), view.action, view.outcome, dataIn(view), patientsIn(view)]).toEqual([['read'], 'R', '0', [opened.body.case], [client]]);

    const missing = await request(intake).post('/cm/v1/cases/no-such-case/contacts').set('Content-Type', 'application/json').set('X-Request-Id', nextId()).send({});
    expect(missing.status).toBe(400);
    const refused = await eventOf(missing);
    expect([subtypes(refused), refused.outcome, dataIn(refused)]).toEqual([['log-contact'], '4', ['EpisodeOfCare/no-such-case']]);
  });
});

describe('disclosure of sensitive data to another organisation', () => {
  let client: string;
  let part2: string;
  let psychotherapy: string;

  beforeAll(async () => {
    // Clearwater runs the case and owns the records; Harbor is on the care team.
    client = `Patient/${(await send(clearwater, 'post', 'Patient', { resourceType: 'Patient', name: [{ family: 'Reyes' }] })).body.id}`;
    expect((await send(clearwater, 'post', 'EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: client }, managingOrganization: { reference: 'Organization/clearwater' } })).status).toBe(201);
    expect((await send(clearwater, 'post', 'CareTeam', { resourceType: 'CareTeam', status: 'active', subject: { reference: client }, participant: [{ member: { reference: 'Organization/harbor' } }] })).status).toBe(201);
    const labelled = (code: string, text: string) => ({ resourceType: 'Condition', meta: { security: [{ system: ACT_CODE, code }] }, subject: { reference: client }, code: { text } });
    part2 = `Condition/${(await send(clearwater, 'post', 'Condition', labelled('42CFRPart2', 'Opioid use disorder'))).body.id}`;
    psychotherapy = `Condition/${(await send(clearwater, 'post', 'Condition', labelled('PSYTHPN', 'Session notes'))).body.id}`;
    // The client consents to Part 2 disclosure to Harbor, for treatment.
    const consent = {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: client },
      policy: [{ uri: PART2_POLICY }],
      provision: {
        type: 'permit',
        actor: [{ role: { text: 'IRCP' }, reference: { reference: 'Organization/harbor' } }],
        purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }],
        securityLabel: [{ system: ACT_CODE, code: '42CFRPart2' }],
      },
    };
    expect((await send(clearwater, 'post', 'Consent', consent)).status).toBe(201);
  });

  test('a Part 2 record read under consent: the disclose subtype, the record with its label, its client, its custodian and the purpose', async () => {
    const res = await send(harbor, 'get', part2);
    expect(res.status).toBe(200);
    expect(res.body.meta.security).toContainEqual(expect.objectContaining({ code: 'NORDSCLCD' }));
    const e = await eventOf(res);
    expect(subtypes(e)).toEqual(['read', 'disclose']);
    const entity = (e.entity ?? []).find((x) => x.what?.reference === `${part2}/_history/1`);
    expect(entity?.lifecycle?.code).toBe('disclose');
    expect(entity?.securityLabel).toEqual([{ system: ACT_CODE, code: '42CFRPart2' }]);
    expect(patientsIn(e)).toEqual([client]);
    expectClient(e, 'harbor-app', 'agency');
    expect(e.agent.find((a) => a.type?.coding?.[0]?.code === '159541003')?.who?.reference).toBe('Organization/clearwater');
    expect(purposes(e)).toEqual(['TREAT']);
  });

  test('a search that returns it records the disclosure too, and what it withheld is not in it', async () => {
    const res = await send(harbor, 'get', `Condition?subject=${client}`);
    expect(res.status).toBe(200);
    expect(((res.body as Bundle).entry ?? []).map((x) => `Condition/${x.resource?.id}`)).toEqual([part2]);
    const e = await eventOf(res);
    expect(subtypes(e)).toEqual(['search-type', 'disclose']);
    expect(dataIn(e)).toEqual([`${part2}/_history/1`]);
  });

  test('a record its consent does not cover is withheld (404), recorded as a failed read with no disclosure', async () => {
    const res = await send(harbor, 'get', psychotherapy);
    expect(res.status).toBe(404);
    const e = await eventOf(res);
    expect([subtypes(e), e.outcome, dataIn(e)]).toEqual([['read'], '4', [psychotherapy]]);
  });

  test('the owner reading its own records discloses nothing', async () => {
    const e = await eventOf(await send(clearwater, 'get', part2));
    expect(subtypes(e)).toEqual(['read']);
  });
});

describe('the audit log itself', () => {
  test('only an auditor finds AuditEvents: an administrator and an agency search and read nothing', async () => {
    const mine = await send(harbor, 'get', observation);
    const id = (await eventOf(mine)).id as string;
    for (const app of [t.app, harbor]) {
      const search = await send(app, 'get', 'AuditEvent?_count=5');
      expect(search.status).toBe(200);
      expect((search.body as Bundle).entry ?? []).toEqual([]);
      expect((await send(app, 'get', `AuditEvent/${id}`)).status).toBe(404);
    }
    expect((await send(auditor, 'get', `AuditEvent/${id}`)).status).toBe(200);
  });

  test('nothing changes or deletes an AuditEvent: every client, administrator and auditor included, is refused and it stays as it was', async () => {
    const target = await eventOf(await send(harbor, 'get', observation));
    const id = target.id as string;
    const allPowerfulAuditor = await as({ role: 'auditor', id: 'auditor-2', scopes: ['system/*.cruds'] });
    for (const app of [t.app, allPowerfulAuditor]) {
      const changed = { ...target, outcome: '8' };
      expect((await send(app, 'put', `AuditEvent/${id}`, changed)).status).toBe(403);
      expect((await send(app, 'patch', `AuditEvent/${id}`, { resourceType: 'Parameters', parameter: [] })).status).toBe(403);
      expect((await send(app, 'delete', `AuditEvent/${id}`)).status).toBe(403);
      expect((await send(app, 'delete', `AuditEvent?_id=${id}`)).status).toBe(403);
      expect((await send(app, 'post', 'AuditEvent', { ...target, id: undefined })).status).toBe(403);
      const transaction = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `AuditEvent/${id}` } }] };
      expect((await send(app, 'post', '', transaction)).status).toBe(403);
    }
    const after = await send(auditor, 'get', `AuditEvent/${id}`);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(target);
    // Each refusal was itself recorded.
    const refusals = await request(auditor).get(`/fhir/AuditEvent?agent:identifier=${CALLER}|auditor-2&outcome=4`).set('Accept', FHIR_JSON);
    expect((refusals.body as Bundle).entry).toHaveLength(6);
  });

  let firstRecorded: string;
  beforeAll(async () => {
    firstRecorded = (await eventsOf('audit-test-1'))[0]?.recorded as string;
  });

  // Each search finds some events, every one of which matches, and (but for type: every event here is
  // a REST one) leaves others out.
  test.each<[string, () => string, (e: AuditEvent) => boolean]>([
    ['patient', () => `patient=${patient}`, (e) => patientsIn(e).includes(patient)],
    ['agent (an organisation)', () => 'agent=Organization/clearwater', (e) => e.agent.some((a) => a.who?.reference === 'Organization/clearwater')],
    ['agent (a client, by identifier)', () => `agent:identifier=${CALLER}|harbor-app`, (e) => requestor(e).who?.identifier?.value === 'harbor-app'],
    ['entity', () => `entity=${observation}`, (e) => dataIn(e).some((r) => r?.startsWith(`${observation}/`) || r === observation)],
    ['type', () => 'type=http://terminology.hl7.org/CodeSystem/audit-event-type|rest', (e) => e.type.code === 'rest'],
    ['subtype', () => 'subtype=http://hl7.org/fhir/restful-interaction|create', (e) => subtypes(e).includes('create')],
    ['action', () => 'action=D', (e) => e.action === 'D'],
    ['outcome', () => 'outcome=4', (e) => e.outcome === '4'],
    ['date', () => `date=ge${firstRecorded}&date=le${firstRecorded}`, (e) => e.recorded === firstRecorded],
  ])('an auditor searches by %s', async (title, criteria, matches) => {
    const all = (await send(auditor, 'get', 'AuditEvent?_summary=count')).body.total as number;
    const res = await send(auditor, 'get', `AuditEvent?${criteria()}&_count=500`);
    expect(res.status).toBe(200);
    const events = ((res.body as Bundle).entry ?? []).map((x) => x.resource as AuditEvent);
    expect(events.length).toBeGreaterThan(0);
    if (title !== 'type') expect(events.length).toBeLessThan(all);
    expect(events.filter((e) => !matches(e))).toEqual([]);
  });

  test('an auditor searching before anything happened finds nothing', async () => {
    const res = await send(auditor, 'get', 'AuditEvent?date=lt2025-03-01');
    expect((res.body as Bundle).entry ?? []).toEqual([]);
  });

  test('the searches find the right events: by patient and outcome, the failed reads of that client', async () => {
    await send(clearwater, 'get', patient);
    const res = await send(auditor, 'get', `AuditEvent?patient=${patient}&outcome=4&agent=Organization/clearwater`);
    const events = ((res.body as Bundle).entry ?? []).map((x) => x.resource as AuditEvent);
    expect(events.length).toBeGreaterThanOrEqual(1);
    for (const e of events) {
      expect(e.outcome).toBe('4');
      expect(organisation(e)).toBe('Organization/clearwater');
      expect(patientsIn(e)).toContain(patient);
    }
  });

  test("an auditor's own search is recorded once, and writing the audit log records nothing more", async () => {
    const res = await send(auditor, 'get', 'AuditEvent?type=rest&_count=1');
    const events = await eventsOf(res.headers['x-request-id'] as string);
    expect(events.map((e) => [subtypes(e)[0], requestor(e).who?.identifier?.value])).toEqual([['search-type', 'auditor-1']]);
  });
});

describe('requests refused before any interaction', () => {
  test('an unsupported media type (415) is recorded with what was asked', async () => {
    const res = await request(harbor).post('/fhir/Patient').set('Content-Type', 'text/plain').set('X-Request-Id', nextId()).send('hello');
    expect(res.status).toBe(415);
    const e = await eventOf(res);
    expect(e.subtype).toBeUndefined();
    expect([e.type.code, e.action, e.outcome]).toEqual(['rest', 'E', '4']);
    expect(queryIn(e)?.description).toBe('POST /fhir/Patient');
    expectClient(e, 'harbor-app', 'agency');
  });

  test('an unknown route (404) is recorded', async () => {
    const res = await request(harbor).get('/fhir/Spaceship/1').set('X-Request-Id', nextId());
    expect(res.status).toBe(404);
    const e = await eventOf(res);
    expect([e.action, e.outcome, queryIn(e)?.description]).toEqual(['R', '4', 'GET /fhir/Spaceship/1']);
  });
});

// The authentication middleware (issue 10, SMART Backend Services) calls auditAuthentication for
// an attempt it refuses or a token it issues; a 401 it did not record is recorded by the error handler.
describe('authentication attempts', () => {
  const logger = pino({ level: 'silent' });

  /** The app's audit context, request context and error handler around one route standing for the authentication middleware. */
  function withAuthentication(route: express.RequestHandler): Express {
    const app = express();
    app.use(auditContext({ log: storeAuditLog(t.services.repo), source: { baseUrl: BASE_URL }, now: t.services.now, logger }));
    app.use(requestContext(logger));
    app.post('/auth/token', route);
    app.use(errorHandler(logger));
    return app;
  }

  test('a refusal recorded with the client it claimed is one failed login (DICOM 110114, outcome 4), and the 401 follows', async () => {
    const app = withAuthentication((_req, res, next) => {
      auditAuthentication(res, { clientId: 'harbor-app', succeeded: false, reason: 'the client assertion has expired' })
        .then(() => next(new FhirError('UNAUTHENTICATED', 'The client assertion is not valid')))
        .catch(next);
    });
    const res = await request(app).post('/auth/token').set('X-Request-Id', 'login-1');
    expect(res.status).toBe(401);
    const [e, ...others] = await eventsOf('login-1');
    expect(others).toEqual([]);
    expect(e?.type).toEqual({ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110114', display: 'User Authenticated' });
    expect(subtypes(e as AuditEvent)).toEqual(['110122']);
    expect([e?.action, e?.outcome, e?.outcomeDesc]).toEqual(['E', '4', 'the client assertion has expired']);
    expect(requestor(e as AuditEvent).who?.identifier).toEqual({ system: CALLER, value: 'harbor-app' });
  });

  test('a token issued is a successful login', async () => {
    const app = withAuthentication((_req, res, next) => {
      auditAuthentication(res, { clientId: 'harbor-app', succeeded: true })
        .then(() => res.status(200).json({ access_token: 'x' }))
        .catch(next);
    });
    expect((await request(app).post('/auth/token').set('X-Request-Id', 'login-2')).status).toBe(200);
    expect((await eventsOf('login-2')).map((e) => [e.type.code, e.outcome])).toEqual([['110114', '0']]);
  });

  test('a 401 nobody recorded is recorded by the error handler as a failed login of an unidentified caller', async () => {
    const app = withAuthentication((_req, _res, next) => next(new FhirError('UNAUTHENTICATED', 'This endpoint needs an access token')));
    expect((await request(app).post('/auth/token').set('X-Request-Id', 'login-3')).status).toBe(401);
    const events = await eventsOf('login-3');
    expect(events.map((e) => [e.type.code, e.outcome, e.outcomeDesc, requestor(e).who?.identifier?.value])).toEqual([['110114', '4', 'This endpoint needs an access token', 'anonymous']]);
  });

  test('the real token endpoint records each token it issues, and each refusal with the client the assertion claimed', async () => {
    const client = await registerTestClient(t, { clientId: 'harbor-login', role: 'agency', organization: 'Organization/harbor', scopes: ['system/*.rs'] });
    const good = await tokenRequest(t, tokenRequestForm(await client.assertion(), 'system/*.rs')).set('X-Request-Id', 'login-4');
    expect(good.status).toBe(200);
    expect((await eventsOf('login-4')).map((e) => [e.type.code, e.outcome, requestor(e).who?.identifier?.value])).toEqual([['110114', '0', 'harbor-login']]);
    const replayed = await client.assertion();
    await tokenRequest(t, tokenRequestForm(replayed, 'system/*.rs'));
    const refused = await tokenRequest(t, tokenRequestForm(replayed, 'system/*.rs')).set('X-Request-Id', 'login-5');
    expect(refused.status).toBe(401);
    const [e] = await eventsOf('login-5');
    expect([e?.type.code, e?.outcome, requestor(e as AuditEvent).who?.identifier?.value]).toEqual(['110114', '4', 'harbor-login']);
    expect(e?.outcomeDesc).toMatch(/^invalid_client: /);
  });

  test('an access token refused at the FHIR API is a failed login of the client it claimed', async () => {
    const client = await registerTestClient(t, { clientId: 'harbor-expired', role: 'agency', organization: 'Organization/harbor', scopes: ['system/*.rs'] });
    const token = await client.token();
    await t.auth.setClientActive(client.clientId, false);
    const res = await request(t.bareApp).get('/fhir/Patient').set('Authorization', `Bearer ${token}`).set('X-Request-Id', 'login-6');
    expect(res.status).toBe(401);
    const events = await eventsOf('login-6');
    expect(events.map((e) => [e.type.code, e.outcome, requestor(e).who?.identifier?.value])).toEqual([['110114', '4', 'harbor-expired']]);
  });
});
