/**
 * A payer (Da Vinci CDex and Bulk Data) against a provider agency's CaseBridge: a data request and
 * an attachment request posted as Tasks and completed with the right outputs (only the covered
 * member's record, only what the payer may see); the attachments pushed to the payer's
 * $submit-attachment endpoint (a local listener, down at first); a request for a purpose that is
 * not payment queued for a case manager, then fulfilled once accepted; requests that cannot be
 * honoured refused when posted; and a Group $export whose NDJSON resources all validate.
 */
import type { Bundle, Parameters, Resource, Task } from '@medplum/fhirtypes';
import { validateResource } from '../../../src/fhir/validation';
import type { Workflows } from '../../../src/workflows/runtime';
import { BASE_URL, bearerRequests, registerTestClient, type TestApp, testApp } from '../../support/app';
import { type Listener, listener } from '../../support/listener';

const ACME = 'Organization/acme';
const RIVERSIDE = 'Organization/riverside';
const CDEX_TEMP = 'http://hl7.org/fhir/us/davinci-cdex/CodeSystem/cdex-temp';
const HREX_TEMP = 'http://hl7.org/fhir/us/davinci-hrex/CodeSystem/hrex-temp';
const PAS_TEMP = 'http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes';

let t: TestApp;
let workflows: Workflows;
let payerEndpoint: Listener;
let clock = Date.now();
const tokens: Record<string, string> = {};
let member: string;
let stranger: string;
let survey: string;
let progressNote: string;

const as = (who: string) => bearerRequests(t.bareApp, tokens[who]);

beforeAll(async () => {
  payerEndpoint = await listener();
  t = await testApp({ env: { SUBSCRIPTION_ENDPOINT_ORIGINS: payerEndpoint.origin, CDEX_AUTOMATIC: 'true' } });
  workflows = await t.workflows({ now: () => new Date(clock) });
  const payer = await registerTestClient(t, { role: 'payer', organization: ACME, scopes: ['system/*.rs', 'system/Task.cru', 'system/Group.cruds'], purposes: ['HPAYMT', 'CLMATTCH', 'HOPERAT'] });
  const agency = await registerTestClient(t, { role: 'agency', organization: RIVERSIDE, scopes: ['system/*.cruds'] });
  tokens.payer = await payer.token({ purposes: ['HPAYMT', 'CLMATTCH', 'HOPERAT'] });
  tokens.claimsOnly = await payer.token({ purposes: ['CLMATTCH'] });
  tokens.agency = await agency.token();
  member = `Patient/${(await as('agency').post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: 'http://acme.example.org/member', value: 'M-778' }], name: [{ family: 'Bell' }], gender: 'male', birthDate: '1979-02-03' })).body.id}`;
  stranger = `Patient/${(await as('agency').post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Stranger' }] })).body.id}`;
  await as('agency').post('/fhir/EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: member }, managingOrganization: { reference: RIVERSIDE } });
  await as('agency').post('/fhir/Coverage', { resourceType: 'Coverage', status: 'active', beneficiary: { reference: member }, payor: [{ reference: ACME }] });
  for (const patient of [member, stranger]) {
    const created = await as('agency').post('/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '44261-6' }] },
      subject: { reference: patient },
      effectiveDateTime: '2026-10-01',
      valueInteger: 12,
    });
    if (patient === member) survey = created.body.id;
  }
  progressNote = (
    await as('agency').post('/fhir/DocumentReference', {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }] },
      subject: { reference: member },
      date: '2026-10-02T09:00:00Z',
      content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('Session 4: housing plan reviewed.').toString('base64') } }],
    })
  ).body.id;
});
afterAll(async () => {
  await payerEndpoint.close();
  await t.close();
});

const purpose = (code: string) => ({ type: { coding: [{ system: CDEX_TEMP, code: 'purpose-of-use' }] }, valueCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code }] } });
const dataRequest = (query: string, why = 'HPAYMT', patient = member): Task => ({
  resourceType: 'Task',
  status: 'requested',
  intent: 'order',
  code: { coding: [{ system: CDEX_TEMP, code: 'data-request-query' }] },
  for: { reference: patient },
  requester: { reference: ACME },
  owner: { reference: RIVERSIDE },
  reasonCode: { coding: [{ system: 'http://hl7.org/fhir/claim-use', code: 'claim' }] },
  reasonReference: { identifier: { system: 'http://acme.example.org/claim', value: 'C-2026-118' } },
  input: [{ type: { coding: [{ system: HREX_TEMP, code: 'data-query' }] }, valueString: query }, purpose(why)],
});

async function posted(who: string, task: Task): Promise<string> {
  const res = await as(who).post('/fhir/Task', task);
  expect({ status: res.status, body: res.status === 201 ? 'created' : res.body }).toEqual({ status: 201, body: 'created' });
  return res.body.id as string;
}

const outputsOf = (task: Task) => (task.output ?? []).map((o) => o.valueReference?.reference);

test('a data request is completed at once with the matching resources of the covered member only', async () => {
  const id = await posted('payer', dataRequest('Observation?category=survey'));
  await workflows.settle();
  const task = (await as('payer').get(`/fhir/Task/${id}`)).body as Task;
  expect(task.status).toBe('completed');
  expect(outputsOf(task)).toEqual([`Observation/${survey}`]);
  expect(task.output?.[0]?.type.coding?.[0]).toEqual({ system: HREX_TEMP, code: 'data-value' });
  // The payer reads what the Task names.
  expect((await as('payer').get(`/fhir/Observation/${survey}`)).status).toBe(200);
});

test('an attachment request: the progress note as output, pushed to the payer’s $submit-attachment once it is up', async () => {
  payerEndpoint.down = true;
  const id = await posted('claimsOnly', {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    identifier: [{ type: { coding: [{ system: CDEX_TEMP, code: 'tracking-id' }] }, system: 'http://acme.example.org/tracking', value: 'TRK-5501' }],
    code: { coding: [{ system: PAS_TEMP, code: 'attachment-request-code' }] },
    for: { reference: member },
    requester: { reference: ACME },
    owner: { reference: RIVERSIDE },
    reasonCode: { coding: [{ system: 'http://hl7.org/fhir/claim-use', code: 'claim' }] },
    input: [
      { type: { coding: [{ system: PAS_TEMP, code: 'attachments-needed' }] }, valueCodeableConcept: { coding: [{ system: 'http://loinc.org', code: '11506-3' }] } },
      { type: { coding: [{ system: PAS_TEMP, code: 'payer-url' }] }, valueUrl: `${payerEndpoint.origin}/$submit-attachment` },
      purpose('CLMATTCH'),
    ],
  });
  await workflows.settle();
  const task = (await as('payer').get(`/fhir/Task/${id}`)).body as Task;
  expect(task.status).toBe('completed');
  expect(outputsOf(task)).toEqual([`DocumentReference/${progressNote}`]);
  expect(payerEndpoint.received.filter((r) => r.url === '/$submit-attachment')).toHaveLength(1);
  // The endpoint comes back: the retry delivers it.
  payerEndpoint.down = false;
  clock += 10 * 60_000;
  await workflows.settle();
  const submissions = payerEndpoint.received.filter((r) => r.url === '/$submit-attachment');
  expect(submissions).toHaveLength(2);
  const parameters = JSON.parse(submissions[1]?.body as string) as Parameters;
  // As CDex's $submit-attachment defines them: the payer's tracking number as an Identifier, the service's date a dateTime.
  expect(parameters.parameter?.find((p) => p.name === 'TrackingId')?.valueIdentifier).toEqual({ system: 'http://acme.example.org/tracking', value: 'TRK-5501' });
  expect(parameters.parameter?.find((p) => p.name === 'AttachTo')?.valueCode).toBe('claim');
  expect(parameters.parameter?.find((p) => p.name === 'OrganizationId')?.valueIdentifier?.value).toBe(`${BASE_URL}/${RIVERSIDE}`);
  expect(parameters.parameter?.find((p) => p.name === 'MemberId')?.valueIdentifier).toEqual({ system: 'http://acme.example.org/member', value: 'M-778' });
  const attachment = parameters.parameter?.find((p) => p.name === 'Attachment');
  expect(attachment?.part?.find((p) => p.name === 'Content')?.resource).toMatchObject({ resourceType: 'DocumentReference', id: progressNote });
  expect(attachment?.part?.find((p) => p.name === 'Code')?.valueCodeableConcept?.coding?.[0]).toMatchObject({ system: 'http://loinc.org', code: '11506-3' });
  expect(validateResource(parameters).filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
});

test('a request for a purpose other than payment waits for a case manager, and is fulfilled when accepted', async () => {
  const id = await posted('payer', dataRequest('Observation?code=http://loinc.org|44261-6', 'HOPERAT'));
  await workflows.settle();
  const waiting = (await as('agency').get(`/fhir/Task/${id}`)).body as Task;
  expect(waiting).toMatchObject({ status: 'requested', businessStatus: { text: 'Waiting for review by a case manager' } });
  const queue = ((await as('agency').get(`/fhir/Task?owner=${RIVERSIDE}&status=requested&code=${CDEX_TEMP}|data-request-query`)).body as Bundle).entry?.map((e) => e.resource?.id);
  expect(queue).toContain(id);
  expect((await as('agency').put(`/fhir/Task/${id}`, { ...waiting, meta: undefined, status: 'accepted' })).status).toBe(200);
  await workflows.settle();
  const task = (await as('payer').get(`/fhir/Task/${id}`)).body as Task;
  expect(task.status).toBe('completed');
  expect(outputsOf(task)).toEqual([`Observation/${survey}`]);
});

test('requests that cannot be honoured are refused when posted, with the place of the problem', async () => {
  const include = await as('payer').post('/fhir/Task', dataRequest('Observation?category=survey&_include=Observation:subject'));
  expect(include.status).toBe(422);
  expect(include.body.issue[0].expression).toEqual(['Task.input[0].valueString']);
  expect((await as('payer').post('/fhir/Task', dataRequest('Organization?name=Acme'))).status).toBe(422);
  // The token states CLMATTCH only.
  expect((await as('claimsOnly').post('/fhir/Task', dataRequest('Observation?category=survey', 'HPAYMT'))).status).toBe(422);
  // A member the payer does not cover.
  expect((await as('payer').post('/fhir/Task', dataRequest('Observation?category=survey', 'HPAYMT', stranger))).status).toBe(403);
  const unpurposed = dataRequest('Observation?category=survey');
  unpurposed.input = unpurposed.input?.slice(0, 1);
  expect((await as('payer').post('/fhir/Task', unpurposed)).status).toBe(422);
});

test('a Group $export of the covered members, to NDJSON files whose resources all validate', async () => {
  const group = await as('payer').post('/fhir/Group', { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: member } }] });
  expect(group.status).toBe(201);
  const kickOff = await as('payer').get(`/fhir/Group/${group.body.id}/$export?_type=Patient,Observation,DocumentReference,Coverage`).set('Prefer', 'respond-async');
  expect(kickOff.status).toBe(202);
  await workflows.settle();
  const status = await as('payer').get((kickOff.headers['content-location'] as string).replace(BASE_URL, '/fhir'));
  expect(status.status).toBe(200);
  const manifest = status.body as { output: { type: string; url: string; count: number }[] };
  expect(manifest.output.map((o) => o.type).sort()).toEqual(['Coverage', 'DocumentReference', 'Observation', 'Patient']);
  for (const file of manifest.output) {
    const res = await as('payer').get(file.url.replace(BASE_URL, '/fhir')).buffer(true).parse((response, callback) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => callback(null, text));
    });
    const resources = (res.body as string).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Resource);
    expect(resources).toHaveLength(file.count);
    for (const resource of resources) {
      expect(validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
      const about = resource.resourceType === 'Patient' ? `Patient/${resource.id}` : ((resource as { subject?: { reference?: string }; beneficiary?: { reference?: string } }).subject ?? (resource as { beneficiary?: { reference?: string } }).beneficiary)?.reference;
      expect(about).toBe(member);
    }
  }
});
