// The case API: screenings scored in the same unit, invalid answers refused at the answer, risk levels.
import { type CaseApiHarness, type Written, caseApiHarness, refsOf, resources } from './case-api-support';

let h: CaseApiHarness;
let caseId: string;
let clientId: string;
beforeAll(async () => {
  h = await caseApiHarness();
  ({ caseId, clientId } = await h.openCase());
});
afterAll(async () => {
  await h.t.close();
});

describe('record a screening', () => {
  test('a PHQ-9 in order: the response, its score, risk and item 9 Flag in one unit', async () => {
    const res = await h.command(`/cases/${caseId}/screenings`, {
      instrument: 'phq-9',
      answers: [2, 2, 1, 2, 2, 1, 1, 1, 1],
      authored: '2025-02-01T10:00:00-08:00',
      performer: 'PractitionerRole/cm-1',
    });
    expect(res.status).toBe(201);
    expect(res.body.written.map((w: Written) => w.reference.split('/')[0])).toEqual(['QuestionnaireResponse', 'Observation', 'RiskAssessment', 'Flag']);
    const qrRef = refsOf(res.body, 'QuestionnaireResponse')[0] as string;
    const qr = (await h.fhir(qrRef)).body;
    expect(qr).toMatchObject({ status: 'completed', questionnaire: 'http://casebridge.org/fhir/Questionnaire/phq-9', subject: { reference: `Patient/${clientId}` } });
    expect(qr.meta.profile).toEqual(['http://casebridge.org/fhir/StructureDefinition/cb-screening-response']);
    expect(qr.item[0].answer[0].valueCoding.code).toBe('LA6570-1');
    const linked = await h.fhir(`QuestionnaireResponse?episode-of-care=EpisodeOfCare/${caseId}&_revinclude=Observation:derived-from`);
    const [score] = resources(linked.body, 'Observation');
    expect(score?.valueInteger).toBe(13);
    const flag = (await h.fhir(refsOf(res.body, 'Flag')[0] as string)).body;
    expect(flag.status).toBe('active');
  });

  test('a GAD-7 by item number and LOINC code', async () => {
    const res = await h.command(`/cases/${caseId}/screenings`, {
      instrument: 'gad-7',
      answers: { '1': 3, '2': 2, '69733-4': 2, '4': 1, '5': 1, '6': 0, '7': 1 },
      authored: '2025-02-01',
    });
    expect(res.status).toBe(201);
    const score = (await h.fhir(refsOf(res.body, 'Observation')[0] as string)).body;
    expect(score.valueInteger).toBe(10);
  });

  test.each([
    ['an answer out of range', [2, 2, 1, 4, 2, 1, 1, 1, 1], 'answers[3]'],
    ['too few answers', [2, 2, 1], 'answers'],
    ['too many answers', [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 'answers[9]'],
  ])('%s: 422 located at the answer, nothing written', async (_what, answers, where) => {
    const before = await h.snapshot();
    const res = await h.command(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers, authored: '2025-02-01' });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].code).toBe('business-rule');
    expect(res.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? [])).toContain(where);
    expect(await h.snapshot()).toEqual(before);
  });

  test('an item that is not in the instrument: 422 at its key', async () => {
    const res = await h.command(`/cases/${caseId}/screenings`, { instrument: 'phq-2', answers: { '1': 1, '2': 1, '3': 1 }, authored: '2025-02-01' });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(["answers['3']"]);
  });

  test('answers that are not integers, an unknown instrument: 400', async () => {
    const res = await h.command(`/cases/${caseId}/screenings`, { instrument: 'bdi', answers: [1.5], authored: 'yesterday' });
    expect(res.status).toBe(400);
    const where = res.body.issue.map((i: { expression: string[] }) => i.expression[0]);
    expect(where).toEqual(expect.arrayContaining(['instrument', 'authored', 'answers[0]']));
  });
});

describe('set the risk level', () => {
  test('high: a RiskAssessment and an active high-risk Flag', async () => {
    const score = resources((await h.fhir(`Observation?patient=Patient/${clientId}&code=http://loinc.org|44261-6`)).body)[0];
    const res = await h.command(`/cases/${caseId}/risk`, {
      level: 'high',
      rationale: 'Recent loss of housing and positive PHQ-9 item 9',
      basis: [`Observation/${score?.id}`],
      assessed: '2025-02-02T09:00:00Z',
      recordedBy: 'PractitionerRole/cm-1',
    });
    expect(res.status).toBe(201);
    const assessment = (await h.fhir(refsOf(res.body, 'RiskAssessment')[0] as string)).body;
    expect(assessment.meta.profile).toEqual(['http://casebridge.org/fhir/StructureDefinition/cb-risk-assessment']);
    expect(assessment.prediction[0].qualitativeRisk.coding[0].code).toBe('high');
    expect(assessment.performer.reference).toBe('PractitionerRole/cm-1');
    const flag = (await h.fhir(refsOf(res.body, 'Flag')[0] as string)).body;
    expect(flag).toMatchObject({ status: 'active', period: { start: '2025-02-02T09:00:00Z' } });
    expect(flag.code.coding[0].code).toBe('high-risk');
  });

  test('a basis that does not exist: 422 naming it, nothing written', async () => {
    const before = await h.snapshot();
    const res = await h.command(`/cases/${caseId}/risk`, { level: 'low', rationale: 'r', basis: ['Observation/nope', `QuestionnaireResponse/nope-either`], assessedBy: 'PractitionerRole/cm-1' });
    expect(res.status).toBe(422);
    expect(res.body.issue.map((i: { code: string; expression: string[] }) => [i.code, i.expression[0]])).toEqual([
      ['not-found', 'basis[0]'],
      ['not-found', 'basis[1]'],
    ]);
    expect(await h.snapshot()).toEqual(before);
  });

  test('moderate later: the high-risk Flag ends, the item 9 Flag stays', async () => {
    const res = await h.command(`/cases/${caseId}/risk`, { level: 'moderate', rationale: 'Housing found; safety plan in place', assessed: '2025-03-01T09:00:00Z' });
    expect(res.status).toBe(201);
    expect(refsOf(res.body, 'Flag')).toHaveLength(1);
    const flags = resources((await h.fhir(`Flag?patient=Patient/${clientId}`)).body) as unknown as { status: string; code: { coding?: { code: string }[] }; period: { end?: string } }[];
    const highRisk = flags.find((f) => f.code.coding?.[0]?.code === 'high-risk');
    expect(highRisk).toMatchObject({ status: 'inactive', period: { end: '2025-03-01T09:00:00Z' } });
    expect(flags.filter((f) => f.status === 'active')).toHaveLength(1);
  });
});
