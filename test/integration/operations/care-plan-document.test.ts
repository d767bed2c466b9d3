// EpisodeOfCare/[id]/$care-plan-document: the current plan of a case as a FHIR document Bundle an
// EHR can file as it is — valid, Composition first, every section's entries in the Bundle — and
// the newest plan when the plan was revised; 404 for a case without a plan.
import type { Bundle, CarePlan, Composition, Resource } from '@medplum/fhirtypes';
import { validateResource } from '../../../src/fhir/validation';
import { type CaseApiHarness, caseApiHarness } from '../casemgmt/case-api-support';
import { BASE_URL } from '../../support/app';

let h: CaseApiHarness;
let caseId: string;
let clientId: string;
let emptyCase: string;

const plan = (title: string) => ({
  title,
  start: '2025-01-21',
  goals: [{ key: 'housing', description: 'Stable housing' }],
  objectives: [{ goal: 'housing', description: 'Apply for two apartments', measure: { text: 'Applications' }, target: { value: 2 }, due: '2025-04-30' }],
  interventions: [{ service: { text: 'Housing counselling' }, provider: 'Organization/housing-partner', goal: 'housing' }],
});

beforeAll(async () => {
  h = await caseApiHarness();
  ({ caseId, clientId } = await h.openCase());
  ({ caseId: emptyCase } = await h.openCase());
  const first = await h.command(`/cases/${caseId}/plan`, plan('First plan'));
  expect(first.status).toBe(201);
  const revised = await h.command(`/cases/${caseId}/plan`, { ...plan('Revised plan'), reason: 'Housing first' }, { method: 'put' });
  expect({ status: revised.status, body: revised.body }).toMatchObject({ status: 201 });
  const referral = await h.command(`/cases/${caseId}/referrals`, { service: { text: 'Housing search assistance' }, to: 'Organization/housing-partner', reason: 'Facing eviction', authored: '2025-02-01T10:00:00Z' });
  expect(referral.status).toBe(201);
});
afterAll(async () => {
  await h.t.close();
});

test('the current plan as a valid document Bundle: Composition first, every referenced entry present', async () => {
  const res = await h.fhir(`/EpisodeOfCare/${caseId}/$care-plan-document`);
  expect({ status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({ status: 200, body: 'ok' });
  const document = res.body as Bundle;
  expect(document).toMatchObject({ resourceType: 'Bundle', type: 'document' });
  expect(document.identifier?.value).toMatch(/^urn:uuid:/);
  expect(validateResource(document).filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
  const [first, ...rest] = document.entry ?? [];
  const composition = first?.resource as Composition;
  expect(composition.resourceType).toBe('Composition');
  expect(composition.type.coding?.[0]?.code).toBe('18776-5');
  expect(composition.subject?.reference).toBe(`Patient/${clientId}`);
  const inBundle = new Set(rest.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
  for (const e of rest) expect(e.fullUrl).toBe(`${BASE_URL}/${e.resource?.resourceType}/${e.resource?.id}`);
  const named = (composition.section ?? []).flatMap((s) => s.entry ?? []).map((r) => r.reference as string);
  for (const reference of named) expect(inBundle).toContain(reference);
  expect(inBundle).toContain(`Patient/${clientId}`);
  const plans = rest.filter((e) => e.resource?.resourceType === 'CarePlan').map((e) => e.resource as CarePlan);
  expect(plans.map((p) => p.title)).toEqual(['Revised plan']);
  const titles = Object.fromEntries((composition.section ?? []).map((s) => [s.title, (s.entry ?? []).map((r) => r.reference?.split('/')[0])]));
  expect(titles.Goals?.length).toBeGreaterThanOrEqual(1);
  expect(titles.Interventions).toContain('ServiceRequest');
  // The referral made outside the plan is among the interventions.
  const requests = rest.filter((e) => e.resource?.resourceType === 'ServiceRequest').map((e) => (e.resource as Resource & { code?: { text?: string } }).code?.text);
  expect(requests).toEqual(expect.arrayContaining(['Housing counselling', 'Housing search assistance']));
});

test('a case without a plan, and an unknown parameter', async () => {
  expect((await h.fhir(`/EpisodeOfCare/${emptyCase}/$care-plan-document`)).status).toBe(404);
  expect((await h.fhir(`/EpisodeOfCare/${caseId}/$care-plan-document?start=2025`)).status).toBe(400);
});
