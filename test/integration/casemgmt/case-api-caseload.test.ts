// Caseloads: GET /cm/v1/cases filtered by case manager, team, organisation, programme, status,
// risk and next due date, sorted and paged; each filter agrees with the FHIR search it stands for.
import request from 'supertest';
import { FHIR_JSON } from '../../support/app';
import { type CaseApiHarness, caseApiHarness, resources } from './case-api-support';

let h: CaseApiHarness;
interface Made {
  caseId: string;
  clientId: string;
  manager: string;
  programme: string;
  due?: string;
  risk?: string;
  status: string;
}
const made: Made[] = [];

const MANAGERS = ['PractitionerRole/cm-1', 'PractitionerRole/cm-2', 'PractitionerRole/cm-3'];
const PROGRAMMES = ['targeted-case-management', 'housing-support'];

beforeAll(async () => {
  h = await caseApiHarness();
  // Nine cases: three per case manager, in two programmes, with plans due on different days,
  // risk levels, one on hold and one closed.
  for (let i = 0; i < 9; i += 1) {
    const manager = MANAGERS[i % 3] as string;
    const programme = PROGRAMMES[i % 2] as string;
    const { caseId, clientId } = await h.openCase({ caseManager: manager, programme, opened: `2025-01-${String(10 + i).padStart(2, '0')}`, client: { identifier: { system: 'urn:agency:clients', value: `CL-${i}` }, name: { family: `Client${i}`, given: ['Test'] }, gender: 'unknown' } });
    const entry: Made = { caseId, clientId, manager, programme, status: 'active' };
    if (i < 6) {
      entry.due = `2025-0${4 + (i % 3)}-${String(10 + i).padStart(2, '0')}`;
      const plan = await h.command(`/cases/${caseId}/plan`, {
        start: '2025-02-01',
        goals: [{ key: 'g', description: 'Goal' }],
        objectives: [{ goal: 'g', description: 'Objective', measure: { text: 'x' }, target: { value: 1 }, due: entry.due }],
      });
      expect(plan.status).toBe(201);
    }
    if (i % 3 !== 2) {
      entry.risk = ['low', 'moderate', 'high'][i % 3] as string;
      expect((await h.command(`/cases/${caseId}/risk`, { level: entry.risk, rationale: 'Assessed at intake', assessed: '2025-02-01T10:00:00Z' })).status).toBe(201);
    }
    if (i === 4) {
      expect((await h.command(`/cases/${caseId}/status`, { status: 'onhold', reason: 'Hospital stay' })).status).toBe(201);
      entry.status = 'onhold';
    }
    if (i === 8) {
      expect((await h.command(`/cases/${caseId}/close`, { reason: 'Goals met', date: '2025-02-20' })).status).toBe(201);
      entry.status = 'finished';
    }
    made.push(entry);
  }
});
afterAll(async () => {
  await h.t.close();
});

const ids = (body: { cases: { id: string }[] }) => body.cases.map((c) => c.id);
const sorted = (list: string[]) => [...list].sort();

describe('filters', () => {
  test('by case manager (PractitionerRole): the same cases as EpisodeOfCare?care-manager=', async () => {
    for (const manager of MANAGERS) {
      const res = await h.get(`/cases?caseManager=${manager}&count=100`);
      expect(res.status).toBe(200);
      const expected = made.filter((m) => m.manager === manager).map((m) => m.caseId);
      expect(sorted(ids(res.body))).toEqual(sorted(expected));
      expect(res.body.total).toBe(expected.length);
      expect(res.body.fhirSearch).toBe(`EpisodeOfCare?care-manager=${encodeURIComponent(manager)}`);
      const fhir = await h.fhir(`EpisodeOfCare?care-manager=${manager}&_count=100`);
      expect(sorted(resources(fhir.body).map((r) => r.id))).toEqual(sorted(expected));
    }
  });

  test('by programme, status, organisation and team member', async () => {
    const housing = await h.get('/cases?programme=housing-support&count=100');
    expect(sorted(ids(housing.body))).toEqual(sorted(made.filter((m) => m.programme === 'housing-support').map((m) => m.caseId)));
    const open = await h.get('/cases?status=active,onhold&count=100');
    expect(sorted(ids(open.body))).toEqual(sorted(made.filter((m) => m.status !== 'finished').map((m) => m.caseId)));
    const onhold = await h.get('/cases?status=onhold');
    expect(ids(onhold.body)).toEqual(made.filter((m) => m.status === 'onhold').map((m) => m.caseId));
    const agency = await h.get('/cases?organization=Organization/agency&count=100');
    expect(agency.body.total).toBe(9);
    expect((await h.get('/cases?organization=Organization/agency-2')).body.total).toBe(0);
    // The case manager is a member of each of their cases' CareTeams.
    const member = await h.get('/cases?teamMember=PractitionerRole/cm-2&count=100');
    expect(sorted(ids(member.body))).toEqual(sorted(made.filter((m) => m.manager === 'PractitionerRole/cm-2').map((m) => m.caseId)));
    const team = (await h.fhir(`EpisodeOfCare/${made[0]?.caseId}`)).body.team[0].reference as string;
    expect(ids((await h.get(`/cases?team=${team}`)).body)).toEqual([made[0]?.caseId]);
  });

  test('by risk level (the case manager’s current judgement) and next due date', async () => {
    const high = await h.get('/cases?risk=high&count=100');
    expect(sorted(ids(high.body))).toEqual(sorted(made.filter((m) => m.risk === 'high').map((m) => m.caseId)));
    expect(high.body.cases.every((c: { risk: { level: string; source: string } }) => c.risk.level === 'high' && c.risk.source === 'judgement')).toBe(true);
    const due = await h.get('/cases?dueBefore=2025-05-01&count=100');
    // Open objectives only: the closed case's were settled at closing.
    const expected = made.filter((m) => m.due !== undefined && m.due < '2025-05-01' && m.status !== 'finished').map((m) => m.caseId);
    expect(sorted(ids(due.body))).toEqual(sorted(expected));
  });

  test('a client’s cases, as before', async () => {
    const res = await h.get(`/cases?client=${made[0]?.clientId}`);
    expect(res.status).toBe(200);
    expect(res.body.client).toBe(made[0]?.clientId);
    expect(ids(res.body)).toEqual([made[0]?.caseId]);
    expect((await h.get('/cases?client=nobody')).status).toBe(404);
  });
});

describe('sorting and paging', () => {
  test('by next due date (default): soonest first, cases with nothing due last; pages of `count` with links', async () => {
    const all = await h.get('/cases?count=100');
    const dues = all.body.cases.map((c: { nextDue: { date: string } | null }) => c.nextDue?.date ?? null);
    const present = dues.filter((d: string | null) => d !== null);
    expect(present).toEqual([...present].sort());
    expect(dues.slice(present.length).every((d: string | null) => d === null)).toBe(true);
    const page1 = await h.get('/cases?count=4');
    const page2 = await h.get('/cases?count=4&page=2');
    const page3 = await h.get('/cases?count=4&page=3');
    expect(page1.body).toMatchObject({ total: 9, page: 1, pages: 3, count: 4 });
    expect([...ids(page1.body), ...ids(page2.body), ...ids(page3.body)]).toEqual(ids(all.body));
    expect(page1.body.links.next).toBe('/cm/v1/cases?count=4&page=2');
    expect(page2.body.links.previous).toBe('/cm/v1/cases?count=4&page=1');
    expect(page3.body.links.next).toBeUndefined();
  });

  test('by risk, highest first; by opening date', async () => {
    const res = await h.get('/cases?sort=-risk&count=100');
    const levels = res.body.cases.map((c: { risk: { level: string } | null }) => c.risk?.level ?? null);
    const order = ['high', 'moderate', 'low'];
    const present = levels.filter((l: string | null) => l !== null);
    expect(present).toEqual([...present].sort((a: string, b: string) => order.indexOf(a) - order.indexOf(b)));
    const opened = await h.get('/cases?sort=opened&count=100');
    expect(opened.body.cases.map((c: { opened: string }) => c.opened)).toEqual(made.map((_m, i) => `2025-01-${String(10 + i).padStart(2, '0')}`));
  });

  test('the next appointment of each case', async () => {
    const target = made[1] as Made;
    const episode = (await h.fhir(`EpisodeOfCare/${target.caseId}`)).body;
    const post = await request(h.t.app)
      .post('/fhir/Appointment')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Appointment', status: 'booked', start: '2030-01-10T10:00:00Z', end: '2030-01-10T11:00:00Z', supportingInformation: [{ reference: `EpisodeOfCare/${target.caseId}` }], participant: [{ actor: episode.patient, status: 'accepted' }] }));
    expect(post.status).toBe(201);
    const res = await h.get(`/cases?client=${target.clientId}`);
    expect(res.body.cases[0].nextAppointment).toEqual({ id: post.body.id, start: '2030-01-10T10:00:00Z', status: 'booked' });
  });
});

describe('bad queries: 400 naming the parameter', () => {
  test.each([
    ['status=open', 'status'],
    ['risk=severe', 'risk'],
    ['dueBefore=soon', 'dueBefore'],
    ['sort=name', 'sort'],
    ['count=0', 'count'],
    ['count=1000', 'count'],
    ['page=-1', 'page'],
    ['caseManager=cm-1', 'caseManager'],
    ['caseManager=Patient/x', 'caseManager'],
    ['colour=blue', 'colour'],
    ['status=active&status=onhold', 'status'],
  ])('%s', async (query, param) => {
    const res = await h.get(`/cases?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual([param]);
  });
});
