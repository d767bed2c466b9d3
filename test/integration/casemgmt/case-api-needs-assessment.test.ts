// The comprehensive needs assessment: answers become Observations and, for needs, Conditions
// that the plan's goals address.
import { type CaseApiHarness, caseApiHarness, refsOf, resources } from './case-api-support';

let h: CaseApiHarness;
beforeAll(async () => {
  h = await caseApiHarness();
});
afterAll(async () => {
  await h.t.close();
});

const body = {
  authored: '2025-02-03T10:00:00-08:00',
  domains: {
    housing: { need: 'urgent-need', note: 'Eviction notice; two months of arrears', code: { system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'Z59.811', display: 'Housing instability, housed, with risk of homelessness' } },
    income: { need: 'need', note: 'Lost job in December' },
    'social-support': { need: 'no-need', note: 'Sister nearby' },
    'substance-use': { need: 'need' },
  },
};

test('the response, an Observation per domain, a Condition per need; SDOH-aware searches find them; a goal addresses them', async () => {
  const { caseId, clientId } = await h.openCase();
  const res = await h.command(`/cases/${caseId}/assessments`, body);
  expect(res.status).toBe(201);
  expect(refsOf(res.body, 'QuestionnaireResponse')).toHaveLength(1);
  expect(refsOf(res.body, 'Observation')).toHaveLength(4);
  const conditions = refsOf(res.body, 'Condition');
  expect(conditions).toHaveLength(3);
  const qr = (await h.fhir(refsOf(res.body, 'QuestionnaireResponse')[0] as string)).body;
  expect(qr).toMatchObject({ questionnaire: 'http://casebridge.org/fhir/Questionnaire/needs-assessment', status: 'completed', subject: { reference: `Patient/${clientId}` } });
  expect(qr.item.map((i: { linkId: string }) => i.linkId)).toEqual(['housing', 'income', 'social-support', 'substance-use']);
  const housing = await h.fhir(`Condition?patient=Patient/${clientId}&category=http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes|housing-instability`);
  const [condition] = resources(housing.body);
  expect(condition).toMatchObject({ code: { coding: [{ code: 'Z59.811' }] }, severity: { coding: [{ code: '24484000' }] }, clinicalStatus: { coding: [{ code: 'active' }] } });
  const sdoh = await h.fhir(`Observation?patient=Patient/${clientId}&category=http://hl7.org/fhir/us/core/CodeSystem/us-core-category|sdoh`);
  expect(resources(sdoh.body)).toHaveLength(3);
  const plan = await h.command(`/cases/${caseId}/plan`, { start: '2025-02-05', goals: [{ key: 'h', description: 'Keep my apartment', addresses: [`Condition/${condition?.id}`] }] });
  expect(plan.status).toBe(201);
  const goal = (await h.fhir(refsOf(plan.body, 'Goal')[0] as string)).body;
  expect(goal.addresses).toEqual([{ reference: `Condition/${condition?.id}` }]);
});

test('a goal that addresses another client’s need: 422 at the field; a domain CaseBridge does not know: 400', async () => {
  const a = await h.openCase();
  const b = await h.openCase();
  const res = await h.command(`/cases/${b.caseId}/assessments`, body);
  const other = refsOf(res.body, 'Condition')[0] as string;
  const plan = await h.command(`/cases/${a.caseId}/plan`, { goals: [{ key: 'h', description: 'x', addresses: [other] }] });
  expect(plan.status).toBe(422);
  expect(plan.body.issue[0].expression).toEqual(['goals[0].addresses[0]']);
  const bad = await h.command(`/cases/${a.caseId}/assessments`, { authored: '2025-02-03', domains: { weather: { need: 'need' } } });
  expect(bad.status).toBe(400);
  const none = await h.command(`/cases/${a.caseId}/assessments`, { authored: '2025-02-03', domains: {} });
  expect(none.status).toBe(400);
});
