// The case view (GET /cm/v1/cases/{id}) is assembled from FHIR: a case walked through its
// phases reads back whole, and changes made through the FHIR API show in it.
import request from 'supertest';
import { FHIR_JSON } from '../../support/app';
import { type CaseApiHarness, type Written, caseApiHarness, refsOf } from './case-api-support';

let h: CaseApiHarness;
let caseId: string;
let clientId: string;
const ids: Record<string, string> = {};

const refOf = (body: { written: Written[] }, type: string, n = 0) => (refsOf(body, type)[n] ?? '').split('/')[1] as string;

beforeAll(async () => {
  h = await caseApiHarness();
  ({ caseId, clientId } = await h.openCase({ presentingProblems: [{ description: 'Anxiety' }], team: [{ member: 'Practitioner/therapist-1', role: 'Therapist' }] }));
  const ok = (res: { status: number; body: unknown }) => {
    if (res.status !== 201) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { written: Written[] };
  };
  ok(await h.command(`/cases/${caseId}/screenings`, { instrument: 'gad-7', answers: [2, 2, 2, 1, 1, 1, 1], authored: '2025-01-20T10:00:00Z' }));
  ok(await h.command(`/cases/${caseId}/risk`, { level: 'moderate', rationale: 'GAD-7 moderate; no safety concern', assessed: '2025-01-20T11:00:00Z' }));
  const plan = ok(
    await h.command(`/cases/${caseId}/plan`, {
      start: '2025-01-21',
      goals: [{ key: 'anxiety', description: 'Reduce anxiety' }],
      objectives: [{ goal: 'anxiety', description: 'Practise deep breathing 10 minutes a day', measure: { text: 'Minutes per day' }, target: { value: 10, unit: 'min/d' }, due: '2025-04-30' }],
      interventions: [{ service: { text: 'CBT' }, provider: 'Organization/counselling', frequency: 'weekly', goal: 'anxiety' }],
    }),
  );
  ids.plan = refOf(plan, 'CarePlan');
  ids.goal = refOf(plan, 'Goal', 0);
  ids.objective = refOf(plan, 'Goal', 1);
  ok(await h.command(`/cases/${caseId}/objectives/${ids.objective}/progress`, { date: '2025-02-01', value: 5, note: 'Most days' }));
  const referral = ok(await h.command(`/cases/${caseId}/referrals`, { service: { text: 'Housing search assistance' }, to: 'Organization/housing-partner', reason: 'Facing eviction', authored: '2025-01-25T09:00:00Z' }));
  ids.referral = refOf(referral, 'ServiceRequest');
  ids.task = refOf(referral, 'Task');
  ok(await h.command(`/cases/${caseId}/contacts`, { type: 'home-visit', start: '2025-01-28T10:00:00Z', end: '2025-01-28T11:00:00Z', note: 'Visited at home.' }));
  ok(await h.command(`/cases/${caseId}/events`, { category: 'crisis', occurred: '2025-01-30T22:00:00Z', note: 'Panic attack, called crisis line.', safetyConcern: true }));
  ok(await h.command(`/cases/${caseId}/consents`, { kind: 'disclosure', recipients: ['Organization/housing-partner'], date: '2025-01-25' }));
});
afterAll(async () => {
  await h.t.close();
});

describe('GET /cm/v1/cases/{id}', () => {
  test('client, status history, team, problems', async () => {
    const res = await h.get(`/cases/${caseId}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const view = res.body;
    expect(view).toMatchObject({ id: caseId, status: 'active', opened: '2025-01-20', caseManager: 'PractitionerRole/cm-1', agency: 'Organization/agency' });
    expect(view.client).toMatchObject({ id: clientId, name: 'Ada Okafor', gender: 'female' });
    expect(view.statusHistory).toEqual([{ status: 'active', start: '2025-01-20' }]);
    expect(view.team).toEqual([
      { member: 'PractitionerRole/cm-1', role: 'Case Manager/Care Coordinator' },
      { member: 'Practitioner/therapist-1', role: 'Therapist' },
    ]);
    expect(view.presentingProblems).toEqual([expect.objectContaining({ description: 'Anxiety', category: 'health-concern' })]);
  });

  test('the plan: goals → objectives → progress, interventions', async () => {
    const { plan } = (await h.get(`/cases/${caseId}`)).body;
    expect(plan.id).toBe(ids.plan);
    expect(plan.goals).toHaveLength(1);
    const [goal] = plan.goals;
    expect(goal).toMatchObject({ id: ids.goal, description: 'Reduce anxiety', lifecycleStatus: 'active', achievementStatus: 'in-progress' });
    expect(goal.objectives).toEqual([
      expect.objectContaining({
        id: ids.objective,
        measure: 'Minutes per day',
        target: { value: 10, unit: 'min/d', comparator: '>=' },
        due: '2025-04-30',
        progress: [expect.objectContaining({ date: '2025-02-01', value: 5, unit: 'min/d', note: 'Most days' })],
      }),
    ]);
    expect(goal.interventions).toEqual([expect.objectContaining({ service: 'CBT', provider: 'Organization/counselling', frequency: 'weekly', status: 'active' })]);
  });

  test('screenings, risk, flags, consent, referrals and the timeline in date order', async () => {
    const view = (await h.get(`/cases/${caseId}`)).body;
    expect(view.screenings).toEqual([expect.objectContaining({ instrument: 'GAD-7', score: 10 })]);
    // The latest risk: the case manager's, after the screening's.
    expect(view.risk).toMatchObject({ level: 'moderate', method: 'Case manager judgement', rationale: 'GAD-7 moderate; no safety concern' });
    expect(view.risk.history).toHaveLength(1);
    expect(view.flags).toEqual([expect.objectContaining({ category: 'safety', since: '2025-01-30T22:00:00Z' })]);
    expect(view.consents).toEqual([expect.objectContaining({ recipients: ['Organization/housing-partner'], purposes: ['TREAT'], policy: 'hipaa-auth' })]);
    expect(view.referrals).toEqual([expect.objectContaining({ id: ids.referral, service: 'Housing search assistance', status: 'active', task: expect.objectContaining({ id: ids.task, status: 'requested' }) })]);
    expect(view.timeline.map((e: { kind: string }) => e.kind)).toEqual(['screening', 'referral', 'contact', 'event', 'progress']);
    const contact = view.timeline.find((e: { kind: string }) => e.kind === 'contact');
    expect(contact).toMatchObject({ type: 'Home visit', setting: 'HH', notes: [expect.objectContaining({ text: 'Visited at home.' })] });
  });

  test('a FHIR-side change shows: the receiving agency accepts the Task by PUT, an EHR patches a Goal', async () => {
    const task = (await h.fhir(`Task/${ids.task}`)).body;
    const put = await request(h.t.app)
      .put(`/fhir/Task/${ids.task}`)
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ ...task, status: 'accepted', lastModified: '2025-02-02T08:00:00Z' }));
    expect(put.status).toBe(200);
    const patch = await request(h.t.app)
      .patch(`/fhir/Goal/${ids.goal}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'replace', path: '/description/text', value: 'Reduce anxiety at work' }, { op: 'add', path: '/lifecycleStatus', value: 'on-hold' }]));
    expect(patch.status).toBe(200);
    const view = (await h.get(`/cases/${caseId}`)).body;
    expect(view.referrals[0].task).toMatchObject({ status: 'accepted', lastModified: '2025-02-02T08:00:00Z' });
    expect(view.plan.goals[0]).toMatchObject({ description: 'Reduce anxiety at work', lifecycleStatus: 'on-hold' });
  });

  test('plan history after a revision; closed case with its status history', async () => {
    await h.command(`/cases/${caseId}/plan/revisions`, { start: '2025-03-01', reason: 'Review', goals: [{ key: 'a', id: `Goal/${ids.goal}` }] });
    await h.command(`/cases/${caseId}/close`, { date: '2025-06-01', reason: 'Goals met' });
    const view = (await h.get(`/cases/${caseId}`)).body;
    expect(view.planHistory.map((p: { status: string }) => p.status)).toEqual(['completed', 'revoked']);
    expect(view.planHistory[0].replaces).toEqual([`CarePlan/${ids.plan}`]);
    // After closure the view keeps the plan the case worked on, and the reason for closure.
    expect(view.plan).toMatchObject({ id: view.planHistory[0].id, status: 'completed' });
    expect(view.evaluation.closure).toEqual({ date: '2025-06-01', reason: 'Goals met' });
    expect(view).toMatchObject({ status: 'finished', closed: '2025-06-01' });
    expect(view.statusHistory).toEqual([
      { status: 'active', start: '2025-01-20', end: '2025-06-01' },
      { status: 'finished', start: '2025-06-01' },
    ]);
  });

  test('an unknown case: 404 OperationOutcome', async () => {
    const res = await h.get('/cases/no-such-case');
    expect(res.status).toBe(404);
    expect(res.body.issue[0].code).toBe('not-found');
  });
});

describe('GET /cm/v1/cases?client=', () => {
  test("lists the client's cases", async () => {
    const res = await h.get(`/cases?client=${clientId}`);
    expect(res.status).toBe(200);
    expect(res.body.cases).toEqual([expect.objectContaining({ id: caseId, status: 'finished', view: `/cm/v1/cases/${caseId}` })]);
  });

  test('an unknown client is 404; no client lists the caseload the caller may see', async () => {
    expect((await h.get('/cases?client=nobody')).status).toBe(404);
    const all = await h.get('/cases?count=100');
    expect(all.status).toBe(200);
    expect(all.body.cases.map((c: { id: string }) => c.id)).toContain(caseId);
  });
});
