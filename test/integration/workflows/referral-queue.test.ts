/**
 * The "light" receiving agency (SDOHCC Direct Light): it has no FHIR server of its own and works
 * its queue of referrals on ours, with its own token — Task?owner=…&status=requested, accept or
 * reject with a reason, in progress, completed with a Procedure. The Task's state machine holds
 * for every writer: an invalid move is 422 naming the statuses allowed next, and the requester
 * cannot make the owner's moves. Real tokens, over HTTP, on FerretDB.
 */
import type { Bundle, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import { bearerRequests, FHIR_JSON, registerTestClient, type TestApp, testApp } from '../../support/app';

const RIVERSIDE = 'Organization/riverside';
const HARBOR = 'Organization/harbor';

let t: TestApp;
const tokens: Record<string, string> = {};
const as = (who: string) => bearerRequests(t.bareApp, tokens[who]);

let patient: string;
let serviceRequest: string;

beforeAll(async () => {
  t = await testApp();
  const everything = ['system/*.cruds'];
  const clients = {
    riverside: await registerTestClient(t, { role: 'agency', organization: RIVERSIDE, scopes: everything }),
    harbor: await registerTestClient(t, { role: 'agency', organization: HARBOR, scopes: everything }),
    other: await registerTestClient(t, { role: 'agency', organization: 'Organization/elsewhere', scopes: everything }),
  };
  for (const [name, client] of Object.entries(clients)) tokens[name] = await client.token();
  const created = await as('riverside').post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Okafor' }] });
  patient = `Patient/${created.body.id}`;
  const sr = await as('riverside').post('/fhir/ServiceRequest', {
    resourceType: 'ServiceRequest',
    status: 'active',
    intent: 'order',
    code: { text: 'Housing search assistance' },
    subject: { reference: patient },
    requester: { reference: RIVERSIDE },
    performer: [{ reference: HARBOR }],
    authoredOn: '2025-02-01',
  });
  serviceRequest = `ServiceRequest/${sr.body.id}`;
});
afterAll(async () => {
  await t.close();
});

function referralTask(extra: Partial<Task> = {}): Task {
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    focus: { reference: serviceRequest },
    for: { reference: patient },
    authoredOn: '2025-02-01T10:00:00Z',
    requester: { reference: RIVERSIDE },
    owner: { reference: HARBOR },
    ...extra,
  };
}

async function send(extra: Partial<Task> = {}): Promise<Task & { id: string }> {
  const res = await as('riverside').post('/fhir/Task', referralTask(extra));
  expect(res.status).toBe(201);
  return res.body;
}

/** The owner (or whoever) moves the Task to `status`; answers the response. */
async function move(who: string, task: Task & { id: string }, status: Task['status'], extra: Partial<Task> = {}) {
  const current = (await as(who).get(`/fhir/Task/${task.id}`)).body as Task;
  const { meta: _meta, statusReason: _reason, ...rest } = current;
  return as(who).put(`/fhir/Task/${task.id}`, { ...rest, status, ...extra });
}

test('the receiving agency finds its queue, works a referral to completion and records what it did', async () => {
  const task = await send();
  const queue = await as('harbor').get(`/fhir/Task?owner=${HARBOR}&status=requested&_include=Task:focus&_include=Task:patient`);
  expect(queue.status).toBe(200);
  const found = (queue.body as Bundle).entry?.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`) ?? [];
  expect(found).toEqual(expect.arrayContaining([`Task/${task.id}`, serviceRequest, patient]));
  expect((await as('other').get(`/fhir/Task/${task.id}`)).status).toBe(404);

  expect((await move('harbor', task, 'accepted')).status).toBe(200);
  expect((await move('harbor', task, 'in-progress')).status).toBe(200);
  const procedure = await as('harbor').post('/fhir/Procedure', {
    resourceType: 'Procedure',
    status: 'completed',
    basedOn: [{ reference: serviceRequest }],
    code: { text: 'Housing search assistance' },
    subject: { reference: patient },
    performedDateTime: '2025-03-01',
    performer: [{ actor: { reference: HARBOR } }],
  });
  expect(procedure.status).toBe(201);
  const done = await move('harbor', task, 'completed', {
    output: [{ type: { coding: [{ system: 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes', code: 'resulting-activity' }] }, valueReference: { reference: `Procedure/${procedure.body.id}` } }],
  });
  expect(done.status).toBe(200);
  // The referring agency sees the outcome.
  const outcome = await as('riverside').get(`/fhir/Procedure?based-on=${serviceRequest}`);
  expect((outcome.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual([procedure.body.id]);
});

test('requested → completed directly: 422 naming accepted and rejected; nothing written', async () => {
  const task = await send();
  const res = await move('harbor', task, 'completed');
  expect(res.status).toBe(422);
  expect(res.body.issue[0]).toMatchObject({ code: 'business-rule', expression: ['Task.status'] });
  expect(res.body.issue[0].diagnostics).toMatch(/may move it to accepted, rejected, not completed/);
  expect((await as('harbor').get(`/fhir/Task/${task.id}`)).body.meta.versionId).toBe('1');
});

test('rejected needs a reason: 422 at statusReason without one, 200 with one', async () => {
  const task = await send();
  const bare = await move('harbor', task, 'rejected');
  expect(bare.status).toBe(422);
  expect(bare.body.issue[0].expression).toEqual(['Task.statusReason']);
  const reasoned = await move('harbor', task, 'rejected', { statusReason: { text: 'No capacity until autumn' } });
  expect(reasoned.status).toBe(200);
  expect(reasoned.body.statusReason.text).toBe('No capacity until autumn');
});

test('the requester cannot make the owner’s moves, and cancels only with a reason', async () => {
  const task = await send();
  const accept = await move('riverside', task, 'accepted');
  expect(accept.status).toBe(422);
  expect(accept.body.issue[0].diagnostics).toMatch(/as its requester .* cancelled, entered-in-error, not accepted/);
  expect((await move('riverside', task, 'cancelled')).status).toBe(422);
  expect((await move('riverside', task, 'cancelled', { statusReason: { text: 'Client moved away' } })).status).toBe(200);
});

test('a referral is created as sent or as a draft, by its requester', async () => {
  const accepted = await as('riverside').post('/fhir/Task', referralTask({ status: 'accepted' }));
  expect(accepted.status).toBe(422);
  expect(accepted.body.issue[0].diagnostics).toMatch(/A new referral is draft, requested, not accepted/);
  const forged = await as('harbor').post('/fhir/Task', referralTask());
  expect(forged.status).toBe(403);
});

test('a transaction Bundle with an invalid move fails as a whole', async () => {
  const task = await send();
  const current = (await as('harbor').get(`/fhir/Task/${task.id}`)).body as Task;
  const { meta: _meta, ...rest } = current;
  const res = await request(t.bareApp)
    .post('/fhir')
    .set('Authorization', `Bearer ${tokens.harbor}`)
    .set('Content-Type', FHIR_JSON)
    .send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...rest, status: 'completed' }, request: { method: 'PUT', url: `Task/${task.id}` } }] }));
  expect(res.status).toBe(422);
  expect((await as('harbor').get(`/fhir/Task/${task.id}`)).body.status).toBe('requested');
});
