// The searches an EHR runs to pull a client's care plan (US Core / MCC, CASE-MANAGEMENT-FHIR.md
// §7.1) and the referral and payer searches of §8, against a case built through the case API:
// each answers 200 with what it asks for, and the includes bring what they name.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { type CaseApiHarness, caseApiHarness } from '../casemgmt/case-api-support';

let h: CaseApiHarness;
let caseId: string;
let clientId: string;
let patient: string;

beforeAll(async () => {
  h = await caseApiHarness();
  ({ caseId, clientId } = await h.openCase());
  patient = `Patient/${clientId}`;
  const ok = async (path: string, body: unknown) => {
    const res = await h.command(path, body);
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
  };
  await ok(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers: [1, 1, 1, 1, 1, 1, 1, 1, 0], authored: '2025-02-10' });
  await ok(`/cases/${caseId}/contacts`, { type: 'home-visit', start: '2025-02-20T10:00:00Z', end: '2025-02-20T11:00:00Z', note: 'Visit.' });
  await ok(`/cases/${caseId}/plan`, {
    title: 'Plan',
    start: '2025-01-21',
    goals: [{ key: 'housing', description: 'Stable housing' }],
    objectives: [{ goal: 'housing', description: 'Apply for two apartments', measure: { text: 'Applications' }, target: { value: 2 }, due: '2025-04-30' }],
    interventions: [{ service: { text: 'Housing counselling' }, provider: 'Organization/housing-partner', goal: 'housing' }],
  });
  await ok(`/cases/${caseId}/referrals`, { service: { text: 'Housing search assistance' }, to: 'Organization/housing-partner', reason: 'Facing eviction', authored: '2025-02-01T10:00:00Z' });
});
afterAll(async () => {
  await h.t.close();
});

async function search(path: string): Promise<Resource[]> {
  const res = await h.fhir(path);
  expect({ path, status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({ path, status: 200, body: 'ok' });
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource as Resource);
}
const types = (resources: Resource[]) => [...new Set(resources.map((r) => r.resourceType))].sort();

test('§7.1: the client by identifier and by name and birth date', async () => {
  const client = (await h.fhir(`/Patient/${clientId}`)).body as { identifier: { system: string; value: string }[]; birthDate?: string };
  const id = client.identifier[0] as { system: string; value: string };
  expect((await search(`/Patient?identifier=${encodeURIComponent(`${id.system}|${id.value}`)}`)).map((p) => p.id)).toEqual([clientId]);
  expect((await search(`/Patient?name=Okafor&_id=${clientId}`)).map((p) => p.id)).toEqual([clientId]);
});

test('§7.1: the active plan with its goals, care team, conditions, activities and provenance', async () => {
  const found = await search(`/CarePlan?patient=${patient}&category=http://hl7.org/fhir/us/core/CodeSystem/careplan-category|assess-plan&status=active&_include=CarePlan:goal&_include=CarePlan:care-team&_include=CarePlan:condition&_include=CarePlan:activity-reference&_revinclude=Provenance:target`);
  expect(types(found)).toEqual(expect.arrayContaining(['CarePlan', 'Goal', 'ServiceRequest']));
  expect(found.filter((r) => r.resourceType === 'CarePlan')).toHaveLength(1);
});

test('§7.1: goals, observations trend and surveys, care team, concerns, encounters, notes', async () => {
  expect(types(await search(`/Goal?patient=${patient}&lifecycle-status=active`))).toEqual(['Goal']);
  expect((await search(`/Observation?patient=${patient}&code=http://loinc.org|44261-6,http://loinc.org|70274-6&date=ge2025-01-01`)).length).toBeGreaterThanOrEqual(1);
  expect((await search(`/Observation?patient=${patient}&category=survey`)).length).toBeGreaterThanOrEqual(1);
  await search(`/CareTeam?patient=${patient}&status=active&_include=CareTeam:participant:PractitionerRole`);
  await search(`/Condition?patient=${patient}&category=health-concern`);
  expect(types(await search(`/Encounter?patient=${patient}&date=ge2025-01-01`))).toEqual(['Encounter']);
  expect(types(await search(`/DocumentReference?patient=${patient}&category=clinical-note&date=ge2025-01-01`))).toEqual(['DocumentReference']);
  expect((await search(`/QuestionnaireResponse?patient=${patient}&status=completed`)).length).toBeGreaterThanOrEqual(1);
});

test('§8: referral searches — the queue, the focus included, outcomes by based-on, service requests by category and date', async () => {
  const tasks = await search(`/Task?patient=${patient}&code=http://hl7.org/fhir/CodeSystem/task-code|fulfill&status=requested&_include=Task:focus`);
  expect(types(tasks)).toEqual(['ServiceRequest', 'Task']);
  const queue = await search('/Task?owner=Organization/housing-partner&status=requested');
  expect(queue.length).toBeGreaterThanOrEqual(1);
  await search('/Task?owner:missing=true&status=requested');
  const request = tasks.find((r) => r.resourceType === 'ServiceRequest') as Resource;
  await search(`/Procedure?based-on=ServiceRequest/${request.id}`);
  expect((await search(`/ServiceRequest?patient=${patient}&intent=order&status=active&authored=ge2025-01-01&_include=ServiceRequest:performer`)).length).toBeGreaterThanOrEqual(1);
  await search(`/ServiceRequest?patient=${patient}&_include=ServiceRequest:supporting-info`);
  await search(`/EpisodeOfCare?patient=${patient}&status=active`);
  await search(`/Consent?patient=${patient}&status=active`);
  await search(`/Group?member=${patient}`);
});
