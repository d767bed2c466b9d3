// The case API: service plans (create, revise), progress on objectives, and what FHIR clients read.
import { type CaseApiHarness, type Written, caseApiHarness, refsOf, resources } from './case-api-support';

let h: CaseApiHarness;
beforeAll(async () => {
  h = await caseApiHarness();
});
afterAll(async () => {
  await h.t.close();
});

const plan = () => ({
  title: 'Service plan 2025',
  start: '2025-01-21',
  goals: [
    { key: 'anxiety', description: 'Reduce anxiety', priority: 'high' },
    { key: 'skills', description: 'Improve communication skills' },
  ],
  objectives: [
    { goal: 'anxiety', description: 'Practise deep breathing 10 minutes a day', measure: { text: 'Minutes of deep breathing per day' }, target: { value: 10, unit: 'min/d' }, due: '2025-04-30' },
    { goal: 'anxiety', description: 'Exercise three times a week', measure: { text: 'Exercise sessions per week' }, target: { value: 3, unit: '/wk' }, due: '2025-04-30' },
    {
      goal: 'skills',
      description: 'GAD-7 below 5',
      measure: { text: 'GAD-7 total score', code: { system: 'http://loinc.org', code: '70274-6' } },
      target: { value: 5, comparator: '<' },
      due: '2025-06-30',
    },
  ],
  interventions: [
    { service: { text: 'Cognitive behavioural therapy' }, provider: 'Organization/counselling', frequency: 'weekly', goal: 'anxiety' },
    { service: { text: 'Social skills group' }, provider: 'Organization/community-centre', goal: 'skills' },
  ],
  recordedBy: 'PractitionerRole/cm-1',
});

describe('create a service plan', () => {
  let caseId: string;
  let clientId: string;
  let created: { written: Written[] };
  beforeAll(async () => {
    ({ caseId, clientId } = await h.openCase());
    const res = await h.command(`/cases/${caseId}/plan`, plan());
    expect(res.status).toBe(201);
    created = res.body;
  });

  test('writes the plan, 2 goals, 3 objectives, 2 interventions', () => {
    expect(refsOf(created, 'CarePlan')).toHaveLength(1);
    expect(refsOf(created, 'Goal')).toHaveLength(5);
    expect(refsOf(created, 'ServiceRequest')).toHaveLength(2);
  });

  test('the US Core query returns the active plan with all its goals', async () => {
    const res = await h.fhir(`CarePlan?patient=Patient/${clientId}&category=assess-plan&status=active&_include=CarePlan:goal`);
    expect(res.status).toBe(200);
    const [careplan] = resources(res.body, 'CarePlan');
    expect(careplan?.meta).toMatchObject({ profile: ['http://casebridge.org/fhir/StructureDefinition/cb-service-plan'] });
    expect(careplan?.category).toEqual(expect.arrayContaining([expect.objectContaining({ coding: [expect.objectContaining({ code: 'assess-plan' })] })]));
    expect(careplan?.extension).toEqual([{ url: 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare', valueReference: { reference: `EpisodeOfCare/${caseId}` } }]);
    expect(resources(res.body, 'Goal').map((g) => `Goal/${g.id}`).sort()).toEqual(refsOf(created, 'Goal').sort());
    expect((careplan?.activity as unknown[]).length).toBe(2);
    expect((careplan?.text as { div: string }).div).toContain('Practise deep breathing 10 minutes a day');
  });

  test('objectives hang off their goal: Goal?milestone finds the parent, _include brings the objectives', async () => {
    const goals = resources((await h.fhir(`Goal?patient=Patient/${clientId}&_count=50`)).body) as unknown as { id: string; description: { text: string }; meta: { profile: string[] } }[];
    const anxiety = goals.find((g) => g.description.text === 'Reduce anxiety') as { id: string };
    const breathing = goals.find((g) => g.description.text.startsWith('Practise')) as { id: string; meta: { profile: string[] } };
    expect(breathing.meta.profile).toEqual(['http://casebridge.org/fhir/StructureDefinition/cb-objective']);
    const parent = await h.fhir(`Goal?milestone=Goal/${breathing.id}`);
    expect(resources(parent.body).map((g) => g.id)).toEqual([anxiety.id]);
    const withObjectives = await h.fhir(`Goal?_id=${anxiety.id}&_include=Goal:milestone`);
    expect(resources(withObjectives.body)).toHaveLength(3);
    const interventions = await h.fhir(`ServiceRequest?pertains-to-goal=Goal/${anxiety.id}`);
    expect(resources(interventions.body).map((s) => (s.code as { text: string }).text)).toEqual(['Cognitive behavioural therapy']);
  });

  test('a second plan while one is active: 409, nothing written', async () => {
    const before = await h.snapshot();
    const res = await h.command(`/cases/${caseId}/plan`, plan());
    expect(res.status).toBe(409);
    expect(await h.snapshot()).toEqual(before);
  });
});

describe('an objective without a goal', () => {
  test('an objective naming no goal of the plan: 422 at objectives[i].goal, nothing written', async () => {
    const { caseId } = await h.openCase();
    const body = plan();
    body.objectives[1]!.goal = 'sleep';
    const before = await h.snapshot();
    const res = await h.command(`/cases/${caseId}/plan`, body);
    expect(res.status).toBe(422);
    expect(res.body.issue).toHaveLength(1);
    expect(res.body.issue[0]).toMatchObject({ code: 'business-rule', expression: ['objectives[1].goal'] });
    expect(res.body.issue[0].diagnostics).toMatch(/objectives\[1\] has no goal/);
    expect(await h.snapshot()).toEqual(before);
  });

  test('an objective with no goal at all, or an objective missing its measure: 400 located', async () => {
    const { caseId } = await h.openCase();
    const body = plan() as { objectives: Record<string, unknown>[] };
    delete body.objectives[0]!.goal;
    delete body.objectives[2]!.measure;
    const res = await h.command(`/cases/${caseId}/plan`, body);
    expect(res.status).toBe(400);
    expect(res.body.issue.map((i: { expression: string[] }) => i.expression[0]).sort()).toEqual(['objectives[0].goal', 'objectives[2].measure']);
  });

  test('on an unknown case: 404', async () => {
    const res = await h.command('/cases/no-such-case/plan', plan());
    expect(res.status).toBe(404);
    expect(res.body.issue[0].code).toBe('not-found');
  });
});

describe('progress on objectives drives goal statuses', () => {
  let caseId: string;
  let ids: { anxiety: string; breathing: string; exercise: string; gad: string; skills: string };
  beforeAll(async () => {
    ({ caseId } = await h.openCase());
    const res = await h.command(`/cases/${caseId}/plan`, plan());
    const goals = await Promise.all(refsOf(res.body, 'Goal').map(async (r) => (await h.fhir(r)).body));
    const named = (text: string) => goals.find((g) => g.description.text.startsWith(text)).id as string;
    ids = { anxiety: named('Reduce'), breathing: named('Practise'), exercise: named('Exercise'), gad: named('GAD-7'), skills: named('Improve') };
  });

  const progress = (objective: string, body: object) => h.command(`/cases/${caseId}/objectives/${objective}/progress`, { recordedBy: 'PractitionerRole/cm-1', ...body });
  const goal = async (id: string) => (await h.fhir(`Goal/${id}`)).body;

  test('a first measurement below target: the objective is in progress, the Observation is its outcome', async () => {
    const res = await progress(ids.breathing, { date: '2025-02-01', value: 4, note: 'Practising most days' });
    expect(res.status).toBe(201);
    const observationRef = refsOf(res.body, 'Observation')[0] as string;
    const breathing = await goal(ids.breathing);
    expect(breathing.outcomeReference).toEqual([{ reference: observationRef }]);
    expect(breathing.achievementStatus.coding[0].code).toBe('in-progress');
    const observation = (await h.fhir(observationRef)).body;
    expect(observation).toMatchObject({ status: 'final', valueQuantity: { value: 4, unit: 'min/d' }, effectiveDateTime: '2025-02-01', focus: [{ reference: `Goal/${ids.breathing}` }] });
    expect(observation.code.text).toBe('Minutes of deep breathing per day');
    const byFocus = await h.fhir(`Observation?focus=Goal/${ids.breathing}`);
    expect(resources(byFocus.body)).toHaveLength(1);
  });

  test('a better measurement: improving; reaching the target: achieved and completed, the goal improving', async () => {
    await progress(ids.breathing, { date: '2025-02-15', value: 7 });
    expect((await goal(ids.breathing)).achievementStatus.coding[0].code).toBe('improving');
    await progress(ids.breathing, { date: '2025-03-01', value: 10 });
    const breathing = await goal(ids.breathing);
    expect(breathing).toMatchObject({ lifecycleStatus: 'completed', statusDate: '2025-03-01' });
    expect(breathing.achievementStatus.coding[0].code).toBe('achieved');
    const anxiety = await goal(ids.anxiety);
    expect(anxiety.achievementStatus.coding[0].code).toBe('improving');
    expect(anxiety.lifecycleStatus).toBe('active');
    // Improving since the breathing objective improved.
    expect(anxiety.statusDate).toBe('2025-02-15');
  });

  test('every objective achieved: the goal is achieved and completed', async () => {
    await progress(ids.exercise, { date: '2025-03-05', text: 'Three sessions every week since February', achieved: true });
    const anxiety = await goal(ids.anxiety);
    expect(anxiety.achievementStatus.coding[0].code).toBe('achieved');
    expect(anxiety).toMatchObject({ lifecycleStatus: 'completed', statusDate: '2025-03-05' });
  });

  test('a "below" target: lower is better', async () => {
    await progress(ids.gad, { date: '2025-02-01', value: 12 });
    await progress(ids.gad, { date: '2025-03-01', value: 14 });
    expect((await goal(ids.gad)).achievementStatus.coding[0].code).toBe('worsening');
    await progress(ids.gad, { date: '2025-04-01', value: 4 });
    expect((await goal(ids.gad)).achievementStatus.coding[0].code).toBe('achieved');
    expect((await goal(ids.skills)).achievementStatus.coding[0].code).toBe('achieved');
  });

  test('progress on a goal that is not an objective of the plan: 404, nothing written', async () => {
    const before = await h.snapshot();
    const res = await progress(ids.anxiety, { date: '2025-03-01', value: 1 });
    expect(res.status).toBe(404);
    expect(await h.snapshot()).toEqual(before);
  });
});

describe('revise the plan', () => {
  let caseId: string;
  let clientId: string;
  let first: { written: Written[] };
  let goalIds: Record<string, string>;
  let revision: { written: Written[]; [k: string]: unknown };
  beforeAll(async () => {
    ({ caseId, clientId } = await h.openCase());
    first = (await h.command(`/cases/${caseId}/plan`, plan())).body;
    const goals = await Promise.all(refsOf(first, 'Goal').map(async (r) => (await h.fhir(r)).body));
    goalIds = Object.fromEntries(goals.map((g) => [g.description.text, g.id]));
    const interventions = await Promise.all(refsOf(first, 'ServiceRequest').map(async (r) => (await h.fhir(r)).body));
    const cbt = interventions.find((s) => s.code.text.startsWith('Cognitive')).id;
    const res = await h.command(`/cases/${caseId}/plan/revisions`, {
      start: '2025-04-01',
      reason: 'Quarterly review: breathing target raised, communication goal replaced',
      goals: [
        { key: 'anxiety', id: `Goal/${goalIds['Reduce anxiety']}` },
        { key: 'sleep', description: 'Sleep through the night' },
      ],
      objectives: [
        { goal: 'anxiety', id: `Goal/${goalIds['Practise deep breathing 10 minutes a day']}`, description: 'Practise deep breathing 15 minutes a day', target: { value: 15, unit: 'min/d' } },
        { goal: 'sleep', description: 'Keep a sleep diary', measure: { text: 'Nights recorded per week' }, target: { value: 7 }, due: '2025-06-30' },
      ],
      interventions: [{ id: `ServiceRequest/${cbt}`, frequency: 'every two weeks' }],
      recordedBy: 'PractitionerRole/cm-1',
    });
    expect(res.status).toBe(201);
    revision = res.body;
  });

  test('the old plan is revoked, its period ended; the new plan replaces it', async () => {
    const oldPlan = (await h.fhir(refsOf(first, 'CarePlan')[0] as string)).body;
    expect(oldPlan.status).toBe('revoked');
    expect(oldPlan.period).toEqual({ start: '2025-01-21', end: '2025-04-01' });
    const newRef = refsOf(revision, 'CarePlan').find((r) => r !== refsOf(first, 'CarePlan')[0]) as string;
    const newPlan = (await h.fhir(newRef)).body;
    expect(newPlan.replaces).toEqual([{ reference: refsOf(first, 'CarePlan')[0] }]);
    expect(newPlan.status).toBe('active');
    const active = await h.fhir(`CarePlan?patient=Patient/${clientId}&category=assess-plan&status=active&_include=CarePlan:goal`);
    expect(resources(active.body, 'CarePlan').map((p) => `CarePlan/${p.id}`)).toEqual([newRef]);
    expect(resources(active.body, 'Goal')).toHaveLength(4);
  });

  test('carried-forward goals are the same resources, changed as new versions', async () => {
    const breathing = (await h.fhir(`Goal/${goalIds['Practise deep breathing 10 minutes a day']}`)).body;
    expect(breathing.meta.versionId).toBe('2');
    expect(breathing.description.text).toBe('Practise deep breathing 15 minutes a day');
    expect(breathing.target[0]).toMatchObject({ measure: { text: 'Minutes of deep breathing per day' }, detailQuantity: { value: 15 }, dueDate: '2025-04-30' });
    const anxiety = (await h.fhir(`Goal/${goalIds['Reduce anxiety']}`)).body;
    // The exercise objective was not carried forward: no longer a milestone of the goal.
    expect(anxiety.extension).toHaveLength(1);
  });

  test('what was not carried forward is cancelled (goals) or revoked (interventions)', async () => {
    for (const text of ['Improve communication skills', 'Exercise three times a week', 'GAD-7 below 5']) {
      const g = (await h.fhir(`Goal/${goalIds[text]}`)).body;
      expect(g.lifecycleStatus).toBe('cancelled');
      expect(g.statusReason).toMatch(/^Not carried forward in the plan revision/);
    }
    const group = resources((await h.fhir(`ServiceRequest?patient=Patient/${clientId}&code:text=Social`)).body)[0];
    expect(group?.status).toBe('revoked');
  });

  test('PUT …/plan revises too; a goal id from another plan is 422 at goals[0].id', async () => {
    const before = await h.snapshot();
    const res = await h.command(`/cases/${caseId}/plan`, { reason: 'x', goals: [{ key: 'g', id: 'Goal/not-in-the-plan' }] }, { method: 'put' });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['goals[0].id']);
    expect(await h.snapshot()).toEqual(before);
  });

  test('a revision without an active plan: 409', async () => {
    const other = await h.openCase();
    const res = await h.command(`/cases/${other.caseId}/plan/revisions`, { reason: 'x', goals: [{ key: 'g', description: 'A goal' }] });
    expect(res.status).toBe(409);
  });
});
