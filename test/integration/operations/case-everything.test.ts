// $everything on a window of care dates (each type's date of care), and EpisodeOfCare/$everything:
// a whole case, paged, without another case's records.
import { type CaseApiHarness, caseApiHarness } from '../casemgmt/case-api-support';
import { BASE_URL } from '../../support/app';

let h: CaseApiHarness;
let caseId: string;
let clientId: string;
let otherCase: string;
const written: string[] = [];

beforeAll(async () => {
  h = await caseApiHarness();
  ({ caseId, clientId } = await h.openCase());
  ({ caseId: otherCase } = await h.openCase());
  const record = async (path: string, body: unknown) => {
    const res = await h.command(path, body);
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
    written.push(...(res.body.written as { reference: string }[]).map((w) => w.reference));
    return res.body;
  };
  for (const authored of ['2025-02-10', '2025-03-15', '2025-05-05']) {
    await record(`/cases/${caseId}/screenings`, { instrument: 'phq-9', answers: [1, 1, 1, 1, 1, 1, 1, 1, 0], authored });
  }
  // Notes are written "now" (the harness clock: March 2025) about contacts on other days.
  await record(`/cases/${caseId}/contacts`, { type: 'home-visit', start: '2025-05-20T10:00:00Z', end: '2025-05-20T11:00:00Z', note: 'May visit.' });
  await record(`/cases/${caseId}/contacts`, { type: 'phone-call', start: '2025-01-25T10:00:00Z', end: '2025-01-25T10:10:00Z', note: 'January call.' });
  await record(`/cases/${caseId}/plan`, {
    title: 'Plan',
    start: '2025-01-21',
    goals: [{ key: 'housing', description: 'Stable housing' }],
    objectives: [{ goal: 'housing', description: 'Apply for two apartments', measure: { text: 'Applications' }, target: { value: 2 }, due: '2025-04-30' }],
    interventions: [{ service: { text: 'Housing counselling' }, provider: 'Organization/housing-partner', goal: 'housing' }],
  });
  await record(`/cases/${caseId}/referrals`, { service: { text: 'Housing search assistance' }, to: 'Organization/housing-partner', reason: 'Facing eviction', authored: '2025-02-01T10:00:00Z' });
  await h.command(`/cases/${otherCase}/screenings`, { instrument: 'phq-9', answers: [0, 0, 0, 0, 0, 0, 0, 0, 0], authored: '2025-05-05' });
});
afterAll(async () => {
  await h.t.close();
});

type Entry = { resource: { resourceType: string; id: string } & Record<string, unknown>; search: { mode: string } };

/** Every match of an $everything, following next links. */
async function everything(path: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  let url: string | undefined = path;
  while (url !== undefined) {
    const res = await h.fhir(url);
    expect(res.status).toBe(200);
    entries.push(...(res.body.entry as Entry[]));
    const next = (res.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'next');
    url = next ? next.url.slice(`${BASE_URL}/`.length) : undefined;
  }
  return entries;
}

const matches = (entries: Entry[], type?: string) =>
  entries.filter((e) => e.search.mode === 'match' && (type === undefined || e.resource.resourceType === type)).map((e) => e.resource);

test('Patient/$everything start/end: screenings by when they were answered, notes by the service they record', async () => {
  const window = await everything(`Patient/${clientId}/$everything?start=2025-04-01&end=2025-06-30&_count=100`);
  expect(matches(window, 'QuestionnaireResponse').map((qr) => qr.authored)).toEqual(['2025-05-05']);
  const notes = matches(window, 'DocumentReference') as unknown as { context: { period: { start: string } }; date: string }[];
  expect(notes.map((n) => n.context.period.start)).toEqual(['2025-05-20T10:00:00Z']);
  // Written in March, about May: in by its date of care.
  expect(notes[0]?.date.startsWith('2025-03')).toBe(true);
  expect(matches(window, 'Encounter')).toHaveLength(1);
  // The client has no date of care: always in.
  expect(matches(window, 'Patient').map((p) => p.id)).toEqual([clientId]);
});

test('EpisodeOfCare/$everything: the case and what belongs to it, paged without loss or duplicates', async () => {
  const whole = await everything(`EpisodeOfCare/${caseId}/$everything?_count=1000`);
  const paged = await everything(`EpisodeOfCare/${caseId}/$everything?_count=4`);
  const keys = (entries: Entry[]) => matches(entries).map((r) => `${r.resourceType}/${r.id}`);
  expect(keys(paged).sort()).toEqual(keys(whole).sort());
  expect(new Set(keys(whole)).size).toBe(keys(whole).length);
  const found = new Set(keys(whole));
  // Everything the case commands wrote about the case is there (Provenance records them, and is not part of it).
  const expected = written.filter((r) => !r.startsWith('Provenance/'));
  expect(expected.filter((r) => !found.has(r))).toEqual([]);
  expect(found).toContain(`EpisodeOfCare/${caseId}`);
  expect(found).toContain(`Patient/${clientId}`);
  expect([...found].filter((k) => k.startsWith('CareTeam/'))).toHaveLength(1);
  expect([...found].some((k) => k.startsWith('Task/'))).toBe(true);
  expect(found).not.toContain(`EpisodeOfCare/${otherCase}`);
  // The other case's May screening is not this case's.
  expect(matches(whole, 'QuestionnaireResponse').filter((qr) => qr.authored === '2025-05-05')).toHaveLength(1);
});

test('EpisodeOfCare/$everything with _type and a window; unknown case 404, foreign type 400', async () => {
  const goals = await everything(`EpisodeOfCare/${caseId}/$everything?_type=Goal`);
  expect(matches(goals).map((g) => g.resourceType)).toEqual(['Goal', 'Goal']);
  const may = await everything(`EpisodeOfCare/${caseId}/$everything?_type=Encounter,DocumentReference&start=2025-05-01&end=2025-05-31`);
  expect(matches(may).map((r) => r.resourceType).sort()).toEqual(['DocumentReference', 'Encounter']);
  expect((await h.fhir('EpisodeOfCare/nothing-here/$everything')).status).toBe(404);
  const bad = await h.fhir(`EpisodeOfCare/${caseId}/$everything?_type=Spaceship`);
  expect(bad.status).toBe(400);
  expect(bad.body.issue[0].expression).toEqual(['_type']);
});

