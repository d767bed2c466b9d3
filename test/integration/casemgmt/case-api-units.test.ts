// Every command is one all-or-nothing unit: a database failure at any write leaves no trace, and
// a replay (same Idempotency-Key) answers as the first time even after the case has moved on.
import { type CaseApiHarness, caseApiHarness } from './case-api-support';

/** Fails the Nth write to the database when armed (counting from 1); the repository must undo. */
const fault = { failAt: 0, writes: 0 };

let h: CaseApiHarness;
beforeAll(async () => {
  h = await caseApiHarness({
    beforeWrite: ({ collection }) => {
      if (fault.failAt === 0 || collection === 'journal') return;
      fault.writes++;
      if (fault.writes === fault.failAt) throw new Error('injected database failure');
    },
  });
});
afterAll(async () => {
  await h.t.close();
});
afterEach(() => {
  fault.failAt = 0;
  fault.writes = 0;
});

const plan = {
  start: '2025-01-21',
  goals: [{ key: 'a', description: 'Reduce anxiety' }],
  objectives: [{ goal: 'a', description: 'Breathe', measure: { text: 'min/d' }, target: { value: 10 }, due: '2025-04-30' }],
  interventions: [{ service: { text: 'CBT' }, goal: 'a' }],
};

describe('a database failure inside a command', () => {
  // Closing a case with a plan: the case, the plan, two goals and the intervention are updated
  // (each update copies the old version to history first) and a Provenance is created.
  test.each([1, 2, 3, 5, 8, 11])('at write %i: 500, and the database is as before', async (n) => {
    const { caseId } = await h.openCase();
    expect((await h.command(`/cases/${caseId}/plan`, plan)).status).toBe(201);
    const before = await h.snapshot();
    fault.failAt = n;
    const res = await h.command(`/cases/${caseId}/close`, { reason: 'Goals met' });
    expect(res.status).toBe(500);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(res.body)).not.toContain('injected');
    fault.failAt = 0;
    expect(await h.snapshot()).toEqual(before);
    // And the command can be sent again.
    expect((await h.command(`/cases/${caseId}/close`, { reason: 'Goals met' })).status).toBe(201);
  });
});

describe('replay', () => {
  test('a plan sent again with its key: 200, the same receipt, nothing written — even after the plan changed', async () => {
    const { caseId } = await h.openCase();
    const first = await h.command(`/cases/${caseId}/plan`, plan, { key: 'plan-0001-abcdef' });
    expect(first.status).toBe(201);
    const objective = (first.body.written as { reference: string }[]).filter((w) => w.reference.startsWith('Goal/'))[1]?.reference.split('/')[1];
    expect((await h.command(`/cases/${caseId}/objectives/${objective}/progress`, { date: '2025-02-01', value: 12 }, { key: 'progress-0001-a' })).status).toBe(201);
    const before = await h.snapshot();
    const again = await h.command(`/cases/${caseId}/plan`, plan, { key: 'plan-0001-abcdef' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const progressAgain = await h.command(`/cases/${caseId}/objectives/${objective}/progress`, { date: '2025-02-01', value: 12 }, { key: 'progress-0001-a' });
    expect(progressAgain.status).toBe(200);
    expect(await h.snapshot()).toEqual(before);
  });

  test('a replay of a close after the case closed answers the close, not 409', async () => {
    const { caseId } = await h.openCase();
    const first = await h.command(`/cases/${caseId}/close`, { reason: 'Goals met' }, { key: 'close-0001-abc' });
    const again = await h.command(`/cases/${caseId}/close`, { reason: 'Goals met' }, { key: 'close-0001-abc' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
  });

  test('the same key on another case is another payload: 409', async () => {
    const a = await h.openCase();
    const b = await h.openCase();
    await h.command(`/cases/${a.caseId}/close`, { reason: 'Goals met' }, { key: 'close-0002-abc' });
    const res = await h.command(`/cases/${b.caseId}/close`, { reason: 'Goals met' }, { key: 'close-0002-abc' });
    expect(res.status).toBe(409);
    expect(res.body.issue[0].expression).toEqual(['Idempotency-Key']);
  });
});
