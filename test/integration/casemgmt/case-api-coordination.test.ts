// The case API: referrals and their status, contacts and notes, significant events, consent,
// transfer and closing — and the refusals of a closed case.
import { type CaseApiHarness, caseApiHarness, refsOf, resources } from './case-api-support';

let h: CaseApiHarness;
beforeAll(async () => {
  h = await caseApiHarness();
});
afterAll(async () => {
  await h.t.close();
});

const decode = (data: string) => Buffer.from(data, 'base64').toString('utf8');

describe('referrals', () => {
  let caseId: string;
  let clientId: string;
  let referral: string;
  let task: string;
  beforeAll(async () => {
    ({ caseId, clientId } = await h.openCase());
    const consent = await h.command(`/cases/${caseId}/consents`, { kind: 'disclosure', recipients: ['Organization/housing-partner'], date: '2025-02-01', expires: '2026-02-01' });
    const res = await h.command(`/cases/${caseId}/referrals`, {
      service: { text: 'Housing search assistance' },
      to: 'Organization/housing-partner',
      reason: 'Facing eviction',
      priority: 'urgent',
      consent: refsOf(consent.body, 'Consent')[0],
      authored: '2025-02-01T10:00:00-08:00',
      recordedBy: 'PractitionerRole/cm-1',
    });
    expect(res.status).toBe(201);
    referral = refsOf(res.body, 'ServiceRequest')[0] as string;
    task = refsOf(res.body, 'Task')[0] as string;
  });

  test('a ServiceRequest and a Task the receiving organization finds by owner and status', async () => {
    const found = await h.fhir('Task?owner=Organization/housing-partner&status=requested&_include=Task:focus');
    expect(resources(found.body, 'Task').map((t) => `Task/${t.id}`)).toEqual([task]);
    const [sr] = resources(found.body, 'ServiceRequest');
    expect(`ServiceRequest/${sr?.id}`).toBe(referral);
    expect(sr).toMatchObject({ intent: 'order', priority: 'urgent', requester: { reference: 'PractitionerRole/cm-1' }, subject: { reference: `Patient/${clientId}` } });
    expect((sr?.supportingInfo as { reference: string }[])[0]?.reference).toMatch(/^Consent\//);
    const t = resources(found.body, 'Task')[0] as unknown as { meta: { profile: string[] }; code: { coding: { code: string }[] } };
    expect(t.meta.profile).toEqual(['http://casebridge.org/fhir/StructureDefinition/cb-referral-task']);
    expect(t.code.coding[0]?.code).toBe('fulfill');
  });

  test('accepted, then completed: the Task moves, the ServiceRequest completes', async () => {
    const referralId = referral.split('/')[1];
    expect((await h.command(`/cases/${caseId}/referrals/${referralId}/status`, { status: 'accepted', date: '2025-02-03T09:00:00Z' })).status).toBe(201);
    expect((await h.command(`/cases/${caseId}/referrals/${referralId}/status`, { status: 'in-progress' })).status).toBe(201);
    const done = await h.command(`/cases/${caseId}/referrals/${referralId}/status`, { status: 'completed', note: 'Client moved into an apartment' });
    expect(done.status).toBe(201);
    expect((await h.fhir(task)).body.status).toBe('completed');
    expect((await h.fhir(referral)).body.status).toBe('completed');
  });

  test('a transition the workflow does not allow: 422 at status naming what is allowed, nothing written', async () => {
    const before = await h.snapshot();
    const res = await h.command(`/cases/${caseId}/referrals/${referral.split('/')[1]}/status`, { status: 'accepted' });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].code).toBe('business-rule');
    expect(res.body.issue[0].expression).toEqual(['status']);
    expect(res.body.issue[0].diagnostics).toMatch(/completed: it may become nothing further/);
    expect(await h.snapshot()).toEqual(before);
  });

  test('a referral to an organization that does not exist: 422 at to, nothing written', async () => {
    const before = await h.snapshot();
    const res = await h.command(`/cases/${caseId}/referrals`, { service: { text: 'Food bank' }, to: 'Organization/does-not-exist', reason: 'Food insecurity' });
    expect(res.status).toBe(422);
    expect(res.body.issue).toEqual([expect.objectContaining({ code: 'not-found', expression: ['to'] })]);
    expect(await h.snapshot()).toEqual(before);
  });

  test('rejected needs a reason (400); an unknown referral is 404', async () => {
    const other = await h.command(`/cases/${caseId}/referrals`, { service: { text: 'Job coaching' }, to: 'Organization/jobs', reason: 'Wants work' });
    const id = (refsOf(other.body, 'ServiceRequest')[0] as string).split('/')[1];
    const noReason = await h.command(`/cases/${caseId}/referrals/${id}/status`, { status: 'rejected' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.issue[0].expression).toEqual(['reason']);
    const rejected = await h.command(`/cases/${caseId}/referrals/${id}/status`, { status: 'rejected', reason: 'No capacity until autumn' });
    expect(rejected.status).toBe(201);
    const t = resources((await h.fhir(`Task?focus=ServiceRequest/${id}`)).body)[0];
    expect(t).toMatchObject({ status: 'rejected', statusReason: { text: 'No capacity until autumn' } });
    expect((await h.command(`/cases/${caseId}/referrals/nope/status`, { status: 'accepted' })).status).toBe(404);
  });
});

describe('contacts, notes and significant events', () => {
  let caseId: string;
  beforeAll(async () => {
    ({ caseId } = await h.openCase());
  });

  test('a home visit: Encounter class HH on the case, and its note as text', async () => {
    const res = await h.command(`/cases/${caseId}/contacts`, {
      type: 'home-visit',
      start: '2025-02-03T10:00:00-08:00',
      end: '2025-02-03T11:00:00-08:00',
      participants: [{ who: 'PractitionerRole/cm-1', role: 'Case manager' }, { name: 'Grace Okafor', role: 'Mother' }],
      location: 'Client’s home',
      note: 'Home visit: client well, kitchen repaired.',
      recordedBy: 'PractitionerRole/cm-1',
    });
    expect(res.status).toBe(201);
    const found = await h.fhir(`Encounter?episode-of-care=EpisodeOfCare/${caseId}&_revinclude=DocumentReference:encounter`);
    const [encounter] = resources(found.body, 'Encounter') as unknown as { class: { code: string }; type: { coding: { code: string }[] }[]; participant: unknown[] }[];
    expect(encounter?.class.code).toBe('HH');
    expect(encounter?.type[0]?.coding[0]?.code).toBe('home-visit');
    expect(encounter?.participant).toHaveLength(2);
    const [note] = resources(found.body, 'DocumentReference') as unknown as { type: { coding: { code: string }[] }; content: { attachment: { contentType: string; data: string } }[]; author: unknown[] }[];
    expect(note?.type.coding[0]?.code).toBe('28656-7');
    expect(note?.content[0]?.attachment.contentType).toBe('text/plain; charset=utf-8');
    expect(decode(note?.content[0]?.attachment.data as string)).toBe('Home visit: client well, kitchen repaired.');
    expect(note?.author).toEqual([{ reference: 'PractitionerRole/cm-1' }]);
  });

  test.each([
    ['phone-call', 'VR'],
    ['office-visit', 'AMB'],
    ['outreach', 'FLD'],
  ])('a %s is class %s', async (type, cls) => {
    const res = await h.command(`/cases/${caseId}/contacts`, { type, start: '2025-02-04T10:00:00Z', end: '2025-02-04T10:20:00Z', note: 'Checked in.' });
    expect((await h.fhir(refsOf(res.body, 'Encounter')[0] as string)).body.class.code).toBe(cls);
  });

  test('a crisis that is a safety concern: a note with the event category and a safety Flag', async () => {
    const res = await h.command(`/cases/${caseId}/events`, { category: 'crisis', occurred: '2025-02-10T22:00:00Z', note: 'Client called the crisis line.\nSafety plan reviewed.', safetyConcern: true });
    expect(res.status).toBe(201);
    const note = (await h.fhir(refsOf(res.body, 'DocumentReference')[0] as string)).body;
    expect(note.category.map((c: { coding: { code: string }[] }) => c.coding[0]?.code)).toEqual(['clinical-note', 'crisis']);
    expect(note.context.encounter).toEqual([{ reference: `EpisodeOfCare/${caseId}` }]);
    const flag = (await h.fhir(refsOf(res.body, 'Flag')[0] as string)).body;
    expect(flag).toMatchObject({ status: 'active', code: { text: 'Crisis: Client called the crisis line.' }, period: { start: '2025-02-10T22:00:00Z' } });
  });

  test('a mandated report that is not a safety concern: a note only', async () => {
    const res = await h.command(`/cases/${caseId}/events`, { category: 'mandated-report', occurred: '2025-02-11', note: 'Report filed with child protective services.' });
    expect(refsOf(res.body, 'Flag')).toEqual([]);
  });
});

describe('consent', () => {
  test('42 CFR Part 2: policy uri, provision with recipients, purposes and expiry, security labels', async () => {
    const { caseId } = await h.openCase();
    const res = await h.command(`/cases/${caseId}/consents`, {
      kind: '42cfr-part2',
      date: '2025-02-01',
      expires: '2026-01-31',
      recipients: ['Organization/recovery-centre'],
      purposes: ['TREAT', 'CAREMGT'],
      information: 'Substance-use treatment records',
    });
    expect(res.status).toBe(201);
    const consent = (await h.fhir(refsOf(res.body, 'Consent')[0] as string)).body;
    expect(consent.meta.profile).toEqual(['http://casebridge.org/fhir/StructureDefinition/cb-consent']);
    expect(consent.meta.security.map((s: { code: string }) => s.code)).toEqual(['R', '42CFRPart2', 'NORDSCLCD']);
    expect(consent.policy).toEqual([{ uri: 'https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2' }]);
    expect(consent.provision).toMatchObject({ type: 'permit', period: { start: '2025-02-01', end: '2026-01-31' }, actor: [{ reference: { reference: 'Organization/recovery-centre' } }] });
    expect(consent.provision.purpose.map((p: { code: string }) => p.code)).toEqual(['TREAT', 'CAREMGT']);
  });

  test('revoke: the consent becomes inactive and its provision ends on the day given; a second revocation is 409', async () => {
    const { caseId } = await h.openCase();
    const recorded = await h.command(`/cases/${caseId}/consents`, { kind: 'disclosure', recipients: ['Organization/housing-partner'], date: '2025-02-01', expires: '2026-02-01' });
    const consentId = (refsOf(recorded.body, 'Consent')[0] as string).split('/')[1];
    const res = await h.command(`/cases/${caseId}/consents/${consentId}/revoke`, { date: '2025-03-15' });
    expect(res.status).toBe(201);
    expect(res.body.command).toBe('revoke-consent');
    const consent = (await h.fhir(`Consent/${consentId}`)).body;
    expect(consent).toMatchObject({ status: 'inactive', provision: { period: { start: '2025-02-01', end: '2025-03-15' } } });
    const again = await h.command(`/cases/${caseId}/consents/${consentId}/revoke`, {});
    expect(again.status).toBe(409);
    expect(again.body.issue[0].code).toBe('conflict');
  });

  test("revoking a consent of another case's client is 404", async () => {
    const first = await h.openCase();
    const other = await h.openCase();
    const recorded = await h.command(`/cases/${first.caseId}/consents`, { kind: 'treatment' });
    const consentId = (refsOf(recorded.body, 'Consent')[0] as string).split('/')[1];
    const res = await h.command(`/cases/${other.caseId}/consents/${consentId}/revoke`, {});
    expect(res.status).toBe(404);
    expect(res.body.issue[0].code).toBe('not-found');
  });

  test('42 CFR Part 2 without expiry, recipients or purposes: 400 naming each', async () => {
    const { caseId } = await h.openCase();
    const res = await h.command(`/cases/${caseId}/consents`, { kind: '42cfr-part2' });
    expect(res.status).toBe(400);
    expect(res.body.issue.map((i: { expression: string[] }) => i.expression[0]).sort()).toEqual(['expires', 'purposes', 'recipients']);
  });
});

describe('transfer and close', () => {
  const planBody = {
    start: '2025-01-21',
    goals: [{ key: 'a', description: 'Reduce anxiety' }],
    objectives: [
      { goal: 'a', description: 'Breathe', measure: { text: 'min/d' }, target: { value: 10 }, due: '2025-04-30' },
      { goal: 'a', description: 'Walk', measure: { text: 'walks/wk' }, target: { value: 3 }, due: '2025-04-30' },
    ],
    interventions: [{ service: { text: 'CBT' }, goal: 'a' }],
  };

  test('close: the case finished with its history, the plan completed, open goals cancelled, achieved ones completed', async () => {
    const { caseId } = await h.openCase();
    const plan = await h.command(`/cases/${caseId}/plan`, planBody);
    const goals = await Promise.all(refsOf(plan.body, 'Goal').map(async (r) => (await h.fhir(r)).body));
    const breathe = goals.find((g) => g.description.text === 'Breathe');
    await h.command(`/cases/${caseId}/objectives/${breathe.id}/progress`, { date: '2025-03-01', value: 12 });
    const res = await h.command(`/cases/${caseId}/close`, { date: '2025-05-01', reason: 'Client moved away' });
    expect(res.status).toBe(201);
    const episode = (await h.fhir(`EpisodeOfCare/${caseId}`)).body;
    expect(episode.status).toBe('finished');
    expect(episode.period).toEqual({ start: '2025-01-20', end: '2025-05-01' });
    expect(episode.statusHistory).toEqual([
      { status: 'active', period: { start: '2025-01-20', end: '2025-05-01' } },
      { status: 'finished', period: { start: '2025-05-01' } },
    ]);
    expect((await h.fhir(refsOf(plan.body, 'CarePlan')[0] as string)).body).toMatchObject({ status: 'completed', period: { end: '2025-05-01' } });
    const after = Object.fromEntries((await Promise.all(refsOf(plan.body, 'Goal').map(async (r) => (await h.fhir(r)).body))).map((g) => [g.description.text, g]));
    expect(after.Breathe.lifecycleStatus).toBe('completed');
    expect(after.Walk).toMatchObject({ lifecycleStatus: 'cancelled', statusReason: 'Case closed: Client moved away' });
    expect(after['Reduce anxiety'].lifecycleStatus).toBe('cancelled');
    expect((await h.fhir(refsOf(plan.body, 'ServiceRequest')[0] as string)).body.status).toBe('completed');
  });

  test('transfer: a referral to the receiving agency with the transition summary, the case finished', async () => {
    const { caseId } = await h.openCase();
    await h.command(`/cases/${caseId}/plan`, planBody);
    const res = await h.command(`/cases/${caseId}/transfer`, {
      to: 'Organization/agency-portland',
      reason: 'Client moves to Portland',
      summary: 'Twelve weeks of CBT; anxiety improving; housing stable.',
      date: '2025-06-01',
    });
    expect(res.status).toBe(201);
    const summaryRef = refsOf(res.body, 'DocumentReference')[0] as string;
    const summary = (await h.fhir(summaryRef)).body;
    expect(summary.type.coding[0].code).toBe('57133-1');
    expect(summary.meta.profile).toBeUndefined();
    const tasks = await h.fhir('Task?owner=Organization/agency-portland&status=requested');
    const [task] = resources(tasks.body) as unknown as { input: { valueReference: { reference: string } }[] }[];
    expect(task?.input[0]?.valueReference.reference).toBe(summaryRef);
    expect((await h.fhir(`EpisodeOfCare/${caseId}`)).body.status).toBe('finished');
  });

  test('a transition from a closed case: 422 naming the moves allowed; another command on it: 409; nothing written', async () => {
    const { caseId } = await h.openCase();
    await h.command(`/cases/${caseId}/close`, { date: '2025-06-01', reason: 'Goals met' });
    const before = await h.snapshot();
    const close = await h.command(`/cases/${caseId}/close`, { reason: 'again' });
    expect(close.status).toBe(422);
    expect(close.body.issue[0]).toMatchObject({ code: 'business-rule', expression: ['EpisodeOfCare.status'] });
    expect(close.body.issue[0].diagnostics).toBe(`Case ${caseId} is finished (since 2025-06-01): it cannot become finished by close-case; from finished it may become active (reopen-case)`);
    const transfer = await h.command(`/cases/${caseId}/transfer`, { to: 'Organization/x', reason: 'r', summary: 's' });
    expect(transfer.status).toBe(422);
    const plan = await h.command(`/cases/${caseId}/plan`, planBody);
    expect(plan.status).toBe(409);
    expect(plan.body.issue[0].diagnostics).toBe(`Case ${caseId} is finished (since 2025-06-01): cannot create a service plan (allowed when the case is active)`);
    expect(await h.snapshot()).toEqual(before);
    // Follow-up after closing is still recorded.
    const contact = await h.command(`/cases/${caseId}/contacts`, { type: 'phone-call', start: '2025-07-01T10:00:00Z', end: '2025-07-01T10:10:00Z', note: 'Post-discharge call.' });
    expect(contact.status).toBe(201);
  });
});
