// Safety state: the current risk is the case manager's latest judgement; a newer score raises it
// (asking for a review) but never lowers it; flags are kept or resolved with a reason, open first.
import { type CaseApiHarness, caseApiHarness, refsOf } from './case-api-support';

let h: CaseApiHarness;
beforeAll(async () => {
  h = await caseApiHarness();
});
afterAll(async () => {
  await h.t.close();
});

// PHQ-9 of 7 (mild) with item 9 positive; PHQ-9 of 22 (severe).
const MILD_WITH_ITEM9 = [1, 1, 1, 1, 1, 1, 0, 0, 1];
const SEVERE = [3, 3, 3, 3, 2, 2, 2, 2, 2];

describe('the current risk', () => {
  test('a later PHQ-9 of 7 does not replace the case manager’s “high”: it is shown as a newer score', async () => {
    const { caseId } = await h.openCase();
    expect((await h.command(`/cases/${caseId}/risk`, { level: 'high', rationale: 'Recent attempt', assessed: '2025-02-01T10:00:00Z' })).status).toBe(201);
    expect((await h.command(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers: MILD_WITH_ITEM9, authored: '2025-02-10T10:00:00Z' })).status).toBe(201);
    const view = (await h.get(`/cases/${caseId}`)).body;
    expect(view.risk).toMatchObject({ level: 'high', source: 'judgement', reviewNeeded: false, rationale: 'Recent attempt' });
    expect(view.risk.newerScores).toEqual([expect.objectContaining({ level: 'low', source: 'score', assessed: '2025-02-10T10:00:00Z' })]);
    // The caseload agrees.
    const row = (await h.get(`/cases?client=${view.client.id}`)).body.cases[0];
    expect(row.risk).toMatchObject({ level: 'high', source: 'judgement' });
  });

  test('a newer score that predicts more raises the level and asks for a review; a newer judgement settles it', async () => {
    const { caseId } = await h.openCase();
    await h.command(`/cases/${caseId}/risk`, { level: 'low', rationale: 'Stable', assessed: '2025-02-01T10:00:00Z' });
    await h.command(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers: SEVERE, authored: '2025-02-10T10:00:00Z' });
    let risk = (await h.get(`/cases/${caseId}`)).body.risk;
    expect(risk).toMatchObject({ level: 'high', source: 'score', reviewNeeded: true, judgement: { level: 'low' } });
    await h.command(`/cases/${caseId}/risk`, { level: 'moderate', rationale: 'Reviewed the PHQ-9 with the client; safety plan in place', assessed: '2025-02-11T10:00:00Z' });
    risk = (await h.get(`/cases/${caseId}`)).body.risk;
    expect(risk).toMatchObject({ level: 'moderate', source: 'judgement', reviewNeeded: false, newerScores: [] });
  });
});

describe('flag review', () => {
  test('keep and resolve with a reason; open flags first with their latest review; allowed after closure', async () => {
    const { caseId } = await h.openCase();
    const first = await h.command(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers: MILD_WITH_ITEM9, authored: '2025-02-01T10:00:00Z' });
    const second = await h.command(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers: MILD_WITH_ITEM9, authored: '2025-02-15T10:00:00Z' });
    const flags = [...refsOf(first.body, 'Flag'), ...refsOf(second.body, 'Flag')];
    expect(flags).toHaveLength(2);
    await h.command(`/cases/${caseId}/close`, { date: '2025-03-01', reason: 'Goals met' });
    const res = await h.command(`/cases/${caseId}/flags/review`, {
      date: '2025-03-05',
      reviews: [
        { flag: flags[0], decision: 'resolve', reason: 'Safety plan reviewed; no ideation at follow-up' },
        { flag: flags[1], decision: 'keep', reason: 'Discuss with the receiving clinician' },
      ],
    });
    expect(res.status).toBe(201);
    expect((await h.fhir(flags[0] as string)).body).toMatchObject({ status: 'inactive', period: { end: '2025-03-05' } });
    expect((await h.fhir(flags[1] as string)).body.status).toBe('active');
    const view = (await h.get(`/cases/${caseId}`)).body;
    expect(view.flags.map((f: { id: string; status: string }) => [`Flag/${f.id}`, f.status])).toEqual([
      [flags[1], 'active'],
      [flags[0], 'inactive'],
    ]);
    expect(view.flags[0].lastReview).toMatchObject({ decision: 'keep', reason: 'Discuss with the receiving clinician' });
    expect(view.flags[1].lastReview).toMatchObject({ decision: 'resolve', reason: 'Safety plan reviewed; no ideation at follow-up' });
    // FHIR clients find the reviews of a flag.
    const notes = await h.fhir(`DocumentReference?related=${flags[0]}`);
    expect(notes.body.entry).toHaveLength(1);
  });

  test('a flag of another client: 422 at the flag; an inactive one: 409; a reason is required: 400; nothing written', async () => {
    const a = await h.openCase();
    const b = await h.openCase();
    const screened = await h.command(`/cases/${b.caseId}/screenings`, { instrument: 'phq-9', answers: MILD_WITH_ITEM9, authored: '2025-02-01T10:00:00Z' });
    const flag = refsOf(screened.body, 'Flag')[0] as string;
    const before = await h.snapshot();
    const other = await h.command(`/cases/${a.caseId}/flags/review`, { reviews: [{ flag, decision: 'resolve', reason: 'x' }] });
    expect(other.status).toBe(422);
    expect(other.body.issue[0].expression).toEqual(['reviews[0].flag']);
    const noReason = await h.command(`/cases/${b.caseId}/flags/review`, { reviews: [{ flag, decision: 'resolve' }] });
    expect(noReason.status).toBe(400);
    expect(await h.snapshot()).toEqual(before);
    await h.command(`/cases/${b.caseId}/flags/review`, { reviews: [{ flag, decision: 'resolve', reason: 'ok' }] });
    const again = await h.command(`/cases/${b.caseId}/flags/review`, { reviews: [{ flag, decision: 'keep', reason: 'x' }] });
    expect(again.status).toBe(409);
    expect(again.body.issue[0].expression).toEqual(['reviews[0].decision']);
  });
});
