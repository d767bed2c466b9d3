// Every answer of /cm/v1 validates against the OpenAPI document's schema for its path, method and
// status: a walk through a case's life (every command, the view at each stage, the caseload, the
// reports) and its errors (400, 404, 405, 409, 422), each answer checked as it comes.
import type { ValidateFunction } from 'ajv/dist/2020';
import request from 'supertest';
import { openApiDocument } from '../../../src/casemgmt/openapi';
import { caseApiAjv } from '../../../src/casemgmt/payload';
import { type CaseApiHarness, caseApiHarness, refsOf } from './case-api-support';

type Json = Record<string, unknown>;
const doc = openApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Json }> }> }>>; components: { schemas: Record<string, Json> } };
const ajv = caseApiAjv();
const compiled = new Map<string, ValidateFunction>();
const checked: string[] = [];

function operationOf(path: string): string {
  const bare = path.split('?')[0] as string;
  const found = Object.keys(doc.paths).find((template) => new RegExp(`^${template.replace(/\{[A-Za-z]+\}/g, '[^/]+')}$`).test(bare));
  if (!found) throw new Error(`No path in the OpenAPI document for ${bare}`);
  return found;
}

function check(method: string, path: string, res: { status: number; body: unknown; text: string; headers: Record<string, string> }): void {
  const template = operationOf(path);
  const operation = doc.paths[template]?.[method];
  if (!operation) throw new Error(`${method} ${template} is not in the document (answered ${res.status})`);
  const response = operation.responses[String(res.status)];
  if (!response) throw new Error(`${method} ${template} answered ${res.status}, which the document does not list`);
  const [type, media] = Object.entries(response.content ?? {})[0] ?? [];
  if (!type || !media) return;
  expect(res.headers['content-type']).toContain(type === 'application/json' ? 'application/json' : type);
  let schema = media.schema;
  if (typeof schema.$ref === 'string') schema = doc.components.schemas[schema.$ref.split('/').pop() as string] as Json;
  const key = `${method} ${template} ${res.status}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(key, validate);
  }
  const body = type === 'text/csv' ? res.text : res.body;
  if (!validate(body)) throw new Error(`${method.toUpperCase()} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}`);
  checked.push(key);
}

let h: CaseApiHarness;
const post = async (path: string, body: unknown) => {
  const res = await h.command(path, body);
  check('post', path, res);
  return res;
};
const get = async (path: string) => {
  const res = await h.get(path);
  check('get', path, res);
  return res;
};

beforeAll(async () => {
  h = await caseApiHarness();
});
afterAll(async () => {
  await h.t.close();
});

test('a case from intake to evaluation: every answer matches its schema', async () => {
  const opened = await post('/cases', {
    client: { identifier: { system: 'urn:agency:clients', value: 'OAS-1' }, name: { family: 'Rivera', given: ['Luz'] }, gender: 'female' },
    caseManager: 'PractitionerRole/cm-1',
    agency: 'Organization/agency',
    opened: '2025-01-20',
    status: 'planned',
    programme: 'targeted-case-management',
    presentingProblems: [{ description: 'Anxiety' }],
  });
  const caseId = (opened.body.case as string).split('/')[1] as string;
  const clientId = (refsOf(opened.body, 'Patient')[0] as string).split('/')[1] as string;
  await get(`/cases/${caseId}`);
  await post(`/cases/${caseId}/status`, { status: 'active', date: '2025-01-21' });
  await post(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers: [2, 2, 2, 2, 1, 1, 1, 1, 1], authored: '2025-01-22T10:00:00Z' });
  await post(`/cases/${caseId}/risk`, { level: 'high', rationale: 'Item 9 positive', assessed: '2025-01-22T11:00:00Z' });
  await post(`/cases/${caseId}/assessments`, { authored: '2025-01-23T10:00:00Z', domains: { housing: { need: 'need' }, income: { need: 'no-need' } } });
  const plan = await post(`/cases/${caseId}/plan`, {
    start: '2025-01-24',
    goals: [{ key: 'a', description: 'Reduce anxiety' }],
    objectives: [{ goal: 'a', description: 'Breathe', measure: { text: 'min/d' }, target: { value: 10 }, due: '2025-04-30' }],
    interventions: [{ service: { text: 'CBT' }, goal: 'a' }],
  });
  const objective = (await h.fhir(`Goal?_id=${refsOf(plan.body, 'Goal').map((r) => r.split('/')[1]).join(',')}&description:contains=Breathe`)).body.entry?.[0]?.resource?.id;
  await post(`/cases/${caseId}/objectives/${objective}/progress`, { date: '2025-02-10', value: 12 });
  const goalA = refsOf(plan.body, 'Goal')[0] as string;
  await post(`/cases/${caseId}/plan/revisions`, { start: '2025-02-15', reason: 'Review', goals: [{ key: 'a', id: goalA }] });
  const putPath = `/cases/${caseId}/plan`;
  const put = await h.command(putPath, { start: '2025-02-20', reason: 'Second review', goals: [{ key: 'a', id: goalA }] }, { method: 'put' });
  check('put', putPath, put);
  const referral = await post(`/cases/${caseId}/referrals`, { service: { text: 'Housing' }, to: 'Organization/housing-partner', reason: 'Arrears', authored: '2025-01-25T10:00:00Z' });
  await post(`/cases/${caseId}/referrals/${(refsOf(referral.body, 'ServiceRequest')[0] as string).split('/')[1]}/status`, { status: 'accepted' });
  const booked = await post(`/cases/${caseId}/appointments`, { start: '2025-03-10T17:00:00Z', end: '2025-03-10T18:00:00Z', service: 'targeted-case-management' });
  const appointmentId = (refsOf(booked.body, 'Appointment')[0] as string).split('/')[1];
  await post(`/cases/${caseId}/appointments/${appointmentId}/reschedule`, { start: '2025-03-11T17:00:00Z', end: '2025-03-11T18:00:00Z', reason: 'Clash' });
  await post(`/cases/${caseId}/appointments/${appointmentId}/attended`, { note: 'Went well.' });
  const second = await post(`/cases/${caseId}/appointments`, { start: '2025-03-20T17:00:00Z', end: '2025-03-20T18:00:00Z' });
  await post(`/cases/${caseId}/appointments/${(refsOf(second.body, 'Appointment')[0] as string).split('/')[1]}/no-show`, {});
  await h.fhir(`Appointment?patient=Patient/${clientId}`);
  const contact = await post(`/cases/${caseId}/contacts`, { type: 'phone-call', start: '2025-03-03T16:00:00Z', end: '2025-03-03T16:20:00Z', note: 'Call.', service: 'case-management' });
  await post(`/cases/${caseId}/events`, { category: 'crisis', note: 'Crisis call', date: '2025-03-04T10:00:00Z' });
  const consent = await post(`/cases/${caseId}/consents`, { kind: 'disclosure', recipients: ['Organization/housing-partner'], date: '2025-02-01' });
  await post(`/cases/${caseId}/consents/${(refsOf(consent.body, 'Consent')[0] as string).split('/')[1]}/revoke`, { date: '2025-03-01' });
  const third = await post(`/cases/${caseId}/appointments`, { start: '2025-03-21T17:00:00Z', end: '2025-03-21T18:00:00Z' });
  await post(`/cases/${caseId}/appointments/${(refsOf(third.body, 'Appointment')[0] as string).split('/')[1]}/cancel`, { by: 'client', reason: 'Sick' });
  await post(`/cases/${caseId}/status`, { status: 'onhold', reason: 'Hospital stay', date: '2025-03-25' });
  await get(`/cases/${caseId}`);
  await post(`/cases/${caseId}/status`, { status: 'active', date: '2025-04-01' });
  await post(`/cases/${caseId}/reassign`, { caseManager: 'PractitionerRole/cm-2', reason: 'Balancing', date: '2025-04-02' });
  const flags = await h.fhir(`Flag?patient=Patient/${clientId}&status=active`);
  const flagRefs = (flags.body.entry ?? []).map((e: { resource: { id: string } }) => `Flag/${e.resource.id}`);
  await post(`/cases/${caseId}/flags/review`, { reviews: flagRefs.map((flag: string) => ({ flag, decision: 'keep', reason: 'Still relevant' })) });
  await post(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers: [1, 0, 0, 1, 0, 0, 0, 0, 0], authored: '2025-05-01T10:00:00Z' });
  // A message from the housing partner (FHIR API): the view lists it.
  const message = await request(h.t.app)
    .post('/fhir/Communication')
    .set('Content-Type', 'application/fhir+json')
    .send(
      JSON.stringify({
        resourceType: 'Communication',
        status: 'completed',
        subject: { reference: `Patient/${clientId}` },
        basedOn: [{ reference: refsOf(referral.body, 'ServiceRequest')[0] }],
        sent: '2025-04-10T10:00:00Z',
        sender: { reference: 'Organization/housing-partner' },
        recipient: [{ reference: 'PractitionerRole/cm-2' }],
        payload: [{ contentString: 'Application approved.' }],
      }),
    );
  expect(message.status).toBe(201);
  await post(`/cases/${caseId}/close`, { reason: 'Goals met', date: '2025-05-20' });
  await post(`/cases/${caseId}/evaluation`, { outcome: 'goals-met', summary: 'Much better.', date: '2025-05-21' });
  const view = await get(`/cases/${caseId}`);
  expect(view.body.evaluation.recorded).not.toBeNull();
  expect(view.body.messages).toEqual([
    { id: message.body.id, status: 'completed', sent: '2025-04-10T10:00:00Z', from: 'Organization/housing-partner', to: ['PractitionerRole/cm-2'], text: 'Application approved.', attachments: [], about: [refsOf(referral.body, 'ServiceRequest')[0]] },
  ]);
  // The schema is closed: a field the document does not name would fail.
  expect(compiled.get('get /cases/{caseId} 200')?.({ ...view.body, unexpected: 1 })).toBe(false);
  expect(compiled.get('get /cases/{caseId} 200')?.({ ...view.body, plan: { ...view.body.plan, goals: [{ id: 'x' }] } })).toBe(false);
  await post(`/cases/${caseId}/reopen`, { reason: 'Back again', date: '2025-07-01' });
  await post(`/cases/${caseId}/transfer`, { to: 'Organization/agency-portland', reason: 'Moves', summary: 'Summary.', date: '2025-07-10' });
  await get(`/cases?caseManager=PractitionerRole/cm-2&sort=-risk`);
  await get(`/cases?client=${clientId}`);
  await get('/reports/measures.csv?periodStart=2025-01-01&periodEnd=2025-12-31');
  await get('/reports/outcomes.csv?periodStart=2025-01-01&periodEnd=2025-12-31');
  // Unsolicited attachments to a payer the workflows deliver to (a registered partner covering the client).
  const records = (await h.t.workflows()).context.records;
  await records.partners.register({ id: 'payer', name: 'Payer', organization: 'Organization/agency-portland', baseUrl: 'https://payer.example.org/fhir', credentials: { type: 'none' } }, new Date());
  const coverage = await request(h.t.app)
    .post('/fhir/Coverage')
    .set('Content-Type', 'application/fhir+json')
    .send(JSON.stringify({ resourceType: 'Coverage', status: 'active', beneficiary: { reference: `Patient/${clientId}` }, payor: [{ reference: 'Organization/agency-portland' }] }));
  expect(coverage.status).toBe(201);
  const attachments = await post(`/cases/${caseId}/attachments`, { payer: 'Organization/agency-portland', attachTo: 'preauthorization', trackingId: { value: 'PA-1' }, documents: [{ document: refsOf(contact.body, 'DocumentReference')[0] }] });
  expect(attachments.status).toBe(201);
  // A payer's documentation requests (Da Vinci CDex), decided by the hosting administrator.
  const cdexRequest = async () => {
    const posted = await request(h.t.app)
      .post('/fhir/Task')
      .set('Content-Type', 'application/fhir+json')
      .send(
        JSON.stringify({
          resourceType: 'Task',
          status: 'requested',
          intent: 'order',
          code: { coding: [{ system: 'http://hl7.org/fhir/us/davinci-cdex/CodeSystem/cdex-temp', code: 'data-request-query' }] },
          for: { reference: `Patient/${clientId}` },
          requester: { reference: 'Organization/agency-portland' },
          owner: { reference: 'Organization/agency' },
          input: [
            { type: { coding: [{ system: 'http://hl7.org/fhir/us/davinci-hrex/CodeSystem/hrex-temp', code: 'data-query' }] }, valueString: 'Observation?category=survey' },
            { type: { coding: [{ system: 'http://hl7.org/fhir/us/davinci-cdex/CodeSystem/cdex-temp', code: 'purpose-of-use' }] }, valueCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HOPERAT' }] } },
          ],
        }),
      );
    expect(posted.status).toBe(201);
    return posted.body.id as string;
  };
  await get('/documentation-requests?kind=data');
  await post(`/documentation-requests/${await cdexRequest()}/approve`, {});
  await post(`/documentation-requests/${await cdexRequest()}/decline`, { reason: 'Not our client’s record' });
  const openapi = await request(h.t.app).get('/cm/v1/openapi.json');
  check('get', '/openapi.json', openapi);
});

test('errors: 400, 404, 405, 409, 422 are OperationOutcomes as documented', async () => {
  const { caseId } = await h.openCase();
  await post(`/cases/${caseId}/status`, { status: 'sideways' }); // 400
  await post('/cases/no-such-case/close', { reason: 'x' }); // 404
  await get('/cases/no-such-case'); // 404
  await get('/cases?sort=colour'); // 400
  await get('/reports/outcomes.csv'); // 400
  await post(`/cases/${caseId}/reopen`, { reason: 'x' }); // 422 (a move not allowed)
  await post(`/cases/${caseId}/referrals`, { service: { text: 'x' }, to: 'Organization/does-not-exist', reason: 'x' }); // 422 (unknown reference)
  await post(`/cases/${caseId}/close`, { reason: 'x' });
  await post(`/cases/${caseId}/plan`, { goals: [{ key: 'a', description: 'x' }] }); // 409
  const put = await request(h.t.app).delete(`/cm/v1/cases/${caseId}`);
  expect(put.status).toBe(405);
  const template = operationOf(`/cases/${caseId}`);
  expect(doc.paths[template]?.get?.responses['405']).toBeDefined();
  const schema = doc.components.schemas.OperationOutcome as Json;
  expect(ajv.validate(schema, put.body)).toBe(true);
  expect(put.headers['content-type']).toContain('application/fhir+json');
});

test('the walk covered every operation of the document that answers JSON or CSV', () => {
  const seen = new Set(checked.map((k) => k.split(' ').slice(0, 2).join(' ')));
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`));
  expect(operations.filter((o) => !seen.has(o))).toEqual([]);
});
