/**
 * Two CaseBridge instances, each with its own database and HTTP server, exchange referrals over
 * real HTTP (SDOHCC direct referral): Riverside (instance A) refers a client to Harbor House
 * (instance B), which has its own server. A sends the Task (the first answer is lost on the way
 * back, and the retry must not make a second Task), B takes it in (fetching the ServiceRequest,
 * the Patient and the consent from A), Harbor accepts, A is restarted on its database, Harbor
 * works and completes it with a Procedure, and A records every status, fetches the Procedure and
 * closes the loop (ServiceRequest completed, goal noted, case timeline). A second referral is
 * rejected with a reason. Each instance authenticates to the other with SMART Backend Services.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, DocumentReference, Goal, Procedure, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Fetch } from '../../../src/workflows/outbound';
import type { Workflows } from '../../../src/workflows/runtime';
import { FHIR_JSON, type TestApp, type TestClient, registerTestClient, testApp } from '../../support/app';

const A_ORIGIN = 'http://riverside.test';
const B_ORIGIN = 'http://harbor.test';
const RIVERSIDE = 'Organization/riverside';
const HARBOR = 'Organization/harbor';
const POLL_SECONDS = 900;

interface Instance {
  t: TestApp;
  server: http.Server;
  port: number;
  workflows: Workflows;
}

let clock = Date.now();
const now = () => new Date(clock);
let a: Instance;
let b: Instance;
const ports = new Map<string, () => number>();
/** Requests A sent to B: method and path. */
const sentToB: string[] = [];
/** When set, the next answer to a POST of a Task from A to B is lost (B did the work). */
let loseNextTaskAnswer = false;

/** Outbound HTTP of the tests' instances: each origin goes to its instance's real server. */
const routed = (from: string): Fetch => async (input, init) => {
  const url = new URL(input);
  const port = ports.get(url.origin)?.();
  if (port === undefined) throw new TypeError(`fetch failed: no route to ${url.origin}`);
  const response = await fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, init);
  if (from === 'A' && url.origin === B_ORIGIN) {
    sentToB.push(`${init.method ?? 'GET'} ${url.pathname}`);
    if (loseNextTaskAnswer && init.method === 'POST' && url.pathname === '/fhir/Task') {
      loseNextTaskAnswer = false;
      await response.text();
      throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
    }
  }
  return response;
};

async function start(origin: string, name: string, database?: TestApp['database']): Promise<Instance> {
  const t = await testApp({ env: { BASE_URL: `${origin}/fhir`, REFERRAL_POLL_SECONDS: String(POLL_SECONDS) }, ...(database ? { restartOf: database } : {}) });
  const server = http.createServer(t.bareApp);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const workflows = await t.workflows({ now, fetch: routed(name), instanceId: `${name}-${port}` });
  return { t, server, port, workflows };
}

async function stop(instance: Instance): Promise<void> {
  await instance.workflows.stop();
  await new Promise<void>((resolve) => {
    instance.server.close(() => resolve());
    instance.server.closeAllConnections();
  });
}

const tokens: Record<string, string> = {};
const on = (instance: () => Instance, who: string) => ({
  get: (path: string) => request(instance().t.bareApp).get(path).set('Authorization', `Bearer ${tokens[who]}`),
  post: (path: string, body: unknown) => request(instance().t.bareApp).post(path).set('Authorization', `Bearer ${tokens[who]}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body)),
  put: (path: string, body: unknown) => request(instance().t.bareApp).put(path).set('Authorization', `Bearer ${tokens[who]}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body)),
});
const riverside = on(() => a, 'riverside');
const harbor = on(() => b, 'harbor');

/** Lets the workflows of both instances run until neither has anything to do. */
async function settleBoth(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const done = (await a.workflows.settle()) + (await b.workflows.settle());
    if (done === 0) return;
  }
}

/** The next poll is due. */
async function poll(): Promise<void> {
  clock += (POLL_SECONDS + 1) * 1000;
  await settleBoth();
}

let riversideOnA: TestClient;
let patient: string;
let goal: string;
let caseId: string;

beforeAll(async () => {
  a = await start(A_ORIGIN, 'A');
  b = await start(B_ORIGIN, 'B');
  ports.set(A_ORIGIN, () => a.port);
  ports.set(B_ORIGIN, () => b.port);
  // Each agency's staff on its own server; each server's client for the other agency.
  riversideOnA = await registerTestClient(a.t, { role: 'agency', organization: RIVERSIDE, scopes: ['system/*.cruds'] });
  const harborOnB = await registerTestClient(b.t, { role: 'agency', organization: HARBOR, scopes: ['system/*.cruds'] });
  tokens.riverside = await riversideOnA.token();
  tokens.harbor = await harborOnB.token();
  const riversideClientOnB = await registerTestClient(b.t, { role: 'agency', organization: RIVERSIDE, scopes: ['system/*.crus'] });
  const harborClientOnA = await registerTestClient(a.t, { role: 'agency', organization: HARBOR, scopes: ['system/*.rs'] });
  await a.workflows.context.records.partners.register(
    { id: 'harbor', name: 'Harbor House', organization: HARBOR, baseUrl: `${B_ORIGIN}/fhir`, credentials: { type: 'smart-backend', clientId: riversideClientOnB.clientId, privateJwk: riversideClientOnB.credentials.private_key as unknown as Record<string, unknown>, scope: 'system/*.crus' } },
    now(),
  );
  await b.workflows.context.records.partners.register(
    { id: 'riverside', name: 'Riverside Community Services', organization: RIVERSIDE, baseUrl: `${A_ORIGIN}/fhir`, credentials: { type: 'smart-backend', clientId: harborClientOnA.clientId, privateJwk: harborClientOnA.credentials.private_key as unknown as Record<string, unknown>, scope: 'system/*.rs' } },
    now(),
  );

  // Riverside's case: a client, the case, a goal, a consent to share with Harbor.
  patient = `Patient/${(await riverside.post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: 'http://riverside.example.org/mrn', value: 'R-1001' }], name: [{ family: 'Okafor', given: ['Ada'] }], gender: 'female', birthDate: '1984-07-12' })).body.id}`;
  const episode = await riverside.post('/fhir/EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: patient }, managingOrganization: { reference: RIVERSIDE }, period: { start: '2026-11-01' } });
  expect(episode.status).toBe(201);
  caseId = episode.body.id;
  goal = (await riverside.post('/fhir/Goal', { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Stable housing within 90 days' }, subject: { reference: patient } })).body.id;
}, 60_000);

afterAll(async () => {
  await stop(a);
  await stop(b);
  await a.t.close();
  await b.t.close();
});

async function refer(service: string): Promise<{ task: string; serviceRequest: string }> {
  const consent = await riverside.post('/fhir/Consent', {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: patient },
    dateTime: '2026-11-20',
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: HARBOR } }] },
  });
  expect(consent.status).toBe(201);
  const sr = await riverside.post('/fhir/ServiceRequest', {
    resourceType: 'ServiceRequest',
    extension: [
      { url: 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare', valueReference: { reference: `EpisodeOfCare/${caseId}` } },
      { url: 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal', valueReference: { reference: `Goal/${goal}` } },
    ],
    status: 'active',
    intent: 'order',
    code: { text: service },
    subject: { reference: patient },
    authoredOn: '2026-11-20',
    requester: { reference: RIVERSIDE },
    performer: [{ reference: HARBOR }],
    supportingInfo: [{ reference: `Consent/${consent.body.id}` }],
  });
  expect(sr.status).toBe(201);
  const task = await riverside.post('/fhir/Task', {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    description: service,
    focus: { reference: `ServiceRequest/${sr.body.id}` },
    for: { reference: patient },
    authoredOn: '2026-11-20T10:00:00Z',
    requester: { reference: RIVERSIDE },
    owner: { reference: HARBOR },
  });
  expect(task.status).toBe(201);
  return { task: task.body.id, serviceRequest: sr.body.id };
}

const taskOnA = async (id: string) => (await riverside.get(`/fhir/Task/${id}`)).body as Task;
const harborQueue = async () => ((await harbor.get(`/fhir/Task?owner=${HARBOR}&status=requested`)).body as Bundle).entry?.map((e) => e.resource as Task) ?? [];

async function harborMoves(task: Task, status: Task['status'], extra: Partial<Task> = {}): Promise<Task> {
  const res = await harbor.put(`/fhir/Task/${task.id}`, { ...task, meta: undefined, status, ...extra });
  expect({ status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({ status: 200, body: 'ok' });
  return res.body as Task;
}

test('a referral through its whole life between two instances, the sender restarted mid-way', async () => {
  const first = await refer('Housing navigation');

  // A sends; its first answer is lost, so it sends again: B has one Task all the same.
  loseNextTaskAnswer = true;
  await settleBoth();
  expect(sentToB.filter((r) => r === 'POST /fhir/Task')).toHaveLength(1);
  clock += 60_000;
  await settleBoth();
  expect(sentToB.filter((r) => r === 'POST /fhir/Task')).toHaveLength(2);
  const queue = await harborQueue();
  expect(queue).toHaveLength(1);
  let received = queue[0] as Task;
  expect(received.identifier).toEqual([{ system: `${A_ORIGIN}/fhir/Task`, value: first.task }]);
  expect(received.focus?.reference).toBe(`${A_ORIGIN}/fhir/ServiceRequest/${first.serviceRequest}`);

  // B took it in: its own copy of the client, of the request (a filler order based on A's) and of the consent.
  expect(received.for?.reference).toMatch(/^Patient\//);
  const copy = (await harbor.get(`/fhir/${received.basedOn?.[0]?.reference as string}`)).body as ServiceRequest;
  expect(copy).toMatchObject({ intent: 'filler-order', basedOn: [{ reference: `${A_ORIGIN}/fhir/ServiceRequest/${first.serviceRequest}` }], performer: [{ reference: HARBOR }], code: { text: 'Housing navigation' } });
  expect(copy.supportingInfo?.[0]?.reference).toMatch(/^Consent\//);
  const client = (await harbor.get(`/fhir/${received.for?.reference as string}`)).body;
  expect(client).toMatchObject({ name: [{ family: 'Okafor' }], birthDate: '1984-07-12' });
  expect(client.identifier).toContainEqual({ system: `${A_ORIGIN}/fhir/Patient`, value: patient.split('/')[1] });

  // Harbor accepts; A learns of it at its next poll.
  received = await harborMoves(received, 'accepted');
  await poll();
  expect((await taskOnA(first.task)).status).toBe('accepted');

  // The conversation: Harbor writes on its server, Riverside on its own; each reaches the other once.
  const fromHarbor = await harbor.post('/fhir/Communication', { resourceType: 'Communication', status: 'completed', partOf: [{ reference: `Task/${received.id}` }], subject: { reference: received.for?.reference }, sent: '2026-11-22T09:00:00Z', sender: { reference: HARBOR }, payload: [{ contentString: 'We can see her on Tuesday at 10.' }] });
  expect(fromHarbor.status).toBe(201);
  const fromRiverside = await riverside.post('/fhir/Communication', { resourceType: 'Communication', status: 'completed', partOf: [{ reference: `Task/${first.task}` }], subject: { reference: patient }, sent: '2026-11-22T11:00:00Z', sender: { reference: RIVERSIDE }, payload: [{ contentString: 'She prefers mornings; Tuesday works.' }] });
  expect(fromRiverside.status).toBe(201);
  await poll();
  await poll();
  const messages = async (side: typeof riverside, task: string) =>
    (((await side.get(`/fhir/Communication?part-of=Task/${task}`)).body as Bundle).entry ?? []).map((e) => (e.resource as { payload?: { contentString?: string }[] }).payload?.[0]?.contentString).sort();
  const conversation = ['She prefers mornings; Tuesday works.', 'We can see her on Tuesday at 10.'];
  expect(await messages(riverside, first.task)).toEqual(conversation);
  expect(await messages(harbor, received.id as string)).toEqual(conversation);
  received = (await harbor.get(`/fhir/Task/${received.id}`)).body as Task;

  // A is restarted on its database (a new process: new services, server and workflows).
  await stop(a);
  a = await start(A_ORIGIN, 'A', a.t.database);
  tokens.riverside = await (await registerTestClient(a.t, { role: 'agency', organization: RIVERSIDE, scopes: ['system/*.cruds'] })).token();

  // Harbor works the referral and completes it with a Procedure, as SDOHCC says.
  received = await harborMoves(received, 'in-progress');
  const procedure = await harbor.post('/fhir/Procedure', {
    resourceType: 'Procedure',
    status: 'completed',
    basedOn: [{ reference: received.basedOn?.[0]?.reference as string }],
    code: { coding: [{ system: 'http://snomed.info/sct', code: '410606002', display: 'Social service procedure' }], text: 'Housing application filed' },
    subject: { reference: received.for?.reference as string },
    performedDateTime: '2026-12-01',
  });
  expect(procedure.status).toBe(201);
  await harborMoves(received, 'completed', {
    output: [{ type: { coding: [{ system: 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes', code: 'resulting-activity' }] }, valueReference: { reference: `Procedure/${procedure.body.id}` } }],
  });
  await poll();

  // A went through every status in order, recorded the Procedure and closed the loop.
  const history = ((await riverside.get(`/fhir/Task/${first.task}/_history`)).body as Bundle).entry?.map((e) => (e.resource as Task).status).reverse();
  expect(history).toEqual(['requested', 'accepted', 'in-progress', 'completed']);
  const done = await taskOnA(first.task);
  const output = done.output?.[0]?.valueReference?.reference as string;
  expect(output).toMatch(/^Procedure\//);
  const outcome = (await riverside.get(`/fhir/${output}`)).body as Procedure;
  expect(outcome).toMatchObject({ status: 'completed', code: { text: 'Housing application filed' }, subject: { reference: patient }, basedOn: [{ reference: `ServiceRequest/${first.serviceRequest}` }], performedDateTime: '2026-12-01' });
  expect(((await riverside.get(`/fhir/ServiceRequest/${first.serviceRequest}`)).body as ServiceRequest).status).toBe('completed');
  expect(((await riverside.get(`/fhir/Goal/${goal}`)).body as Goal).note?.map((n) => n.text)).toContain('Referral completed by Harbor House');
  const events = ((await riverside.get(`/fhir/DocumentReference?patient=${patient}`)).body as Bundle).entry?.map((e) => e.resource as DocumentReference) ?? [];
  const event = events.find((d) => d.description === 'Referral outcome');
  expect(Buffer.from(event?.content[0]?.attachment.data as string, 'base64').toString('utf8')).toBe(`Referral completed by Harbor House. Outcome: ${output}.`);

  // Nothing was sent twice, nothing is left to do.
  const tasksOnB = ((await harbor.get(`/fhir/Task?identifier=${encodeURIComponent(`${A_ORIGIN}/fhir/Task|${first.task}`)}`)).body as Bundle).entry ?? [];
  expect(tasksOnB).toHaveLength(1);
  await poll();
  expect(sentToB.filter((r) => r === 'POST /fhir/Task')).toHaveLength(2);
  const pending = await a.workflows.context.records.outbox.due(['referral-send', 'referral-follow', 'referral-import'], new Date(clock + 10 * 24 * 3600_000), 100);
  expect(pending).toEqual([]);
}, 60_000);

test('a referral rejected with a reason: the reason reaches the sender, its request is revoked', async () => {
  const second = await refer('Peer support group');
  await settleBoth();
  const received = (await harborQueue()).find((t) => t.identifier?.[0]?.value === second.task) as Task;
  const refused = await harbor.put(`/fhir/Task/${received.id}`, { ...received, meta: undefined, status: 'rejected' });
  expect(refused.status).toBe(422);
  await harborMoves(received, 'rejected', { statusReason: { text: 'No places in the group until March' } });
  await poll();
  const task = await taskOnA(second.task);
  expect(task).toMatchObject({ status: 'rejected', statusReason: { text: 'No places in the group until March' } });
  expect(((await riverside.get(`/fhir/ServiceRequest/${second.serviceRequest}`)).body as ServiceRequest).status).toBe('revoked');
}, 60_000);

test('each call between the instances is audited at the instance that made it', async () => {
  const auditor = await registerTestClient(a.t, { role: 'auditor', scopes: ['system/AuditEvent.rs'] });
  const events = await request(a.t.bareApp).get('/fhir/AuditEvent?_count=500&type=http://dicom.nema.org/resources/ontology/DCM|110106').set('Authorization', `Bearer ${await auditor.token()}`);
  const queries = ((events.body as Bundle).entry ?? []).flatMap((e) => ((e.resource as Resource & { entity?: { query?: string }[] }).entity ?? []).flatMap((x) => (x.query ? [Buffer.from(x.query, 'base64').toString('utf8')] : [])));
  expect(queries.some((q) => q.startsWith(`POST ${B_ORIGIN}/fhir/Task`))).toBe(true);
});
