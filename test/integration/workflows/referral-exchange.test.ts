/**
 * Two CaseBridge instances, each with its own database and HTTP server, exchange referrals over
 * real HTTP (SDOHCC direct referral): Riverside (instance A) refers a client to Harbor House
 * (instance B), which has its own server. A sends the Task (the first answer is lost on the way
 * back, and the retry must not make a second Task), B takes it in (fetching the ServiceRequest,
 * the Patient and what the request sends along: a consent, a condition, a screening; one
 * reference cannot be had and is noted), matching the client Harbor already has by identifier,
 * Harbor accepts, A is restarted on its database, Harbor works and completes it with a Procedure
 * and an outcome Observation, and A records every status, fetches both and closes the loop
 * (ServiceRequest completed, goal noted with its outcome linked, case timeline). A second referral
 * is rejected with a reason; a third names a client Harbor has twice, and is flagged, not merged;
 * for later ones A's server fails to give a supporting resource for a while (the import is tried
 * again whole), then for good (it is noted). Each instance authenticates to the other with SMART
 * Backend Services.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, Condition, Consent, DocumentReference, Flag, Goal, Observation, Patient, Procedure, QuestionnaireResponse, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Fetch } from '../../../src/workflows/outbound';
import type { Workflows } from '../../../src/workflows/runtime';
import { FHIR_JSON, type TestApp, type TestClient, registerTestClient, testApp } from '../../support/app';

const A_ORIGIN = 'http://riverside.test';
const B_ORIGIN = 'http://harbor.test';
const RIVERSIDE = 'Organization/riverside';
const HARBOR = 'Organization/harbor';
const LAKESIDE = 'Organization/lakeside';
/** A client identifier both agencies record (a regional homeless management information system's). */
const HMIS = 'http://hmis.example.org/client-id';
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
/** Paths on A that B cannot reach, and for how many more tries. */
const unreachable = new Map<string, number>();

/** Outbound HTTP of the tests' instances: each origin goes to its instance's real server. */
const routed = (from: string): Fetch => async (input, init) => {
  const url = new URL(input);
  const port = ports.get(url.origin)?.();
  if (port === undefined) throw new TypeError(`fetch failed: no route to ${url.origin}`);
  const failures = from === 'B' && url.origin === A_ORIGIN ? (unreachable.get(url.pathname) ?? 0) : 0;
  if (failures > 0) {
    unreachable.set(url.pathname, failures - 1);
    throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
  }
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
  delete: (path: string) => request(instance().t.bareApp).delete(path).set('Authorization', `Bearer ${tokens[who]}`),
});
const riverside = on(() => a, 'riverside');
const harbor = on(() => b, 'harbor');
const lakeside = on(() => b, 'lakeside');

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
/** Harbor's record of the same person, made before any referral. */
let harborClient: string;

beforeAll(async () => {
  a = await start(A_ORIGIN, 'A');
  b = await start(B_ORIGIN, 'B');
  ports.set(A_ORIGIN, () => a.port);
  ports.set(B_ORIGIN, () => b.port);
  // Each agency's staff on its own server; each server's client for the other agency.
  riversideOnA = await registerTestClient(a.t, { role: 'agency', organization: RIVERSIDE, scopes: ['system/*.cruds'] });
  const harborOnB = await registerTestClient(b.t, { role: 'agency', organization: HARBOR, scopes: ['system/*.cruds'] });
  const lakesideOnB = await registerTestClient(b.t, { role: 'agency', organization: LAKESIDE, scopes: ['system/*.cruds'] });
  tokens.riverside = await riversideOnA.token();
  tokens.harbor = await harborOnB.token();
  tokens.lakeside = await lakesideOnB.token();
  const riversideClientOnB = await registerTestClient(b.t, { role: 'agency', organization: RIVERSIDE, scopes: ['system/*.crus'] });
  // Harbor's client on A reads what Riverside's referrals send along, and posts Harbor's own referrals to Riverside.
  const harborClientOnA = await registerTestClient(a.t, { role: 'agency', organization: HARBOR, scopes: ['system/*.crus'] });
  await a.workflows.context.records.partners.register(
    { id: 'harbor', name: 'Harbor House', organization: HARBOR, baseUrl: `${B_ORIGIN}/fhir`, credentials: { type: 'smart-backend', clientId: riversideClientOnB.clientId, privateJwk: riversideClientOnB.credentials.private_key as unknown as Record<string, unknown>, scope: 'system/*.crus' } },
    now(),
  );
  await b.workflows.context.records.partners.register(
    { id: 'riverside', name: 'Riverside Community Services', organization: RIVERSIDE, baseUrl: `${A_ORIGIN}/fhir`, credentials: { type: 'smart-backend', clientId: harborClientOnA.clientId, privateJwk: harborClientOnA.credentials.private_key as unknown as Record<string, unknown>, scope: 'system/*.crus' } },
    now(),
  );

  // Riverside's case: a client, the case, a goal, a consent to share with Harbor.
  const ada = { resourceType: 'Patient', identifier: [{ system: 'http://riverside.example.org/mrn', value: 'R-1001' }, { system: HMIS, value: 'HM-77' }], name: [{ family: 'Okafor', given: ['Ada'] }], gender: 'female', birthDate: '1984-07-12' };
  patient = `Patient/${(await riverside.post('/fhir/Patient', ada)).body.id}`;
  // Harbor already knows Ada (same HMIS id); Lakeside, another agency on Harbor's server, has its
  // own record of her, which Harbor may not see: the match must not find it.
  const known = await harbor.post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: HMIS, value: 'HM-77' }], name: [{ family: 'Okafor', given: ['Ada'] }], birthDate: '1984-07-12' });
  expect(known.status).toBe(201);
  harborClient = `Patient/${known.body.id}`;
  expect((await lakeside.post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: HMIS, value: 'HM-77' }], name: [{ family: 'Okafor' }] })).status).toBe(201);
  const episode = await riverside.post('/fhir/EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: patient }, managingOrganization: { reference: RIVERSIDE }, period: { start: '2026-11-01' } });
  expect(episode.status).toBe(201);
  caseId = episode.body.id;
  goal = (await riverside.post('/fhir/Goal', { resourceType: 'Goal', lifecycleStatus: 'active', achievementStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/goal-achievement', code: 'in-progress' }] }, description: { text: 'Stable housing within 90 days' }, subject: { reference: patient } })).body.id;
}, 60_000);

afterAll(async () => {
  await stop(a);
  await stop(b);
  await a.t.close();
  await b.t.close();
});

interface Referral {
  task: string;
  serviceRequest: string;
  consent: string;
  condition: string;
  screening: string;
}

/** Riverside refers `client` to Harbor: the ServiceRequest sends along a consent, a condition and a screening (and `extra` references). */
async function refer(service: string, options: { client?: string; extra?: string[]; ofCase?: boolean } = {}): Promise<Referral> {
  const { client = patient, extra = [], ofCase = true } = options;
  const consent = await riverside.post('/fhir/Consent', {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: client },
    dateTime: '2026-11-20',
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: HARBOR } }] },
  });
  expect(consent.status).toBe(201);
  const screening = await riverside.post('/fhir/QuestionnaireResponse', {
    resourceType: 'QuestionnaireResponse',
    status: 'completed',
    subject: { reference: client },
    authored: '2026-11-18T10:00:00Z',
    item: [{ linkId: 'housing', text: 'Are you worried about losing your housing?', answer: [{ valueBoolean: true }] }],
  });
  expect(screening.status).toBe(201);
  const condition = await riverside.post('/fhir/Condition', {
    resourceType: 'Condition',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [{ coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/condition-category', code: 'health-concern' }] }],
    code: { coding: [{ system: 'http://snomed.info/sct', code: '32911000', display: 'Homeless' }] },
    subject: { reference: client },
    evidence: [{ detail: [{ reference: `QuestionnaireResponse/${screening.body.id}` }] }],
    recordedDate: '2026-11-19',
  });
  expect(condition.status).toBe(201);
  const sr = await riverside.post('/fhir/ServiceRequest', {
    resourceType: 'ServiceRequest',
    ...(ofCase
      ? {
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare', valueReference: { reference: `EpisodeOfCare/${caseId}` } },
            { url: 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal', valueReference: { reference: `Goal/${goal}` } },
          ],
        }
      : {}),
    status: 'active',
    intent: 'order',
    code: { text: service },
    subject: { reference: client },
    authoredOn: '2026-11-20',
    requester: { reference: RIVERSIDE },
    performer: [{ reference: HARBOR }],
    reasonReference: [{ reference: `Condition/${condition.body.id}` }],
    supportingInfo: [{ reference: `Consent/${consent.body.id}` }, { reference: `QuestionnaireResponse/${screening.body.id}` }, ...extra.map((reference) => ({ reference }))],
  });
  expect(sr.status).toBe(201);
  const task = await riverside.post('/fhir/Task', {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    description: service,
    focus: { reference: `ServiceRequest/${sr.body.id}` },
    for: { reference: client },
    authoredOn: '2026-11-20T10:00:00Z',
    requester: { reference: RIVERSIDE },
    owner: { reference: HARBOR },
  });
  expect(task.status).toBe(201);
  return { task: task.body.id, serviceRequest: sr.body.id, consent: consent.body.id, condition: condition.body.id, screening: screening.body.id };
}

const taskOnA = async (id: string) => (await riverside.get(`/fhir/Task/${id}`)).body as Task;
const harborQueue = async () => ((await harbor.get(`/fhir/Task?owner=${HARBOR}&status=requested`)).body as Bundle).entry?.map((e) => e.resource as Task) ?? [];

async function harborMoves(task: Task, status: Task['status'], extra: Partial<Task> = {}): Promise<Task> {
  const res = await harbor.put(`/fhir/Task/${task.id}`, { ...task, meta: undefined, status, ...extra });
  expect({ status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({ status: 200, body: 'ok' });
  return res.body as Task;
}

test('a referral through its whole life between two instances, the sender restarted mid-way', async () => {
  // Besides the consent, condition and screening, the request names an Observation Riverside then deletes
  // and a resource on a third server: neither can be had, neither stops the referral.
  const gone = await riverside.post('/fhir/Observation', { resourceType: 'Observation', status: 'final', code: { text: 'Monthly income' }, subject: { reference: patient }, effectiveDateTime: '2026-11-18', valueString: 'None' });
  expect(gone.status).toBe(201);
  const elsewhere = 'http://elsewhere.test/fhir/Observation/e1';
  const first = await refer('Housing navigation', { extra: [`Observation/${gone.body.id}`, elsewhere] });
  expect((await riverside.delete(`/fhir/Observation/${gone.body.id}`)).status).toBe(200);

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

  // B took it in for the client Harbor already had (same HMIS id; Lakeside's record of her is not
  // Harbor's to see): no second record of Ada, and Harbor's record of her is left as it was.
  expect(received.for?.reference).toBe(harborClient);
  expect((((await harbor.get(`/fhir/Patient?identifier=${encodeURIComponent(`${HMIS}|HM-77`)}`)).body as Bundle).entry ?? []).map((e) => `Patient/${e.resource?.id}`)).toEqual([harborClient]);
  const client = (await harbor.get(`/fhir/${harborClient}`)).body as Patient;
  expect(client).toMatchObject({ name: [{ family: 'Okafor' }], birthDate: '1984-07-12', identifier: [{ system: HMIS, value: 'HM-77' }], meta: { versionId: '1' } });

  // Its own copy of the request (a filler order based on A's) and of what it sent along, each the
  // client's, marked with where it came from, and named by the request.
  const copy = (await harbor.get(`/fhir/${received.basedOn?.[0]?.reference as string}`)).body as ServiceRequest;
  expect(copy).toMatchObject({ intent: 'filler-order', basedOn: [{ reference: `${A_ORIGIN}/fhir/ServiceRequest/${first.serviceRequest}` }], performer: [{ reference: HARBOR }], code: { text: 'Housing navigation' } });
  const along = (copy.supportingInfo ?? []).map((r) => r.reference as string);
  expect(along.map((r) => r.split('/')[0])).toEqual(['Consent', 'QuestionnaireResponse', 'Condition', 'Goal']);
  const [consentRef, screeningRef, conditionRef, goalRef] = along as [string, string, string, string];
  expect(copy.reasonReference).toEqual([{ reference: conditionRef }]);
  // The goal the referral serves (pertainsToGoal) comes too, and Harbor's request pertains to its copy.
  expect(copy.extension).toEqual([{ url: 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal', valueReference: { reference: goalRef } }]);
  expect((await harbor.get(`/fhir/${goalRef}`)).body).toMatchObject({ subject: { reference: harborClient }, description: { text: 'Stable housing within 90 days' }, identifier: [{ system: `${A_ORIGIN}/fhir/Goal`, value: goal }] });
  const consent = (await harbor.get(`/fhir/${consentRef}`)).body as Consent;
  expect(consent).toMatchObject({ patient: { reference: harborClient }, provision: { actor: [{ reference: { reference: HARBOR } }] }, meta: { source: `${A_ORIGIN}/fhir/Consent/${first.consent}` } });
  expect(consent.identifier).toContainEqual({ system: `${A_ORIGIN}/fhir/Consent`, value: first.consent });
  const screening = (await harbor.get(`/fhir/${screeningRef}`)).body as QuestionnaireResponse;
  expect(screening).toMatchObject({ subject: { reference: harborClient }, identifier: { system: `${A_ORIGIN}/fhir/QuestionnaireResponse`, value: first.screening }, item: [{ linkId: 'housing', answer: [{ valueBoolean: true }] }] });
  const condition = (await harbor.get(`/fhir/${conditionRef}`)).body as Condition;
  // Its evidence names the screening: here, Harbor's copy of it.
  expect(condition).toMatchObject({ subject: { reference: harborClient }, code: { coding: [{ code: '32911000' }] }, evidence: [{ detail: [{ reference: screeningRef }] }] });
  expect(condition.identifier).toContainEqual({ system: `${A_ORIGIN}/fhir/Condition`, value: first.condition });
  // What could not be had is noted on the Task, for Harbor's queue (and Riverside, which reads the Task).
  expect(received.note?.map((n) => n.text)).toEqual([
    expect.stringMatching(new RegExp(`^Supporting information ${A_ORIGIN}/fhir/Observation/${gone.body.id} \\(ServiceRequest.supportingInfo\\) was not taken in: the partner answered 404`)),
    expect.stringMatching(new RegExp(`^Supporting information ${elsewhere} \\(ServiceRequest.supportingInfo\\) was not taken in: it is not on the partner's server`)),
  ]);

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
  // And what changed for her: an outcome Observation, returned with the Task.
  const measured = await harbor.post('/fhir/Observation', {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'social-history' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '71802-3', display: 'Housing status' }] },
    subject: { reference: received.for?.reference as string },
    basedOn: [{ reference: received.basedOn?.[0]?.reference as string }],
    effectiveDateTime: '2026-12-01',
    valueCodeableConcept: { text: 'Housed: lease signed' },
  });
  expect(measured.status).toBe(201);
  await harborMoves(received, 'completed', {
    output: [
      { type: { coding: [{ system: 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes', code: 'resulting-activity' }] }, valueReference: { reference: `Procedure/${procedure.body.id}` } },
      { type: { text: 'Outcome' }, valueReference: { reference: `Observation/${measured.body.id}` } },
    ],
  });
  await poll();

  // A went through every status in order, recorded the Procedure and closed the loop.
  const history = ((await riverside.get(`/fhir/Task/${first.task}/_history`)).body as Bundle).entry?.map((e) => (e.resource as Task).status).reverse();
  expect(history).toEqual(['requested', 'accepted', 'in-progress', 'completed']);
  const done = await taskOnA(first.task);
  const outputs = (done.output ?? []).map((o) => o.valueReference?.reference as string);
  const output = outputs.find((r) => r.startsWith('Procedure/')) as string;
  const observed = outputs.find((r) => r.startsWith('Observation/')) as string;
  expect(outputs).toEqual([output, observed]);
  const outcome = (await riverside.get(`/fhir/${output}`)).body as Procedure;
  expect(outcome).toMatchObject({ status: 'completed', code: { text: 'Housing application filed' }, subject: { reference: patient }, basedOn: [{ reference: `ServiceRequest/${first.serviceRequest}` }], performedDateTime: '2026-12-01' });
  // The Procedure pertains to the goal the referral served (SDOHCC Procedure pertainsToGoal).
  expect(outcome.extension).toContainEqual({ url: 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal', valueReference: { reference: `Goal/${goal}` } });
  const observation = (await riverside.get(`/fhir/${observed}`)).body as Observation;
  expect(observation).toMatchObject({ subject: { reference: patient }, basedOn: [{ reference: `ServiceRequest/${first.serviceRequest}` }], valueCodeableConcept: { text: 'Housed: lease signed' } });
  expect(observation.identifier).toContainEqual({ system: `${B_ORIGIN}/fhir/Observation`, value: measured.body.id });
  expect(((await riverside.get(`/fhir/ServiceRequest/${first.serviceRequest}`)).body as ServiceRequest).status).toBe('completed');
  // The goal: noted, its outcome linked (Goal.outcomeReference), its achievement left to the case manager.
  const served = (await riverside.get(`/fhir/Goal/${goal}`)).body as Goal;
  expect(served.note?.map((n) => n.text)).toContain('Referral completed by Harbor House');
  expect(served.outcomeReference).toEqual([{ reference: observed }]);
  expect(served.achievementStatus).toEqual({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/goal-achievement', code: 'in-progress' }] });
  const events = ((await riverside.get(`/fhir/DocumentReference?patient=${patient}`)).body as Bundle).entry?.map((e) => e.resource as DocumentReference) ?? [];
  const event = events.find((d) => d.description === 'Referral outcome');
  expect(Buffer.from(event?.content[0]?.attachment.data as string, 'base64').toString('utf8')).toBe(`Referral completed by Harbor House. Outcome: ${output}, ${observed}.`);

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
  // Ada again: the same client at Harbor.
  expect(received.for?.reference).toBe(harborClient);
  const refused = await harbor.put(`/fhir/Task/${received.id}`, { ...received, meta: undefined, status: 'rejected' });
  expect(refused.status).toBe(422);
  await harborMoves(received, 'rejected', { statusReason: { text: 'No places in the group until March' } });
  await poll();
  const task = await taskOnA(second.task);
  expect(task).toMatchObject({ status: 'rejected', statusReason: { text: 'No places in the group until March' } });
  expect(((await riverside.get(`/fhir/ServiceRequest/${second.serviceRequest}`)).body as ServiceRequest).status).toBe('revoked');
}, 60_000);

test('a client Harbor has twice is not merged: a new client, flagged for its case manager, and Riverside is told nothing of the others', async () => {
  const ben = await riverside.post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: HMIS, value: 'HM-88' }], name: [{ family: 'Adeyemi', given: ['Ben'] }], birthDate: '1990-03-02' });
  const twins: string[] = [];
  for (const given of ['Ben', 'Benjamin']) {
    const made = await harbor.post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: HMIS, value: 'HM-88' }], name: [{ family: 'Adeyemi', given: [given] }] });
    expect(made.status).toBe(201);
    twins.push(`Patient/${made.body.id}`);
  }
  const third = await refer('Food pantry enrollment', { client: `Patient/${ben.body.id}`, ofCase: false });
  await settleBoth();
  const received = (await harborQueue()).find((t) => t.identifier?.[0]?.value === third.task) as Task;
  const client = received.for?.reference as string;
  expect(client).toMatch(/^Patient\//);
  expect(twins).not.toContain(client);
  expect(((await harbor.get(`/fhir/${client}`)).body as Patient).identifier).toEqual([{ system: HMIS, value: 'HM-88' }, { system: `${A_ORIGIN}/fhir/Patient`, value: ben.body.id }]);
  const flags = (((await harbor.get(`/fhir/Flag?patient=${client}`)).body as Bundle).entry ?? []).map((e) => e.resource as Flag);
  expect(flags).toHaveLength(1);
  expect(flags[0]).toMatchObject({ status: 'active', category: [{ coding: [{ code: 'admin' }] }], extension: [{ valueReference: { reference: `Task/${received.id}` } }] });
  for (const twin of twins) expect(flags[0]?.code.text).toContain(twin);
  // The Task Riverside reads names none of Harbor's other clients.
  const seenByRiverside = JSON.stringify(received);
  for (const twin of twins) expect(seenByRiverside).not.toContain(twin.split('/')[1]);
}, 60_000);

test('a supporting resource the partner cannot give for a while: the import is tried again whole, and takes everything in once', async () => {
  const fourth = await refer('Benefits check');
  unreachable.set(`/fhir/Condition/${fourth.condition}`, 2);
  await settleBoth();
  const waiting = (await harborQueue()).find((t) => t.identifier?.[0]?.value === fourth.task) as Task;
  // Not taken in yet: nothing of it is recorded at Harbor.
  expect(waiting.basedOn).toBeUndefined();
  expect(waiting.for?.reference).toBe(`${A_ORIGIN}/fhir/${patient}`);
  const copiesOf = async (type: string, id: string) => (((await harbor.get(`/fhir/${type}?identifier=${encodeURIComponent(`${A_ORIGIN}/fhir/${type}|${id}`)}`)).body as Bundle).entry ?? []).length;
  expect(await copiesOf('Consent', fourth.consent)).toBe(0);
  for (let i = 0; i < 2; i++) {
    clock += 10 * 60_000;
    await settleBoth();
  }
  expect(unreachable.get(`/fhir/Condition/${fourth.condition}`)).toBe(0);
  const received = (await harbor.get(`/fhir/Task/${waiting.id}`)).body as Task;
  expect(received.for?.reference).toBe(harborClient);
  expect(received.note).toBeUndefined();
  const copy = (await harbor.get(`/fhir/${received.basedOn?.[0]?.reference as string}`)).body as ServiceRequest;
  expect(copy.supportingInfo?.map((r) => (r.reference as string).split('/')[0])).toEqual(['Consent', 'QuestionnaireResponse', 'Condition', 'Goal']);
  expect([await copiesOf('Consent', fourth.consent), await copiesOf('Condition', fourth.condition), await copiesOf('ServiceRequest', fourth.serviceRequest)]).toEqual([1, 1, 1]);

  // One that stays out of reach is noted after the fourth attempt, and the referral goes ahead without it.
  const fifth = await refer('Legal aid');
  unreachable.set(`/fhir/Condition/${fifth.condition}`, 100);
  await settleBoth();
  for (let i = 0; i < 3; i++) {
    clock += 10 * 60_000;
    await settleBoth();
  }
  expect(unreachable.get(`/fhir/Condition/${fifth.condition}`)).toBe(96);
  const late = (await harborQueue()).find((t) => t.identifier?.[0]?.value === fifth.task) as Task;
  expect(late.basedOn?.[0]?.reference).toMatch(/^ServiceRequest\//);
  expect(late.note?.map((n) => n.text)).toEqual([`Supporting information ${A_ORIGIN}/fhir/Condition/${fifth.condition} (ServiceRequest.reasonReference) was not taken in: the partner could not be reached`]);
}, 60_000);

test('a client Riverside referred comes back in a referral from Harbor: Riverside files it under its own record, found by its own id', async () => {
  // Dee has no business identifier: only Riverside's id of her travels, on Harbor's record of her.
  const dee = `Patient/${(await riverside.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Moreau', given: ['Dee'] }], birthDate: '1979-05-30' })).body.id}`;
  const out = await refer('Employment coaching', { client: dee, ofCase: false });
  await settleBoth();
  const there = (await harborQueue()).find((t) => t.identifier?.[0]?.value === out.task) as Task;
  const harborDee = there.for?.reference as string;
  expect(((await harbor.get(`/fhir/${harborDee}`)).body as Patient).identifier).toEqual([{ system: `${A_ORIGIN}/fhir/Patient`, value: dee.split('/')[1] }]);

  // Harbor refers her to Riverside in turn, from its own server.
  const sr = await harbor.post('/fhir/ServiceRequest', { resourceType: 'ServiceRequest', status: 'active', intent: 'order', code: { text: 'Tenancy support' }, subject: { reference: harborDee }, authoredOn: '2026-12-02', requester: { reference: HARBOR }, performer: [{ reference: RIVERSIDE }] });
  expect(sr.status).toBe(201);
  const back = await harbor.post('/fhir/Task', {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    focus: { reference: `ServiceRequest/${sr.body.id}` },
    for: { reference: harborDee },
    authoredOn: '2026-12-02T09:00:00Z',
    requester: { reference: HARBOR },
    owner: { reference: RIVERSIDE },
  });
  expect(back.status).toBe(201);
  await settleBoth();
  await settleBoth();
  const atRiverside = ((await riverside.get(`/fhir/Task?owner=${RIVERSIDE}&status=requested`)).body as Bundle).entry?.map((e) => e.resource as Task) ?? [];
  const received = atRiverside.find((t) => t.identifier?.some((i) => i.value === back.body.id)) as Task;
  expect(received.basedOn?.[0]?.reference).toMatch(/^ServiceRequest\//);
  expect(received.for?.reference).toBe(dee);
  // No second record of Dee at Riverside.
  expect((((await riverside.get('/fhir/Patient?family=Moreau')).body as Bundle).entry ?? []).map((e) => `Patient/${e.resource?.id}`)).toEqual([dee]);
}, 60_000);

test('each call between the instances is audited at the instance that made it', async () => {
  const auditor = await registerTestClient(a.t, { role: 'auditor', scopes: ['system/AuditEvent.rs'] });
  const events = await request(a.t.bareApp).get('/fhir/AuditEvent?_count=500&type=http://dicom.nema.org/resources/ontology/DCM|110106').set('Authorization', `Bearer ${await auditor.token()}`);
  const queries = ((events.body as Bundle).entry ?? []).flatMap((e) => ((e.resource as Resource & { entity?: { query?: string }[] }).entity ?? []).flatMap((x) => (x.query ? [Buffer.from(x.query, 'base64').toString('utf8')] : [])));
  expect(queries.some((q) => q.startsWith(`POST ${B_ORIGIN}/fhir/Task`))).toBe(true);
});
