// The case's life as a state machine: referral received (planned) → waitlist → active → on hold →
// closed, reopen and reassign; refused moves name the moves allowed; closing winds up everything
// that belongs to the case (plan, CareTeam, open referral Tasks, appointments still to come).
import request from 'supertest';
import { FHIR_JSON } from '../../support/app';
import { type CaseApiHarness, caseApiHarness, refsOf, resources } from './case-api-support';

let h: CaseApiHarness;
beforeAll(async () => {
  h = await caseApiHarness();
});
afterAll(async () => {
  await h.t.close();
});

const planBody = {
  start: '2025-02-01',
  goals: [{ key: 'a', description: 'Stable housing' }],
  objectives: [{ goal: 'a', description: 'Apply for housing', measure: { text: 'applications' }, target: { value: 2 }, due: '2025-06-30' }],
  interventions: [{ service: { text: 'Housing navigation' }, goal: 'a' }],
};

async function appointmentFor(caseId: string, start: string, actor = 'PractitionerRole/cm-1'): Promise<string> {
  const episode = (await h.fhir(`EpisodeOfCare/${caseId}`)).body;
  const res = await request(h.t.app)
    .post('/fhir/Appointment')
    .set('Content-Type', FHIR_JSON)
    .send(
      JSON.stringify({
        resourceType: 'Appointment',
        status: 'booked',
        start,
        end: start.replace(/T(\d\d)/, (_m, hh: string) => `T${String(Number(hh) + 1).padStart(2, '0')}`),
        supportingInformation: [{ reference: `EpisodeOfCare/${caseId}` }],
        participant: [
          { actor: episode.patient, status: 'accepted' },
          { actor: { reference: actor }, status: 'accepted' },
        ],
      }),
    );
  expect(res.status).toBe(201);
  return `Appointment/${res.body.id}`;
}

describe('the states of a case', () => {
  test('planned → waitlist → active → on hold → active → finished → reopened, each move in statusHistory', async () => {
    const { caseId } = await h.openCase({ status: 'planned', opened: '2025-01-20' });
    expect((await h.fhir(`EpisodeOfCare/${caseId}`)).body.status).toBe('planned');
    // No plan before the case is active.
    const early = await h.command(`/cases/${caseId}/plan`, planBody);
    expect(early.status).toBe(409);
    expect(early.body.issue[0].diagnostics).toBe(`Case ${caseId} is planned (referral received): cannot create a service plan (allowed when the case is active)`);

    expect((await h.command(`/cases/${caseId}/status`, { status: 'waitlist', date: '2025-01-22', reason: 'No capacity this month' })).status).toBe(201);
    const onWaitlist = await h.command(`/cases/${caseId}/plan`, planBody);
    expect(onWaitlist.status).toBe(409);
    expect((await h.command(`/cases/${caseId}/status`, { status: 'active', date: '2025-02-01' })).status).toBe(201);
    const plan = await h.command(`/cases/${caseId}/plan`, planBody);
    expect(plan.status).toBe(201);
    const carePlan = refsOf(plan.body, 'CarePlan')[0] as string;
    const intervention = refsOf(plan.body, 'ServiceRequest')[0] as string;

    const hold = await h.command(`/cases/${caseId}/status`, { status: 'onhold', date: '2025-03-01', reason: 'Hospital stay' });
    expect(hold.status).toBe(201);
    expect((await h.fhir(carePlan)).body.status).toBe('on-hold');
    expect((await h.fhir(intervention)).body.status).toBe('on-hold');
    // Progress is not recorded on a paused plan.
    const goal = (await h.fhir(`Goal?_id=${refsOf(plan.body, 'Goal').map((r) => r.split('/')[1]).join(',')}`)).body;
    const objective = resources(goal).find((g) => (g.description as { text: string }).text === 'Apply for housing');
    const progress = await h.command(`/cases/${caseId}/objectives/${objective?.id}/progress`, { date: '2025-03-02', value: 1 });
    expect(progress.status).toBe(409);
    expect(progress.body.issue[0].diagnostics).toMatch(/is on hold: cannot record progress \(allowed when the case is active\)/);

    expect((await h.command(`/cases/${caseId}/status`, { status: 'active', date: '2025-03-15', reason: 'Discharged from hospital' })).status).toBe(201);
    expect((await h.fhir(carePlan)).body.status).toBe('active');
    expect((await h.fhir(intervention)).body.status).toBe('active');

    expect((await h.command(`/cases/${caseId}/close`, { date: '2025-05-01', reason: 'Goals met' })).status).toBe(201);
    expect((await h.command(`/cases/${caseId}/reopen`, { date: '2025-06-01', reason: 'Lost housing again' })).status).toBe(201);
    const episode = (await h.fhir(`EpisodeOfCare/${caseId}`)).body;
    expect(episode.status).toBe('active');
    expect(episode.period).toEqual({ start: '2025-01-20' });
    expect(episode.statusHistory).toEqual([
      { status: 'planned', period: { start: '2025-01-20', end: '2025-01-22' } },
      { status: 'waitlist', period: { start: '2025-01-22', end: '2025-02-01' } },
      { status: 'active', period: { start: '2025-02-01', end: '2025-03-01' } },
      { status: 'onhold', period: { start: '2025-03-01', end: '2025-03-15' } },
      { status: 'active', period: { start: '2025-03-15', end: '2025-05-01' } },
      { status: 'finished', period: { start: '2025-05-01', end: '2025-06-01' } },
      { status: 'active', period: { start: '2025-06-01' } },
    ]);
    // The plan of the first episode of service stays completed; a new one may be made.
    expect((await h.fhir(carePlan)).body.status).toBe('completed');
    expect((await h.command(`/cases/${caseId}/plan`, { ...planBody, start: '2025-06-01' })).status).toBe(201);
    // Each reason is kept in a case note.
    const notes = await h.fhir(`DocumentReference?encounter=EpisodeOfCare/${caseId}&_sort=date`);
    const texts = resources(notes.body).map((d) => Buffer.from((d.content as { attachment: { data: string } }[])[0]?.attachment.data ?? '', 'base64').toString('utf8'));
    expect(texts).toEqual(expect.arrayContaining(['Case now on the waitlist: No capacity this month', 'Case now on hold: Hospital stay', 'Case resumed: Discharged from hospital', 'Case reopened: Lost housing again']));
  });

  test('a move the machine does not allow: 422 naming the moves allowed from there, nothing written', async () => {
    const { caseId } = await h.openCase({ status: 'waitlist' });
    const before = await h.snapshot();
    const hold = await h.command(`/cases/${caseId}/status`, { status: 'onhold', reason: 'x' });
    expect(hold.status).toBe(422);
    expect(hold.body.issue[0]).toMatchObject({ severity: 'error', code: 'business-rule', expression: ['EpisodeOfCare.status'] });
    expect(hold.body.issue[0].diagnostics).toBe(
      `Case ${caseId} is waitlist: it cannot become onhold by change-case-status; from waitlist it may become active (change-case-status), cancelled (change-case-status)`,
    );
    const reopen = await h.command(`/cases/${caseId}/reopen`, { reason: 'x' });
    expect(reopen.status).toBe(422);
    expect(reopen.body.issue[0].diagnostics).toMatch(/cannot become active by reopen-case; from waitlist it may become active \(change-case-status\)/);
    const close = await h.command(`/cases/${caseId}/close`, { reason: 'x' });
    expect(close.status).toBe(422);
    expect(await h.snapshot()).toEqual(before);
  });

  test('a reason is required to hold or cancel: 400 at the field', async () => {
    const { caseId } = await h.openCase();
    const res = await h.command(`/cases/${caseId}/status`, { status: 'onhold' });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.issue)).toMatch(/reason/);
  });

  test('cancelled before it started: the case is cancelled with period.end, its team inactive; it may be reopened', async () => {
    const { caseId } = await h.openCase({ status: 'planned', opened: '2025-01-20' });
    const res = await h.command(`/cases/${caseId}/status`, { status: 'cancelled', date: '2025-01-25', reason: 'Client declined services' });
    expect(res.status).toBe(201);
    const episode = (await h.fhir(`EpisodeOfCare/${caseId}`)).body;
    expect(episode).toMatchObject({ status: 'cancelled', period: { start: '2025-01-20', end: '2025-01-25' } });
    const team = (await h.fhir(episode.team[0].reference)).body;
    expect(team).toMatchObject({ status: 'inactive', period: { end: '2025-01-25' } });
    expect((await h.command(`/cases/${caseId}/reopen`, { date: '2025-02-10', reason: 'Client asked again' })).status).toBe(201);
    expect((await h.fhir(episode.team[0].reference)).body.status).toBe('active');
  });
});

describe('closing winds up what belongs to the case', () => {
  test('plan completed, CareTeam inactive, open referral Tasks cancelled and their ServiceRequests revoked (but kept ones), future appointments cancelled', async () => {
    const { caseId } = await h.openCase({ opened: '2025-01-20' });
    const plan = await h.command(`/cases/${caseId}/plan`, planBody);
    const referral = async (to: string) => {
      const res = await h.command(`/cases/${caseId}/referrals`, { service: { text: 'Support' }, to, reason: 'Needs support', authored: '2025-02-01T10:00:00Z' });
      expect(res.status).toBe(201);
      return { sr: refsOf(res.body, 'ServiceRequest')[0] as string, task: refsOf(res.body, 'Task')[0] as string };
    };
    const housing = await referral('Organization/housing-partner');
    const jobs = await referral('Organization/jobs');
    const past = await appointmentFor(caseId, '2025-03-10T10:00:00Z');
    const future = await appointmentFor(caseId, '2025-06-10T10:00:00Z');
    const res = await h.command(`/cases/${caseId}/close`, { date: '2025-05-01', reason: 'Client moved away', keepReferrals: [jobs.sr] });
    expect(res.status).toBe(201);

    expect((await h.fhir(refsOf(plan.body, 'CarePlan')[0] as string)).body.status).toBe('completed');
    const episode = (await h.fhir(`EpisodeOfCare/${caseId}`)).body;
    expect((await h.fhir(episode.team[0].reference)).body).toMatchObject({ status: 'inactive', period: { end: '2025-05-01' } });
    expect((await h.fhir(housing.task)).body).toMatchObject({ status: 'cancelled', statusReason: { text: 'Case closed: Client moved away' } });
    expect((await h.fhir(housing.sr)).body.status).toBe('revoked');
    expect((await h.fhir(jobs.task)).body.status).toBe('requested');
    expect((await h.fhir(jobs.sr)).body.status).toBe('active');
    expect((await h.fhir(past)).body.status).toBe('booked');
    const cancelled = (await h.fhir(future)).body;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.cancelationReason.coding[0]).toMatchObject({ code: 'prov-dch' });
    // Nothing the case owns is left active.
    expect(resources((await h.fhir(`CareTeam?_id=${episode.team[0].reference.split('/')[1]}&status=active`)).body)).toHaveLength(0);
  });

  test('a keepReferrals entry that is not a referral of the case: 422 naming the field', async () => {
    const { caseId } = await h.openCase();
    const res = await h.command(`/cases/${caseId}/close`, { reason: 'x', keepReferrals: ['ServiceRequest/does-not-exist'] });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['keepReferrals[0]']);
  });
});

describe('reassignment', () => {
  test('the new case manager on the episode and the CareTeam (the previous one’s participation ended), upcoming appointments moved', async () => {
    const { caseId } = await h.openCase({ opened: '2025-01-20' });
    const upcoming = await appointmentFor(caseId, '2025-04-10T10:00:00Z');
    const res = await h.command(`/cases/${caseId}/reassign`, { caseManager: 'PractitionerRole/cm-2', date: '2025-03-01', reason: 'Caseload balancing' });
    expect(res.status).toBe(201);
    const episode = (await h.fhir(`EpisodeOfCare/${caseId}`)).body;
    expect(episode.careManager.reference).toBe('PractitionerRole/cm-2');
    const team = (await h.fhir(episode.team[0].reference)).body;
    const managers = team.participant.filter((p: { member: { reference: string } }) => p.member.reference.startsWith('PractitionerRole/cm-'));
    expect(managers).toEqual([
      expect.objectContaining({ member: { reference: 'PractitionerRole/cm-1' }, period: expect.objectContaining({ end: '2025-03-01' }) }),
      expect.objectContaining({ member: { reference: 'PractitionerRole/cm-2' }, period: { start: '2025-03-01' } }),
    ]);
    const appointment = (await h.fhir(upcoming)).body;
    expect(appointment.participant.map((p: { actor: { reference: string }; status: string }) => [p.actor.reference, p.status])).toContainEqual(['PractitionerRole/cm-2', 'needs-action']);
    // The caseload of the new case manager holds it; FHIR search by PractitionerRole works.
    const found = await h.fhir(`EpisodeOfCare?care-manager=PractitionerRole/cm-2&_id=${caseId}`);
    expect(found.status).toBe(200);
    expect(resources(found.body).map((r) => r.id)).toEqual([caseId]);
    const chained = await h.fhir(`EpisodeOfCare?care-manager:PractitionerRole.practitioner=Practitioner/case-manager-2&_id=${caseId}`);
    expect(resources(chained.body).map((r) => r.id)).toEqual([caseId]);
    expect(resources((await h.fhir(`EpisodeOfCare?care-manager=PractitionerRole/cm-1&_id=${caseId}`)).body)).toHaveLength(0);
  });

  test('to the same case manager: 422; to one that does not exist: 422 naming caseManager; on a closed case: 409', async () => {
    const { caseId } = await h.openCase();
    const same = await h.command(`/cases/${caseId}/reassign`, { caseManager: 'PractitionerRole/cm-1', reason: 'x' });
    expect(same.status).toBe(422);
    expect(same.body.issue[0].expression).toEqual(['caseManager']);
    const unknown = await h.command(`/cases/${caseId}/reassign`, { caseManager: 'PractitionerRole/nobody', reason: 'x' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.issue[0].expression).toEqual(['caseManager']);
    await h.command(`/cases/${caseId}/close`, { reason: 'done' });
    const closed = await h.command(`/cases/${caseId}/reassign`, { caseManager: 'PractitionerRole/cm-2', reason: 'x' });
    expect(closed.status).toBe(409);
  });
});
