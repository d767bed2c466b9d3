// Evaluation and outcomes: a caseload of twelve cases across three case managers, built through
// the case API; $evaluate-measure (population and per case manager) must equal the counts this
// test derives from what it wrote; the evaluation command; the CSV reports.
import request from 'supertest';
import { FHIR_JSON } from '../../support/app';
import { type CaseApiHarness, caseApiHarness, refsOf } from './case-api-support';

let h: CaseApiHarness;
const MANAGERS = ['PractitionerRole/cm-1', 'PractitionerRole/cm-2', 'PractitionerRole/cm-3'];
const N = 12;
interface Made {
  i: number;
  caseId: string;
  manager: string;
}
const made: Made[] = [];
const phq = (total: number): number[] => {
  // Nine items summing to `total` (items 1-8 first, item 9 kept at 0).
  const items = Array<number>(9).fill(0);
  let left = total;
  for (let k = 0; k < 8 && left > 0; k += 1) {
    items[k] = Math.min(3, left);
    left -= items[k] as number;
  }
  return items;
};
function ok(res: { status: number; body: unknown }, status = 201): void {
  if (res.status !== status) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
}
const day = (base: string, plus: number) => new Date(Date.parse(`${base}T00:00:00Z`) + plus * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  h = await caseApiHarness();
  for (let i = 0; i < N; i += 1) {
    const manager = MANAGERS[i % 3] as string;
    const opened = day('2025-01-10', i);
    const { caseId } = await h.openCase({ caseManager: manager, opened });
    made.push({ i, caseId, manager });
    if (i % 4 !== 3) {
      const start = `${day(opened, i % 5)}T15:00:00Z`;
      ok(await h.command(`/cases/${caseId}/contacts`, { type: 'office-visit', start, end: start.replace('T15', 'T16'), note: 'First contact.' }));
    }
    const plan = await h.command(`/cases/${caseId}/plan`, { start: opened, goals: [{ key: 'a', description: 'Goal A' }, { key: 'b', description: 'Goal B' }] });
    ok(plan);
    if (i % 2 === 0) {
      const goals = await Promise.all(refsOf(plan.body, 'Goal').map(async (r) => (await h.fhir(r)).body));
      const a = goals.find((g) => g.description.text === 'Goal A');
      const patched = await request(h.t.app)
        .patch(`/fhir/Goal/${a.id}`)
        .set('Content-Type', 'application/json-patch+json')
        .send(JSON.stringify([{ op: 'add', path: '/achievementStatus', value: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/goal-achievement', code: 'achieved' }] } }]));
      ok(patched, 200);
    }
    const [baseline, later] = [[15, 6], [12, 4], [8, 3]][i % 3] as [number, number];
    ok(await h.command(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers: phq(baseline), authored: '2025-02-15T10:00:00Z' }));
    ok(await h.command(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers: phq(later), authored: '2025-05-01T10:00:00Z' }));
    if (i % 2 === 1) {
      const referral = await h.command(`/cases/${caseId}/referrals`, { service: { text: 'Housing' }, to: 'Organization/housing-partner', reason: 'Needs housing', authored: '2025-02-20T10:00:00Z' });
      ok(referral);
      if (i % 4 === 1) {
        const id = (refsOf(referral.body, 'ServiceRequest')[0] as string).split('/')[1];
        for (const status of ['accepted', 'in-progress', 'completed']) {
          ok(await h.command(`/cases/${caseId}/referrals/${id}/status`, { status }));
        }
      }
    }
    if (i < 8) {
      ok(await h.command(`/cases/${caseId}/close`, { date: day('2025-06-01', i), reason: 'Plan completed', keepReferrals: [] }));
    }
  }
}, 120_000);
afterAll(async () => {
  await h.t.close();
});

// What this test wrote, counted here without CaseBridge's outcome code.
function expected(manager?: string) {
  const cases = made.filter((m) => manager === undefined || m.manager === manager);
  const closed = cases.filter((m) => m.i < 8);
  const contacts = cases.filter((m) => m.i % 4 !== 3).map((m) => m.i % 5);
  const referrals = cases.filter((m) => m.i % 2 === 1);
  const eligible = closed.filter((m) => m.i % 3 !== 2);
  return {
    'caseload-size': { 'initial-population': cases.length, score: cases.length },
    'time-to-first-contact': { 'initial-population': cases.length, 'measure-population': contacts.length, score: contacts.length ? Math.round((contacts.reduce((s, d) => s + d, 0) / contacts.length) * 10_000) / 10_000 : null },
    'referral-loop-closure': { denominator: referrals.length, numerator: referrals.filter((m) => m.i % 4 === 1).length },
    'goals-met': { denominator: closed.length * 2, numerator: closed.filter((m) => m.i % 2 === 0).length },
    'phq9-response': { denominator: eligible.length, numerator: eligible.length },
    'phq9-remission': { denominator: eligible.length, numerator: eligible.filter((m) => m.i % 3 === 1).length },
  } as Record<string, Record<string, number | null>>;
}

const populations = (report: { group: { population: { code: { coding: { code: string }[] }; count: number }[]; measureScore?: { value: number } }[] }) => {
  const out: Record<string, number | null> = Object.fromEntries(report.group[0]?.population.map((p) => [p.code.coding[0]?.code as string, p.count]) ?? []);
  out.score = report.group[0]?.measureScore?.value ?? null;
  return out;
};

describe('$evaluate-measure', () => {
  const measures = ['caseload-size', 'time-to-first-contact', 'referral-loop-closure', 'goals-met', 'phq9-response', 'phq9-remission'];

  test.each(measures)('%s, population: equals the counts of what was written', async (measure) => {
    const res = await h.fhir(`Measure/${measure}/$evaluate-measure?periodStart=2025-01-01&periodEnd=2025-12-31`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'MeasureReport', status: 'complete', type: 'summary', measure: `http://casebridge.org/fhir/Measure/${measure}`, period: { start: '2025-01-01', end: '2025-12-31' } });
    expect(populations(res.body)).toMatchObject(expected()[measure] as Record<string, number>);
  });

  test.each(measures)('%s, per case manager (PractitionerRole)', async (measure) => {
    for (const manager of MANAGERS) {
      const res = await h.fhir(`Measure/${measure}/$evaluate-measure?periodStart=2025-01-01&periodEnd=2025-12-31&practitioner=${manager}`);
      expect(res.status).toBe(200);
      expect(res.body.reporter).toEqual({ reference: manager });
      expect(populations(res.body)).toMatchObject(expected(manager)[measure] as Record<string, number>);
    }
  });

  test('scores: proportions and the mean days', async () => {
    const loop = (await h.fhir('Measure/referral-loop-closure/$evaluate-measure?periodStart=2025&periodEnd=2025')).body;
    expect(loop.group[0].measureScore.value).toBe(0.5);
    const goals = (await h.fhir('Measure/goals-met/$evaluate-measure?periodStart=2025-01-01&periodEnd=2025-12-31')).body;
    expect(goals.group[0].measureScore.value).toBe(0.25);
    const days = (await h.fhir('Measure/time-to-first-contact/$evaluate-measure?periodStart=2025-01-01&periodEnd=2025-12-31')).body;
    expect(days.group[0].measureScore).toMatchObject({ value: expected()['time-to-first-contact']?.score, unit: 'd' });
  });

  test('a later period: only the cases still open; subject-list names them; the type level by canonical url', async () => {
    const late = (await h.fhir('Measure/caseload-size/$evaluate-measure?periodStart=2025-07-01&periodEnd=2025-12-31&reportType=subject-list')).body;
    expect(late.group[0].population[0].count).toBe(N - 8);
    const list = late.contained.find((c: { id: string }) => c.id === 'initial-population');
    expect(list.entry.map((e: { item: { reference: string } }) => e.item.reference).sort()).toEqual(made.filter((m) => m.i >= 8).map((m) => m.caseId).sort());
    const byUrl = await h.fhir('Measure/$evaluate-measure?measure=http://casebridge.org/fhir/Measure/caseload-size&periodStart=2025-07-01&periodEnd=2025-12-31');
    expect(byUrl.body.group[0].measureScore.value).toBe(N - 8);
    const post = await request(h.t.app)
      .post('/fhir/Measure/caseload-size/$evaluate-measure')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'periodStart', valueDate: '2025-07-01' }, { name: 'periodEnd', valueDate: '2025-12-31' }] }));
    expect(post.status).toBe(200);
    expect(post.body.group[0].measureScore.value).toBe(N - 8);
  });

  test('bad parameters: 400 naming them', async () => {
    expect((await h.fhir('Measure/goals-met/$evaluate-measure?periodEnd=2025-12-31')).body.issue[0].expression).toEqual(['periodStart']);
    expect((await h.fhir('Measure/goals-met/$evaluate-measure?periodStart=2025-12-31&periodEnd=2025-01-01')).status).toBe(400);
    expect((await h.fhir('Measure/goals-met/$evaluate-measure?periodStart=2025&periodEnd=2025&practitioner=Patient/x')).body.issue[0].expression).toEqual(['practitioner']);
    expect((await h.fhir('Measure/goals-met/$evaluate-measure?periodStart=2025&periodEnd=2025&colour=red')).body.issue[0].expression).toEqual(['colour']);
    expect((await h.fhir('Measure/nope/$evaluate-measure?periodStart=2025&periodEnd=2025')).status).toBe(404);
  });
});

describe('evaluation of a case', () => {
  test('the evaluation records the outcome with the goals met and the PHQ-9 at intake and at the end; the view keeps it after closure', async () => {
    const m = made[1] as Made; // closed; PHQ-9 12 → 4; goal A not achieved
    const res = await h.command(`/cases/${m.caseId}/evaluation`, { outcome: 'goals-partly-met', summary: 'Mood much improved; housing still pending.', date: '2025-06-15' });
    expect(res.status).toBe(201);
    const observation = (await h.fhir(refsOf(res.body, 'Observation')[0] as string)).body;
    const components = Object.fromEntries(observation.component.map((c: { code: { coding: { code: string }[] }; valueInteger: number }) => [c.code.coding[0]?.code, c.valueInteger]));
    expect(components).toEqual({ 'goals-total': 2, 'goals-achieved': 0, 'phq9-at-intake': 12, 'phq9-at-evaluation': 4 });
    expect(observation.valueCodeableConcept.coding[0].code).toBe('goals-partly-met');
    const view = (await h.get(`/cases/${m.caseId}`)).body;
    expect(view.status).toBe('finished');
    expect(view.plan).not.toBeNull();
    expect(view.evaluation).toMatchObject({
      goals: { total: 2, achieved: 0 },
      phq9: { intake: { score: 12 }, latest: { score: 4 }, response: true, remission: true },
      closure: { reason: 'Plan completed' },
      recorded: { outcome: 'goals-partly-met', summary: 'Mood much improved; housing still pending.', date: '2025-06-15' },
    });
  });

  test('on a waitlisted case: 409', async () => {
    const { caseId } = await h.openCase({ status: 'waitlist' });
    expect((await h.command(`/cases/${caseId}/evaluation`, { outcome: 'disengaged', summary: 'x' })).status).toBe(409);
  });
});

describe('CSV reports', () => {
  test('measures.csv: a row per measure and case manager, equal to $evaluate-measure', async () => {
    const res = await h.get('/reports/measures.csv?periodStart=2025-01-01&periodEnd=2025-12-31');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('measure,caseManager,periodStart,periodEnd,initialPopulation,denominator,numerator,measurePopulation,score');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.filter((r) => r[1] === 'all')).toHaveLength(6);
    const goalsCm2 = rows.find((r) => r[0] === 'goals-met' && r[1] === 'PractitionerRole/cm-2');
    const e = expected('PractitionerRole/cm-2')['goals-met'] as Record<string, number>;
    expect(goalsCm2?.slice(5, 7)).toEqual([String(e.denominator), String(e.numerator)]);
  });

  test('outcomes.csv: a row per case open in the period', async () => {
    const res = await h.get('/reports/outcomes.csv?periodStart=2025-01-01&periodEnd=2025-12-31');
    const lines = res.text.trimEnd().split('\r\n');
    expect(lines.length - 1).toBeGreaterThanOrEqual(N);
    const row = lines.find((l) => l.startsWith(`${(made[1] as Made).caseId},`))?.split(',');
    expect(row?.slice(10)).toEqual(['2', '0', '12', '4', 'true', 'true']);
  });

  test('without a period: 400 naming it', async () => {
    const res = await h.get('/reports/outcomes.csv?periodStart=2025-01-01');
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['periodEnd']);
  });
});
