/**
 * Subscriptions delivered to a local endpoint: R4 criteria subscriptions (the resource PUT to
 * [endpoint]/[type]/[id], or an empty POST) and backport topic subscriptions (a notification
 * Bundle, id-only or full-resource), each as the subscriber may see the data; an endpoint that is
 * down for a while gets everything once it is back, in order, the Subscription in `error`
 * meanwhile; two instances deliver each notification once. Workers are driven round by round
 * with their own clock — no sleeps.
 */
import type { Bundle, Parameters, Subscription, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import { bearerRequests, FHIR_JSON, registerTestClient, type TestApp, testApp } from '../../support/app';
import { type Listener, listener } from '../../support/listener';
import type { Workflows } from '../../../src/workflows/runtime';
import { validateResource } from '../../../src/fhir/validation';

const EHR = 'Organization/st-mary';
const AGENCY = 'Organization/riverside';
const TASK_TOPIC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Task';
const FILTER = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria';
const CONTENT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';

let t: TestApp;
let endpoint: Listener;
let workflows: Workflows;
let clock = Date.now();
const tokens: Record<string, string> = {};
let patient: string;
let hidden: string;

const as = (who: string) => bearerRequests(t.bareApp, tokens[who]);

beforeAll(async () => {
  endpoint = await listener();
  t = await testApp({ env: { SUBSCRIPTION_ENDPOINT_ORIGINS: endpoint.origin } });
  workflows = await t.workflows({ now: () => new Date(clock) });
  const ehr = await registerTestClient(t, { role: 'ehr', organization: EHR, scopes: ['system/Subscription.crus', 'system/Task.rs', 'system/Observation.rs', 'system/Patient.rs'] });
  const agency = await registerTestClient(t, { role: 'agency', organization: AGENCY, scopes: ['system/*.cruds'] });
  tokens.ehr = await ehr.token();
  tokens.agency = await agency.token();
  // The agency's client, with the hospital on the care team; and a client the hospital has nothing to do with.
  patient = `Patient/${(await as('agency').post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Okafor' }] })).body.id}`;
  hidden = `Patient/${(await as('agency').post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Hidden' }] })).body.id}`;
  const team = await as('agency').post('/fhir/CareTeam', { resourceType: 'CareTeam', status: 'active', subject: { reference: patient }, participant: [{ member: { reference: EHR } }] });
  expect(team.status).toBe(201);
});
afterAll(async () => {
  await endpoint.close();
  await t.close();
});

function subscription(extra: Record<string, unknown>): Subscription {
  return { resourceType: 'Subscription', status: 'requested', reason: 'test', criteria: 'Observation', channel: { type: 'rest-hook', endpoint: `${endpoint.origin}/hook` }, ...extra } as Subscription;
}

function task(forPatient: string, status: Task['status'] = 'requested'): Task {
  return {
    resourceType: 'Task',
    status,
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    for: { reference: forPatient },
    authoredOn: '2025-02-01T10:00:00Z',
    requester: { reference: AGENCY },
    owner: { reference: 'Organization/harbor' },
  };
}

async function subscribe(body: Subscription): Promise<string> {
  const res = await as('ehr').post('/fhir/Subscription', body);
  expect(res.status).toBe(201);
  await workflows.settle();
  const active = (await as('ehr').get(`/fhir/Subscription/${res.body.id}`)).body as Subscription;
  expect(active.status).toBe('active');
  return res.body.id as string;
}

async function turnOff(id: string): Promise<void> {
  const current = (await as('ehr').get(`/fhir/Subscription/${id}`)).body as Subscription;
  expect((await as('ehr').put(`/fhir/Subscription/${id}`, { ...current, status: 'off' })).status).toBe(200);
}

const since = (n: number) => endpoint.received.slice(n);

describe('what a subscription may ask for', () => {
  test.each([
    ['an endpoint at an origin nobody allowed', { channel: { type: 'rest-hook', endpoint: 'https://elsewhere.example.org/hook' } }, 'Subscription.channel.endpoint'],
    ['an email channel', { channel: { type: 'email', endpoint: 'mailto:someone@example.org' } }, 'Subscription.channel.type'],
    ['criteria that are not a search', { criteria: 'Observation?colour=blue' }, 'Subscription.criteria'],
    ['result parameters in the criteria', { criteria: 'Observation?_count=5' }, 'Subscription.criteria'],
    ['an unknown topic', { criteria: 'http://example.org/SubscriptionTopic/everything' }, 'Subscription.criteria'],
    ['XML notifications', { channel: { type: 'rest-hook', endpoint: 'LISTENER/hook', payload: 'application/fhir+xml' } }, 'Subscription.channel.payload'],
    ['a Host header', { channel: { type: 'rest-hook', endpoint: 'LISTENER/hook', header: ['Host: evil.example.org'] } }, 'Subscription.channel.header[0]'],
    ['the active status, which the server sets', { status: 'active' }, 'Subscription.status'],
  ])('refuses %s: 422 located', async (_title, extra, where) => {
    const body = JSON.parse(JSON.stringify(subscription(extra as Partial<Subscription>)).replaceAll('LISTENER', endpoint.origin)) as Subscription;
    const res = await as('ehr').post('/fhir/Subscription', body);
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual([where]);
  });

  test('refuses a subscription to what the client may not search: 403', async () => {
    const res = await as('ehr').post('/fhir/Subscription', subscription({ criteria: 'Condition' }));
    expect(res.status).toBe(403);
  });
});

test('criteria with a payload: each matching resource PUT to [endpoint]/[type]/[id], only what the subscriber may see', async () => {
  const id = await subscribe(subscription({ criteria: `Observation?code=http://loinc.org|44261-6`, channel: { type: 'rest-hook', endpoint: `${endpoint.origin}/fhir`, payload: FHIR_JSON, header: ['Authorization: Bearer listener-secret'] } }));
  const before = endpoint.received.length;
  const observation = (score: number, subject: string) => ({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '44261-6' }] }, subject: { reference: subject }, valueInteger: score });
  const visible = (await as('agency').post('/fhir/Observation', observation(12, patient))).body.id as string;
  await as('agency').post('/fhir/Observation', observation(3, hidden));
  await workflows.settle();
  const got = since(before);
  expect(got.map((r) => [r.method, r.url])).toEqual([['PUT', `/fhir/Observation/${visible}`]]);
  expect(got[0]?.headers.authorization).toBe('Bearer listener-secret');
  expect(JSON.parse(got[0]?.body as string)).toMatchObject({ resourceType: 'Observation', id: visible, valueInteger: 12 });
  await turnOff(id);
});

test('criteria without a payload: an empty POST to the endpoint', async () => {
  const id = await subscribe(subscription({ criteria: `Patient?_id=${patient.split('/')[1]}` }));
  const before = endpoint.received.length;
  const current = (await as('agency').get(`/fhir/${patient}`)).body;
  await as('agency').put(`/fhir/${patient}`, { ...current, gender: 'female' });
  await workflows.settle();
  expect(since(before).map((r) => [r.method, r.url, r.body])).toEqual([['POST', '/hook', '']]);
  await turnOff(id);
});

test('a backport topic subscription (SDOHCC Task, id-only): a notification Bundle naming the Task', async () => {
  const id = await subscribe(
    subscription({
      criteria: TASK_TOPIC,
      _criteria: { extension: [{ url: FILTER, valueString: 'Task?requester=Organization/riverside' }] },
      channel: { type: 'rest-hook', endpoint: `${endpoint.origin}/notify`, payload: FHIR_JSON, _payload: { extension: [{ url: CONTENT, valueCode: 'id-only' }] } },
    }),
  );
  const before = endpoint.received.length;
  const created = (await as('agency').post('/fhir/Task', task(patient))).body as Task & { id: string };
  await as('agency').post('/fhir/Task', task(hidden));
  await workflows.settle();
  const got = since(before);
  expect(got).toHaveLength(1);
  const bundle = JSON.parse(got[0]?.body as string) as Bundle;
  expect(bundle.type).toBe('history');
  expect(validateResource(bundle).filter((i) => i.severity === 'error')).toEqual([]);
  const status = bundle.entry?.[0]?.resource as Parameters;
  const value = (name: string) => status.parameter?.find((p) => p.name === name);
  expect(value('subscription')?.valueReference?.reference).toBe(`${t.config.baseUrl}/Subscription/${id}`);
  expect(value('topic')?.valueCanonical).toBe(TASK_TOPIC);
  expect(value('type')?.valueCode).toBe('event-notification');
  const event = value('notification-event')?.part;
  expect(event?.find((p) => p.name === 'focus')?.valueReference?.reference).toBe(`${t.config.baseUrl}/Task/${created.id}`);
  expect(event?.find((p) => p.name === 'event-number')?.valueString).toBe('1');
  // id-only: the subscriber reads the Task itself.
  expect(bundle.entry).toHaveLength(1);
  await turnOff(id);
});

describe('an endpoint that is down for a while', () => {
  test('the Subscription goes to error after repeated failures, writes are not held up, and everything arrives in order once it is back', async () => {
    const id = await subscribe(
      subscription({
        criteria: TASK_TOPIC,
        _criteria: { extension: [{ url: FILTER, valueString: 'Task?requester=Organization/riverside' }] },
        channel: { type: 'rest-hook', endpoint: `${endpoint.origin}/down-for-a-while`, payload: FHIR_JSON, _payload: { extension: [{ url: CONTENT, valueCode: 'full-resource' }] } },
      }),
    );
    endpoint.down = true;
    const before = endpoint.received.length;
    const written: string[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const res = await as('agency').post('/fhir/Task', { ...task(patient), description: `task ${i}` });
      expect(res.status).toBe(201);
      // The write does not wait on the endpoint.
      expect(Date.now() - started).toBeLessThan(2000);
      written.push(res.body.id as string);
    }
    await workflows.settle();
    // Three failed attempts (the first notification; the others wait behind it), each after its backoff.
    for (let attempt = 0; attempt < 3; attempt++) {
      clock += 3_600_000;
      await workflows.settle();
    }
    const failing = (await as('ehr').get(`/fhir/Subscription/${id}`)).body as Subscription;
    expect(failing.status).toBe('error');
    expect(failing.error).toMatch(/HTTP 503/);
    const attemptsWhileDown = since(before);
    expect(attemptsWhileDown.length).toBeGreaterThanOrEqual(3);
    expect(new Set(attemptsWhileDown.map((r) => (JSON.parse(r.body) as Bundle).entry?.[1]?.resource?.id))).toEqual(new Set([written[0]]));

    endpoint.down = false;
    const back = endpoint.received.length;
    clock += 3_600_000;
    await workflows.settle();
    const delivered = since(back).map((r) => (JSON.parse(r.body) as Bundle).entry?.[1]?.resource as Task);
    expect(delivered.map((d) => d.id)).toEqual(written);
    expect(delivered.map((d) => d.description)).toEqual(['task 0', 'task 1', 'task 2']);
    const recovered = (await as('ehr').get(`/fhir/Subscription/${id}`)).body as Subscription;
    expect(recovered.status).toBe('active');
    expect(recovered.error).toBeUndefined();
    await turnOff(id);
  });
});

test('two instances on one database deliver each notification once; each delivery is audited', async () => {
  const second = await t.workflows({ now: () => new Date(clock), instanceId: 'second' });
  const id = await subscribe(subscription({ criteria: `Task?requester=${AGENCY}`, channel: { type: 'rest-hook', endpoint: `${endpoint.origin}/twice` } }));
  const before = endpoint.received.length;
  for (let i = 0; i < 5; i++) await as('agency').post('/fhir/Task', task(patient));
  await Promise.all([workflows.settle(), second.settle()]);
  expect(since(before).filter((r) => r.url === '/twice')).toHaveLength(5);
  const auditor = await registerTestClient(t, { role: 'auditor', scopes: ['system/AuditEvent.rs'] });
  const events = await request(t.bareApp)
    .get(`/fhir/AuditEvent?entity=Subscription/${id}&type=http://dicom.nema.org/resources/ontology/DCM|110106&_count=50`)
    .set('Authorization', `Bearer ${await auditor.token()}`);
  const exports = (events.body as Bundle).entry?.map((e) => e.resource as { type: { code: string }; outcome: string }) ?? [];
  expect(exports).toHaveLength(5);
  expect(exports.every((e) => e.type.code === '110106' && e.outcome === '0')).toBe(true);
  await turnOff(id);
});
