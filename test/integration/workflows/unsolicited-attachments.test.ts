/**
 * Unsolicited attachments (Da Vinci CDex, issue 14): a case manager sends a client's documents to
 * a partner payer for a claim through the case API; CaseBridge posts them to the payer's
 * $submit-attachment (a local listener, down at first) from its durable outbox, with the partner's
 * credentials, and delivers them after a retry, as Parameters built exactly as the operation
 * defines them; the record of what was sent (Communication) is then completed, and every attempt
 * is audited as an export to the payer. What cannot be delivered is refused at once: a payer that
 * is no partner, a document of another client, a 42 CFR Part 2 note the payer may not receive
 * without consent, a claim without its date of service.
 */
import type { AuditEvent, Bundle, Communication, Parameters } from '@medplum/fhirtypes';
import request from 'supertest';
import { validateResource } from '../../../src/fhir/validation';
import type { Workflows } from '../../../src/workflows/runtime';
import { bearerRequests, FHIR_JSON, registerTestClient, type TestApp, testApp } from '../../support/app';
import { type Listener, listener } from '../../support/listener';

const ACME = 'Organization/acme';
const BETA = 'Organization/beta-health';
const RIVERSIDE = 'Organization/riverside';
const TRACKING = { system: 'http://riverside.example.org/claims', value: 'CLM-2026-0042' };

let t: TestApp;
let payerEndpoint: Listener;
let workflows: Workflows;
let clock = Date.now();
const tokens: Record<string, string> = {};
let caseId: string;
let member: string;
let progressNote: string;
let part2Note: string;
let otherClientsNote: string;

const as = (who: string) => bearerRequests(t.bareApp, tokens[who]);
const put = (path: string, body: unknown) => request(t.app).put(path).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
const note = (patient: string, text: string, security?: string) => ({
  resourceType: 'DocumentReference',
  status: 'current',
  ...(security ? { meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: security }] } } : {}),
  type: { coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }] },
  subject: { reference: patient },
  date: '2026-11-02T10:00:00Z',
  content: [{ attachment: { contentType: 'text/plain', data: Buffer.from(text).toString('base64') } }],
});

beforeAll(async () => {
  payerEndpoint = await listener();
  t = await testApp();
  workflows = await t.workflows({ now: () => new Date(clock) });
  const agency = await registerTestClient(t, { role: 'agency', organization: RIVERSIDE, scopes: ['system/*.cruds'] });
  const auditor = await registerTestClient(t, { role: 'auditor', scopes: ['system/AuditEvent.rs'] });
  tokens.agency = await agency.token();
  tokens.auditor = await auditor.token();
  await workflows.context.records.partners.register({ id: 'acme', name: 'Acme Health Plan', organization: ACME, baseUrl: `${payerEndpoint.origin}/payer`, credentials: { type: 'bearer', token: 'acme-s3cret' } }, new Date(clock));
  for (const [id, name, npi] of [['acme', 'Acme Health Plan', undefined], ['beta-health', 'Beta Health', undefined], ['riverside', 'Riverside Community Services', '1407071236']] as const) {
    expect((await put(`/fhir/Organization/${id}`, { resourceType: 'Organization', id, name, ...(npi ? { identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi }] } : {}) })).status).toBe(201);
  }
  member = `Patient/${(await as('agency').post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Nguyen', given: ['Linh'] }] })).body.id}`;
  const other = `Patient/${(await as('agency').post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Other' }] })).body.id}`;
  caseId = (await as('agency').post('/fhir/EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: member }, managingOrganization: { reference: RIVERSIDE } })).body.id;
  await as('agency').post('/fhir/EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: other }, managingOrganization: { reference: RIVERSIDE } });
  const coverage = await as('agency').post('/fhir/Coverage', {
    resourceType: 'Coverage',
    status: 'active',
    identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MB' }] }, system: 'http://acme.example.org/member', value: 'ACME-7781' }],
    beneficiary: { reference: member },
    payor: [{ reference: ACME }],
  });
  expect(coverage.status).toBe(201);
  progressNote = (await as('agency').post('/fhir/DocumentReference', note(member, 'Session 6: housing application filed.'))).body.id;
  part2Note = (await as('agency').post('/fhir/DocumentReference', note(member, 'SUD counselling session.', '42CFRPart2'))).body.id;
  otherClientsNote = (await as('agency').post('/fhir/DocumentReference', note(other, 'Not hers.'))).body.id;
});
afterAll(async () => {
  await payerEndpoint.close();
  await t.close();
});

const send = (body: Record<string, unknown>) =>
  as('agency').command(`/cases/${caseId}/attachments`, {
    payer: ACME,
    attachTo: 'claim',
    trackingId: TRACKING,
    serviceDate: '2026-11-02',
    documents: [{ document: `DocumentReference/${progressNote}`, lineItems: ['1', '2'] }],
    ...body,
  });

test('what cannot be delivered is refused at once, located at its field, and nothing is recorded', async () => {
  const notPartner = await send({ payer: BETA });
  expect(notPartner.status).toBe(422);
  expect(notPartner.body.issue[0].expression).toEqual(['payer']);
  const notHers = await send({ documents: [{ document: `DocumentReference/${progressNote}` }, { document: `DocumentReference/${otherClientsNote}` }] });
  expect(notHers.status).toBe(422);
  expect(notHers.body.issue.map((i: { expression: string[] }) => i.expression)).toEqual([['documents[1].document']]);
  const part2 = await send({ documents: [{ document: `DocumentReference/${part2Note}` }] });
  expect(part2.status).toBe(422);
  expect(part2.body.issue[0]).toMatchObject({ code: 'business-rule', expression: ['documents[0].document'] });
  const undated = await send({ serviceDate: undefined });
  expect(undated.status).toBe(400);
  expect(JSON.stringify(undated.body.issue.map((i: { expression?: string[] }) => i.expression))).toContain('serviceDate');
  const unknownDocument = await send({ documents: [{ document: 'DocumentReference/nope' }] });
  expect(unknownDocument.status).toBe(422);
  expect(unknownDocument.body.issue[0].expression).toEqual(['documents[0].document']);
  const sent = ((await as('agency').get(`/fhir/Communication?subject=${member}`)).body as Bundle).entry ?? [];
  expect(sent).toEqual([]);
});

test('documents sent for a claim reach the payer’s $submit-attachment after it comes back, exactly as CDex defines the Parameters', async () => {
  payerEndpoint.down = true;
  const res = await send({ note: 'Sent with claim CLM-2026-0042' });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ command: 'send-attachments', case: `EpisodeOfCare/${caseId}` });
  const communicationId = (res.body.written as { reference: string }[]).find((w) => w.reference.startsWith('Communication/'))?.reference.split('/')[1] as string;
  const recorded = (await as('agency').get(`/fhir/Communication/${communicationId}`)).body as Communication;
  expect(recorded).toMatchObject({ status: 'in-progress', recipient: [{ reference: ACME }], subject: { reference: member } });

  await workflows.settle();
  const calls = () => payerEndpoint.received.filter((r) => r.url === '/payer/$submit-attachment');
  expect(calls()).toHaveLength(1);
  expect(((await as('agency').get(`/fhir/Communication/${communicationId}`)).body as Communication).status).toBe('in-progress');

  payerEndpoint.down = false;
  clock += 10 * 60_000;
  await workflows.settle();
  expect(calls()).toHaveLength(2);
  const delivered = calls()[1];
  expect(delivered?.method).toBe('POST');
  expect(delivered?.headers.authorization).toBe('Bearer acme-s3cret');
  expect(delivered?.headers['content-type']).toContain('application/fhir+json');
  const parameters = JSON.parse(delivered?.body as string) as Parameters;
  expect(validateResource(parameters).filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
  const byName = (name: string) => parameters.parameter?.filter((p) => p.name === name) ?? [];
  expect(byName('TrackingId')).toEqual([{ name: 'TrackingId', valueIdentifier: TRACKING }]);
  expect(byName('AttachTo')).toEqual([{ name: 'AttachTo', valueCode: 'claim' }]);
  expect(byName('OrganizationId')).toEqual([{ name: 'OrganizationId', valueIdentifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: '1407071236' } }]);
  expect(byName('MemberId')).toEqual([{ name: 'MemberId', valueIdentifier: { system: 'http://acme.example.org/member', value: 'ACME-7781' } }]);
  expect(byName('ServiceDate')).toEqual([{ name: 'ServiceDate', valueDateTime: '2026-11-02' }]);
  const attachments = byName('Attachment');
  expect(attachments).toHaveLength(1);
  const parts = attachments[0]?.part ?? [];
  expect(parts.filter((p) => p.name === 'LineItem').map((p) => p.valueString)).toEqual(['1', '2']);
  expect(parts.find((p) => p.name === 'Code')?.valueCodeableConcept?.coding?.[0]).toMatchObject({ system: 'http://loinc.org', code: '11506-3' });
  expect(parts.find((p) => p.name === 'Content')?.resource).toMatchObject({ resourceType: 'DocumentReference', id: progressNote });
  // Nothing else was sent: the Part 2 note and the other client's note stay home.
  expect(delivered?.body).not.toContain(part2Note);
  expect(delivered?.body).not.toContain(otherClientsNote);

  const done = (await as('agency').get(`/fhir/Communication/${communicationId}`)).body as Communication;
  expect(done.status).toBe('completed');
  expect(typeof done.sent).toBe('string');
  // Delivered once: more rounds send nothing more.
  clock += 60 * 60_000;
  await workflows.settle();
  expect(calls()).toHaveLength(2);

  // Each attempt is audited as an export to the payer, naming the documents and the client.
  const events = ((await as('auditor').get(`/fhir/AuditEvent?entity=Communication/${communicationId}`)).body as Bundle).entry?.map((e) => e.resource as AuditEvent) ?? [];
  const exports = events.filter((e) => e.type.code === '110106');
  expect(exports.map((e) => e.outcome).sort()).toEqual(['0', '8']);
  for (const event of exports) {
    expect(event.entity?.some((e) => e.what?.reference?.startsWith(`DocumentReference/${progressNote}`))).toBe(true);
    expect(event.entity?.some((e) => e.what?.reference === member)).toBe(true);
  }
});

test('a 42 CFR Part 2 note goes only under a consent naming the payer for claim attachments, and its disclosure is audited', async () => {
  const consent = await as('agency').command(`/cases/${caseId}/consents`, { kind: '42cfr-part2', date: '2026-01-01', expires: '2099-12-31', recipients: [ACME], purposes: ['CLMATTCH'] });
  expect(consent.status).toBe(201);
  const res = await send({ trackingId: { ...TRACKING, value: 'CLM-2026-0043' }, documents: [{ document: `DocumentReference/${part2Note}` }] });
  expect(res.status).toBe(201);
  const communicationId = (res.body.written as { reference: string }[]).find((w) => w.reference.startsWith('Communication/'))?.reference.split('/')[1] as string;
  await workflows.settle();
  const delivered = payerEndpoint.received.filter((r) => r.url === '/payer/$submit-attachment').at(-1);
  const content = (JSON.parse(delivered?.body as string) as Parameters).parameter?.find((p) => p.name === 'Attachment')?.part?.find((p) => p.name === 'Content')?.resource;
  // The payer receives it with the obligation not to redisclose (42 CFR 2.32).
  expect(content).toMatchObject({ resourceType: 'DocumentReference', id: part2Note });
  expect(content?.meta?.security?.map((c) => c.code)).toContain('NORDSCLCD');
  expect(((await as('agency').get(`/fhir/Communication/${communicationId}`)).body as Communication).status).toBe('completed');
  const events = ((await as('auditor').get(`/fhir/AuditEvent?entity=Communication/${communicationId}`)).body as Bundle).entry?.map((e) => e.resource as AuditEvent) ?? [];
  expect(events.some((e) => e.subtype?.some((s) => s.code === 'disclose') && e.entity?.some((x) => x.what?.reference?.startsWith(`DocumentReference/${part2Note}`)))).toBe(true);
});

test('a payer that never comes back: after the last retry the record says it was not delivered, and why', async () => {
  payerEndpoint.down = true;
  const res = await send({ trackingId: { ...TRACKING, value: 'CLM-2026-0044' } });
  expect(res.status).toBe(201);
  const communicationId = (res.body.written as { reference: string }[]).find((w) => w.reference.startsWith('Communication/'))?.reference.split('/')[1] as string;
  for (let round = 0; round < 45; round++) {
    await workflows.settle();
    clock += 2 * 60 * 60_000;
  }
  const stopped = (await as('agency').get(`/fhir/Communication/${communicationId}`)).body as Communication;
  expect(stopped.status).toBe('stopped');
  expect(stopped.statusReason?.text).toMatch(/^Not delivered after 40 attempts: .*HTTP 503/);
  payerEndpoint.down = false;
});

test('a payer that refuses the submission (4xx) is not asked again: the record says why', async () => {
  payerEndpoint.refuse = 400;
  const res = await send({ trackingId: { ...TRACKING, value: 'CLM-2026-0045' } });
  expect(res.status).toBe(201);
  const communicationId = (res.body.written as { reference: string }[]).find((w) => w.reference.startsWith('Communication/'))?.reference.split('/')[1] as string;
  const before = payerEndpoint.received.length;
  await workflows.settle();
  clock += 2 * 60 * 60_000;
  await workflows.settle();
  expect(payerEndpoint.received.length - before).toBe(1);
  const stopped = (await as('agency').get(`/fhir/Communication/${communicationId}`)).body as Communication;
  expect(stopped.status).toBe('stopped');
  expect(stopped.statusReason?.text).toMatch(/^Refused by the payer: .*HTTP 400: Unknown claim/);
  payerEndpoint.refuse = undefined;
});
