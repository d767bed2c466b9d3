/**
 * The review queue of payers' documentation requests in the case API (issue 14, Da Vinci CDex):
 * a payer posts a data request and an attachment request that policy does not let CaseBridge
 * fulfil at once; the agency's case manager sees both in GET /cm/v1/documentation-requests,
 * approves one (the payer then reads a completed Task whose outputs name what was released) and
 * declines the other with a reason (rejected, statusReason); another agency — even one with a case
 * for the same client — sees neither and cannot decide them; a wrong id, an already-decided
 * request and a decline without a reason are OperationOutcomes with the right status and place.
 */
import type { AuditEvent, Bundle, Provenance, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import { openApiDocument } from '../../../src/casemgmt/openapi';
import { caseApiAjv } from '../../../src/casemgmt/payload';
import type { Workflows } from '../../../src/workflows/runtime';
import { bearerRequests, FHIR_JSON, registerTestClient, type TestApp, testApp } from '../../support/app';

const ACME = 'Organization/acme';
const RIVERSIDE = 'Organization/riverside';
const HARBOR = 'Organization/harbor';
const CDEX_TEMP = 'http://hl7.org/fhir/us/davinci-cdex/CodeSystem/cdex-temp';
const HREX_TEMP = 'http://hl7.org/fhir/us/davinci-hrex/CodeSystem/hrex-temp';
const PAS_TEMP = 'http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

const schemas = (openApiDocument() as { components: { schemas: Record<string, object> } }).components.schemas;
const ajv = caseApiAjv();
/** The answer validates against the OpenAPI document's schema for it. */
function conforms(name: 'DocumentationRequests' | 'CommandReceipt', body: unknown): void {
  const validate = ajv.compile(schemas[name] as object);
  if (!validate(body)) throw new Error(`${name}: ${ajv.errorsText(validate.errors)}`);
}

let t: TestApp;
let workflows: Workflows;
const tokens: Record<string, string> = {};
let member: string;
let survey: string;
let note: string;

const as = (who: string) => bearerRequests(t.bareApp, tokens[who]);

const purpose = (code: string) => ({ type: { coding: [{ system: CDEX_TEMP, code: 'purpose-of-use' }] }, valueCodeableConcept: { coding: [{ system: ACT_REASON, code }] } });

beforeAll(async () => {
  // Policy off: every request waits for a case manager.
  t = await testApp({ env: { CDEX_AUTOMATIC: 'false' } });
  workflows = await t.workflows();
  const payer = await registerTestClient(t, { role: 'payer', organization: ACME, scopes: ['system/*.rs', 'system/Task.cru'], purposes: ['HPAYMT', 'CLMATTCH'] });
  const riverside = await registerTestClient(t, { role: 'agency', organization: RIVERSIDE, scopes: ['system/*.cruds'], clientId: 'riverside' });
  const harbor = await registerTestClient(t, { role: 'agency', organization: HARBOR, scopes: ['system/*.cruds'], clientId: 'harbor' });
  tokens.payer = await payer.token({ purposes: ['HPAYMT', 'CLMATTCH'] });
  tokens.riverside = await riverside.token();
  tokens.harbor = await harbor.token();
  tokens.auditor = await (await registerTestClient(t, { role: 'auditor', scopes: ['system/AuditEvent.rs'], clientId: 'auditor' })).token();
  expect((await request(t.app).put('/fhir/Organization/acme').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Organization', id: 'acme', name: 'Acme Health Plan' }))).status).toBe(201);
  member = `Patient/${(await as('riverside').post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: 'http://acme.example.org/member', value: 'M-901' }], name: [{ given: ['Rosa'], family: 'Diaz' }] })).body.id}`;
  await as('riverside').post('/fhir/EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: member }, managingOrganization: { reference: RIVERSIDE } });
  await as('riverside').post('/fhir/Coverage', { resourceType: 'Coverage', status: 'active', beneficiary: { reference: member }, payor: [{ reference: ACME }] });
  // Harbor has a case for the same client (written by the hosting administrator): it sees her record, not Riverside's queue.
  expect((await request(t.app).post('/fhir/EpisodeOfCare').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: member }, managingOrganization: { reference: HARBOR } }))).status).toBe(201);
  survey = (
    await as('riverside').post('/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '44261-6' }] },
      subject: { reference: member },
      effectiveDateTime: '2026-09-14',
      valueInteger: 9,
    })
  ).body.id;
  note = (
    await as('riverside').post('/fhir/DocumentReference', {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }] },
      subject: { reference: member },
      date: '2026-09-15T10:00:00Z',
      content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('Session 2.').toString('base64') } }],
    })
  ).body.id;
});
afterAll(async () => {
  await t.close();
});

let dataRequest: string;
let attachmentRequest: string;

test('requests policy does not fulfil at once wait in the agency’s queue, in the case manager’s words', async () => {
  const data = await as('payer').post('/fhir/Task', {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    authoredOn: '2026-10-01T08:00:00Z',
    code: { coding: [{ system: CDEX_TEMP, code: 'data-request-query' }] },
    for: { reference: member },
    requester: { reference: ACME },
    owner: { reference: RIVERSIDE },
    reasonCode: { coding: [{ system: 'http://hl7.org/fhir/claim-use', code: 'claim' }] },
    reasonReference: { identifier: { system: 'http://acme.example.org/claim', value: 'C-2026-501' } },
    restriction: { period: { start: '2026-07-01', end: '2026-09-30' } },
    input: [{ type: { coding: [{ system: HREX_TEMP, code: 'data-query' }] }, valueString: 'Observation?category=survey' }, purpose('HPAYMT')],
  });
  expect(data.status).toBe(201);
  dataRequest = data.body.id;
  const attachment = await as('payer').post('/fhir/Task', {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    authoredOn: '2026-10-02T08:00:00Z',
    identifier: [{ type: { coding: [{ system: CDEX_TEMP, code: 'tracking-id' }] }, system: 'http://acme.example.org/tracking', value: 'TRK-77' }],
    code: { coding: [{ system: PAS_TEMP, code: 'attachment-request-code' }] },
    for: { reference: member },
    requester: { reference: ACME },
    owner: { reference: RIVERSIDE },
    reasonCode: { coding: [{ system: 'http://hl7.org/fhir/claim-use', code: 'preauthorization' }] },
    input: [
      { type: { coding: [{ system: PAS_TEMP, code: 'attachments-needed' }] }, valueCodeableConcept: { coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }] } },
      purpose('CLMATTCH'),
    ],
  });
  expect(attachment.status).toBe(201);
  attachmentRequest = attachment.body.id;
  await workflows.settle();

  const queue = await as('riverside').get('/cm/v1/documentation-requests');
  expect(queue.status).toBe(200);
  expect(queue.body).toMatchObject({ total: 2, page: 1, pages: 1 });
  conforms('DocumentationRequests', queue.body);
  const [first, second] = queue.body.requests;
  expect(first).toMatchObject({
    id: dataRequest,
    kind: 'data',
    status: 'requested',
    requester: { reference: ACME, name: 'Acme Health Plan' },
    client: { id: member.split('/')[1], name: 'Rosa Diaz' },
    query: 'Observation?category=survey',
    purpose: { code: 'HPAYMT' },
    claim: { use: 'claim', identifier: { system: 'http://acme.example.org/claim', value: 'C-2026-501' } },
    period: { start: '2026-07-01', end: '2026-09-30' },
    requested: '2026-10-01T08:00:00Z',
    fhir: `Task/${dataRequest}`,
    approve: `/cm/v1/documentation-requests/${dataRequest}/approve`,
  });
  expect(typeof first.waitingSince).toBe('string');
  expect(second).toMatchObject({ id: attachmentRequest, kind: 'attachment', documents: [{ code: '11506-3', display: 'Progress note' }], purpose: { code: 'CLMATTCH' }, claim: { use: 'preauthorization' }, trackingId: 'TRK-77' });
  // Filtered by kind and client; unknown parameters are refused at their name.
  expect((await as('riverside').get('/cm/v1/documentation-requests?kind=attachment')).body.requests.map((r: { id: string }) => r.id)).toEqual([attachmentRequest]);
  expect((await as('riverside').get(`/cm/v1/documentation-requests?client=${member.split('/')[1]}&kind=data`)).body.total).toBe(1);
  const unknown = await as('riverside').get('/cm/v1/documentation-requests?owner=x');
  expect(unknown.status).toBe(400);
  expect(unknown.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ expression: ['owner'] }] });
});

test('another agency sees none of them and cannot decide them, even with a case for the same client', async () => {
  const queue = await as('harbor').get('/cm/v1/documentation-requests');
  expect(queue.status).toBe(200);
  expect(queue.body).toMatchObject({ total: 0, requests: [] });
  const approve = await as('harbor').command(`/documentation-requests/${dataRequest}/approve`, {});
  expect(approve.status).toBe(404);
  expect(approve.body.resourceType).toBe('OperationOutcome');
  expect((await as('riverside').get(`/fhir/Task/${dataRequest}`)).body.status).toBe('requested');
});

test('approving fulfils the request as the automatic path does: the payer reads a completed Task naming what was released', async () => {
  const approved = await as('riverside').command(`/documentation-requests/${dataRequest}/approve`, { note: 'Claim checked with billing' });
  expect(approved.status).toBe(201);
  expect(approved.body).toMatchObject({ command: 'approve-documentation-request', written: [{ reference: `Task/${dataRequest}`, versionId: expect.any(String) }] });
  expect(approved.body.case).toBeUndefined();
  conforms('CommandReceipt', approved.body);
  const provenance = (await request(t.app).get(`/fhir/${approved.body.provenance}`)).body as Provenance;
  expect(provenance.activity?.coding?.[0]?.code).toBe('approve-documentation-request');
  expect((await as('riverside').get(`/fhir/Task/${dataRequest}`)).body).toMatchObject({ status: 'accepted', businessStatus: { text: 'Approved by a case manager' } });
  await workflows.settle();
  const task = (await as('payer').get(`/fhir/Task/${dataRequest}`)).body as Task;
  expect(task.status).toBe('completed');
  expect((task.output ?? []).map((o) => o.valueReference?.reference)).toEqual([`Observation/${survey}`]);
  expect(task.note?.[0]?.text).toBe('Claim checked with billing');
  // The decision is audited as the case command it is, naming the Task and the client.
  const events = ((await as('auditor').get(`/fhir/AuditEvent?entity=Task/${dataRequest}`)).body as Bundle).entry?.map((e) => e.resource as AuditEvent) ?? [];
  const decisions = events.filter((e) => e.subtype?.some((c) => c.code === 'approve-documentation-request'));
  // Harbor's refused attempt (404) and Riverside's approval.
  expect(decisions.map((e) => e.outcome).sort()).toEqual(['0', '4']);
  expect(decisions.find((e) => e.outcome === '0')?.entity?.some((e) => e.what?.reference === member)).toBe(true);
  // It has left the queue.
  expect((await as('riverside').get('/cm/v1/documentation-requests')).body.requests.map((r: { id: string }) => r.id)).toEqual([attachmentRequest]);
});

test('declining needs a reason, and the payer reads it on the rejected Task; nothing is released', async () => {
  const reasonless = await as('riverside').command(`/documentation-requests/${attachmentRequest}/decline`, {});
  expect(reasonless.status).toBe(400);
  expect(reasonless.body.issue[0].expression).toEqual(['reason']);
  const declined = await as('riverside').command(`/documentation-requests/${attachmentRequest}/decline`, { reason: 'No progress note covers the authorised period' }, 'decline-trk-77');
  expect(declined.status).toBe(201);
  // Sent again with the same key: the first answer, nothing written.
  const replayed = await as('riverside').command(`/documentation-requests/${attachmentRequest}/decline`, { reason: 'No progress note covers the authorised period' }, 'decline-trk-77');
  expect(replayed.status).toBe(200);
  expect(replayed.headers['idempotent-replayed']).toBe('true');
  expect(replayed.body).toEqual(declined.body);
  await workflows.settle();
  const task = (await as('payer').get(`/fhir/Task/${attachmentRequest}`)).body as Task;
  expect(task).toMatchObject({ status: 'rejected', statusReason: { text: 'No progress note covers the authorised period' } });
  expect(task.output).toBeUndefined();
  expect((await as('riverside').get('/cm/v1/documentation-requests')).body.total).toBe(0);
  expect(note).toBeDefined();
});

test('a wrong id is 404 and an already-decided request is 409, as OperationOutcomes', async () => {
  const missing = await as('riverside').command('/documentation-requests/no-such-request/approve', {});
  expect(missing.status).toBe(404);
  expect(missing.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
  const again = await as('riverside').command(`/documentation-requests/${dataRequest}/decline`, { reason: 'Changed my mind' });
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'conflict', expression: ['requestId'] }] });
  const declinedAgain = await as('riverside').command(`/documentation-requests/${attachmentRequest}/approve`, {});
  expect(declinedAgain.status).toBe(409);
  // A Task that is no documentation request is no documentation request.
  const referral = await as('riverside').post('/fhir/Task', {
    resourceType: 'Task',
    status: 'draft',
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'approve' }] },
    for: { reference: member },
    owner: { reference: RIVERSIDE },
  });
  expect(referral.status).toBe(201);
  expect((await as('riverside').command(`/documentation-requests/${referral.body.id}/approve`, {})).status).toBe(404);
});
