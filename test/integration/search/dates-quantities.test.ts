/**
 * Date (every prefix, precision, Period, Timing, instant), number and quantity (precision ranges,
 * units), uri (:below, :above) and composite parameters over real HTTP on FerretDB.
 * The clock is fixed (2025-01-01) so that `ap` and meta.lastUpdated are predictable.
 * See: https://hl7.org/fhir/R4/search.html#date, #number, #quantity, #uri, #composite
 */
import type { Resource } from '@medplum/fhirtypes';
import { type TestApp, testApp } from '../../support/app';
import { matched, refs, seed } from './support';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const PHQ9 = { coding: [{ system: LOINC, code: '44261-6', display: 'PHQ-9 total score' }] };
const GAD7 = { coding: [{ system: LOINC, code: '69737-5', display: 'GAD-7 total score' }] };
const score = (value: number) => ({ value, system: UCUM, code: '{score}', unit: 'score' });
const subject = { reference: 'Patient/ada' };

function observation(id: string, fields: Record<string, unknown>): Resource {
  return { resourceType: 'Observation', id, status: 'final', subject, code: PHQ9, ...fields } as Resource;
}

const OBSERVATIONS: Resource[] = [
  observation('phq-jun', { effectiveDateTime: '2024-06-15T10:30:00Z', valueQuantity: score(14) }),
  observation('phq-jul', { effectiveDateTime: '2024-07-01', valueQuantity: score(9) }),
  observation('phq-aug', { effectiveDateTime: '2024-08-01T08:00:00+02:00', valueQuantity: score(4) }),
  // 23:30 on New Year's Eve at UTC-2 is 01:30 on 1 January 2024 in UTC.
  observation('phq-nye', { effectiveDateTime: '2023-12-31T23:30:00-02:00', valueQuantity: score(20) }),
  observation('gad-may', { code: GAD7, effectiveDateTime: '2024-05-01T12:00:00Z', valueQuantity: score(8) }),
  observation('mood-period', {
    code: { text: 'Mood diary' },
    effectivePeriod: { start: '2024-06-10', end: '2024-06-20' },
    valueString: 'low mood most days',
  }),
  observation('weight-kg', { code: { coding: [{ system: LOINC, code: '29463-7' }] }, valueQuantity: { value: 72.5, system: UCUM, code: 'kg', unit: 'kg' } }),
  observation('weight-lb', { code: { coding: [{ system: LOINC, code: '29463-7' }] }, valueQuantity: { value: 160, unit: 'lb' } }),
  observation('dose-mg', { code: { text: 'Sertraline dose' }, valueQuantity: { value: 5.4, system: UCUM, code: 'mg', unit: 'mg' } }),
  observation('bp-high', {
    code: { coding: [{ system: LOINC, code: '85354-9' }] },
    component: [
      { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 142, system: UCUM, code: 'mm[Hg]', unit: 'mmHg' } },
      { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 88, system: UCUM, code: 'mm[Hg]', unit: 'mmHg' } },
    ],
  }),
  observation('bp-dia', {
    code: { coding: [{ system: LOINC, code: '85354-9' }] },
    component: [
      { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 130, system: UCUM, code: 'mm[Hg]', unit: 'mmHg' } },
      { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 95, system: UCUM, code: 'mm[Hg]', unit: 'mmHg' } },
    ],
  }),
];

const EPISODES: Resource[] = [
  { resourceType: 'EpisodeOfCare', id: 'closed', status: 'finished', patient: subject, period: { start: '2023-01-10', end: '2023-06-30' } },
  { resourceType: 'EpisodeOfCare', id: 'ongoing', status: 'active', patient: subject, period: { start: '2024-02-01' } },
  { resourceType: 'EpisodeOfCare', id: 'in-2024', status: 'finished', patient: subject, period: { start: '2024-03-01', end: '2024-09-30' } },
  { resourceType: 'EpisodeOfCare', id: 'no-start', status: 'finished', patient: subject, period: { end: '2019-12-31' } },
];

function carePlan(id: string, scheduled: Record<string, unknown>): Resource {
  return {
    resourceType: 'CarePlan',
    id,
    status: 'active',
    intent: 'plan',
    subject,
    activity: [{ detail: { status: 'scheduled', description: 'Counselling session', ...scheduled } }],
  } as Resource;
}

const CARE_PLANS: Resource[] = [
  carePlan('weekly-march', { scheduledTiming: { event: ['2024-03-05T09:00:00Z', '2024-03-12T09:00:00Z', '2024-03-19T09:00:00Z'] } }),
  carePlan('weekly-q2', { scheduledTiming: { repeat: { boundsPeriod: { start: '2024-04-01', end: '2024-06-30' }, frequency: 1, period: 1, periodUnit: 'wk' } } }),
  carePlan('from-september', { scheduledPeriod: { start: '2024-09-01' } }),
];

const percent = (value: number) => ({ value, system: UCUM, code: '%', unit: '%' });
const RISKS: Resource[] = [
  ...[45, 50, 54, 55, 80].map((p) => ({
    resourceType: 'RiskAssessment',
    id: `p${p}`,
    status: 'final',
    subject,
    prediction: [{ outcome: { text: 'Self-harm within 12 months' }, probabilityDecimal: p }],
  })),
  {
    resourceType: 'RiskAssessment',
    id: 'range',
    status: 'final',
    subject,
    prediction: [{ outcome: { text: 'Relapse' }, probabilityRange: { low: percent(20), high: percent(30) } }],
  },
  { resourceType: 'RiskAssessment', id: 'none', status: 'final', subject, note: [{ text: 'Not assessed: client declined' }] },
] as Resource[];

const QUESTIONNAIRES: Resource[] = [
  { resourceType: 'Questionnaire', id: 'phq9', status: 'active', url: 'http://forms.example.org/fhir/Questionnaire/phq-9' },
  { resourceType: 'Questionnaire', id: 'phq9-teen', status: 'active', url: 'http://forms.example.org/fhir/Questionnaire/phq-9/adolescent' },
  { resourceType: 'Questionnaire', id: 'gad7', status: 'active', url: 'http://forms.example.org/fhir/Questionnaire/gad-7' },
  { resourceType: 'Questionnaire', id: 'loinc', status: 'active', url: 'http://loinc.org/q/44249-1' },
  { resourceType: 'Questionnaire', id: 'draft', status: 'draft' },
];

/** Patients written at chosen instants (meta.lastUpdated). */
const WRITTEN_AT: [string, string][] = [
  ['jan', '2024-01-15T08:00:00.000Z'],
  ['jun-noon', '2024-06-01T12:00:00.000Z'],
  ['jun-last-ms', '2024-06-30T23:59:59.999Z'],
  ['jul-first', '2024-07-01T00:00:00.000Z'],
];

const NOW = new Date('2025-01-01T00:00:00.000Z');
let now = NOW;
let t: TestApp;
beforeAll(async () => {
  t = await testApp({ now: () => now });
  for (const [id, at] of WRITTEN_AT) {
    now = new Date(at);
    await seed(t, [{ resourceType: 'Patient', id }]);
  }
  now = NOW;
  await seed(t, [...OBSERVATIONS, ...EPISODES, ...CARE_PLANS, ...RISKS, ...QUESTIONNAIRES]);
});
afterAll(async () => {
  await t.close();
});

const observations = (...ids: string[]) => refs('Observation', ...ids);

describe('date on dateTime and Period (Observation.effective)', () => {
  test.each<[string, string, string[]]>([
    ['a year matches every dateTime within it (2024 finds 2024-06-15T10:30Z)', 'date=2024', observations('gad-may', 'mood-period', 'phq-aug', 'phq-jul', 'phq-jun', 'phq-nye')],
    ['a month matches a dateTime and a Period within it', 'date=2024-06', observations('mood-period', 'phq-jun')],
    ['a day matches a dateTime on that day, not a Period that spans several days', 'date=2024-06-15', observations('phq-jun')],
    ['a minute without a timezone is taken as UTC', 'date=2024-06-15T10:30', observations('phq-jun')],
    ['a second with an offset is compared in UTC', 'date=2024-06-15T12:30:00%2B02:00', observations('phq-jun')],
    ['a stored offset is compared in UTC (23:30-02:00 on 31 Dec 2023 is in 2024)', 'date=2023', []],
    ['a stored date matches a search for the same date', 'date=2024-07-01', observations('phq-jul')],
    ['eq is containment: one second does not contain a whole stored day', 'date=2024-07-01T10:00:00Z', []],
    ['explicit eq is the default', 'date=eq2024-06', observations('mood-period', 'phq-jun')],
    ['ne: every dated value not contained in June', 'date=ne2024-06', observations('gad-may', 'phq-aug', 'phq-jul', 'phq-nye')],
    ['gt: ends after the end of 30 June', 'date=gt2024-06-30', observations('phq-aug', 'phq-jul')],
    ['lt: starts before 1 June', 'date=lt2024-06-01', observations('gad-may', 'phq-nye')],
    ['ge: a stored day overlapping the searched second counts', 'date=ge2024-07-01T10:00:00Z', observations('phq-aug', 'phq-jul')],
    ['le: starts on or before the end of 1 May', 'date=le2024-05-01', observations('gad-may', 'phq-nye')],
    ['ge on a Period: the period ends on or after the day', 'date=ge2024-06-18', observations('mood-period', 'phq-aug', 'phq-jul')],
    ['le on a Period: the period starts on or before the day', 'date=le2024-06-12', observations('gad-may', 'mood-period', 'phq-nye')],
    ['sa: starts after the end of 15 June', 'date=sa2024-06-15', observations('phq-aug', 'phq-jul')],
    ['eb: ends before 15 June', 'date=eb2024-06-15', observations('gad-may', 'phq-nye')],
    ['ap: within 10% of the distance to now (about 20 days around 15 June)', 'date=ap2024-06-15', observations('mood-period', 'phq-jul', 'phq-jun')],
    ['comma is OR', 'date=2024-05,2024-08', observations('gad-may', 'phq-aug')],
    ['a repeated parameter is AND: a range', 'date=ge2024-06-01&date=lt2024-07-01', observations('mood-period', 'phq-jun')],
    [':missing=true', 'date:missing=true', observations('bp-dia', 'bp-high', 'dose-mg', 'weight-kg', 'weight-lb')],
  ])('Observation?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `Observation?${query}`)).toEqual(expected);
  });
});

describe('date on Periods, open-ended included (EpisodeOfCare.period)', () => {
  test.each<[string, string, string[]]>([
    ['eq: only a period wholly inside 2024', 'date=2024', ['in-2024']],
    ['ne: periods not wholly inside 2024, the open-ended ones too', 'date=ne2024', ['closed', 'no-start', 'ongoing']],
    ['le: started on or before the end of 2023 (an unknown start is the beginning of time)', 'date=le2023-12-31', ['closed', 'no-start']],
    ['le: the ongoing episode started before mid-February', 'date=le2024-02-15', ['closed', 'no-start', 'ongoing']],
    ['ge: an episode without an end reaches any future date', 'date=ge2025-01-01', ['ongoing']],
    ['ge: ends on or after 1 June 2024', 'date=ge2024-06-01', ['in-2024', 'ongoing']],
    ['lt far in the past: only the period without a start', 'date=lt2000', ['no-start']],
    ['gt far in the future: only the period without an end', 'date=gt2030', ['ongoing']],
    ['sa: starts after 2023', 'date=sa2023-12-31', ['in-2024', 'ongoing']],
    ['eb: ends before 2024', 'date=eb2024-01-01', ['closed', 'no-start']],
    ['open on a given day: le and ge together', 'date=le2024-04-15&date=ge2024-04-15', ['in-2024', 'ongoing']],
    ['open at some time in late 2019', 'date=ge2019-06-01&date=le2019-12-31', ['no-start']],
  ])('EpisodeOfCare?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `EpisodeOfCare?${query}`)).toEqual(refs('EpisodeOfCare', ...expected));
  });
});

describe('date on Timing: only its outer limits count (CarePlan activity-date)', () => {
  test.each<[string, string, string[]]>([
    ['a month holding every event', 'activity-date=2024-03', ['weekly-march']],
    ['a day between two events is inside the outer limits', 'activity-date=le2024-03-08&activity-date=ge2024-03-08', ['weekly-march']],
    ['a day inside repeat.boundsPeriod', 'activity-date=le2024-05-15&activity-date=ge2024-05-15', ['weekly-q2']],
    ['ge: the last event is on or after the day', 'activity-date=ge2024-03-15', ['from-september', 'weekly-march', 'weekly-q2']],
    ['lt: the first event is before the day', 'activity-date=lt2024-03-06', ['weekly-march']],
    ['a scheduled Period without an end', 'activity-date=ge2026', ['from-september']],
  ])('CarePlan?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `CarePlan?${query}`)).toEqual(refs('CarePlan', ...expected));
  });
});

describe('date on an instant: _lastUpdated', () => {
  test.each<[string, string, string[]]>([
    ['a month', '_lastUpdated=2024-06', ['jun-last-ms', 'jun-noon']],
    ['a millisecond', '_lastUpdated=2024-06-30T23:59:59.999Z', ['jun-last-ms']],
    ['gt the end of June', '_lastUpdated=gt2024-06-30', ['jul-first']],
    ['ge an instant includes it', '_lastUpdated=ge2024-06-01T12:00:00Z', ['jul-first', 'jun-last-ms', 'jun-noon']],
    ['lt an instant excludes it', '_lastUpdated=lt2024-06-01T12:00:00Z', ['jan']],
    ['ne a month', '_lastUpdated=ne2024-06', ['jan', 'jul-first']],
    ['a range', '_lastUpdated=ge2024-02&_lastUpdated=lt2024-07', ['jun-last-ms', 'jun-noon']],
  ])('Patient?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `Patient?${query}`)).toEqual(refs('Patient', ...expected));
  });

  test('a system search by _lastUpdated looks at every type', async () => {
    expect(await matched(t, '?_lastUpdated=lt2025')).toEqual(refs('Patient', 'jan', 'jul-first', 'jun-last-ms', 'jun-noon'));
    // The server also holds the Questionnaires it publishes (profiles/), written at start-up.
    const published = t.services.profiles.questionnaires.length;
    expect(await matched(t, '?_lastUpdated=2025-01-01&_type=EpisodeOfCare,Questionnaire&_count=100')).toHaveLength(EPISODES.length + QUESTIONNAIRES.length + published);
  });
});

describe('number: precision ranges (RiskAssessment probability, in percent)', () => {
  test.each<[string, string, string[]]>([
    ['50 means [49.5, 50.5)', 'probability=50', ['p50']],
    ['5e1 means [45, 55)', 'probability=5e1', ['p45', 'p50', 'p54']],
    ['50.0 means [49.95, 50.05)', 'probability=50.0', ['p50']],
    ['a Range contributes both ends', 'probability=30', ['range']],
    ['ne: outside [49.5, 50.5)', 'probability=ne50', ['p45', 'p54', 'p55', 'p80', 'range']],
    ['ne: outside [45, 55)', 'probability=ne5e1', ['p55', 'p80', 'range']],
    ['gt', 'probability=gt54', ['p55', 'p80']],
    ['lt', 'probability=lt50', ['p45', 'range']],
    ['ge', 'probability=ge55', ['p55', 'p80']],
    ['le', 'probability=le45', ['p45', 'range']],
    ['sa', 'probability=sa50', ['p54', 'p55', 'p80']],
    ['eb', 'probability=eb50', ['p45', 'range']],
    ['ap: within 10%', 'probability=ap80', ['p80']],
    ['comma is OR', 'probability=45,80', ['p45', 'p80']],
    ['a repeated parameter is AND', 'probability=gt45&probability=lt55', ['p50', 'p54']],
    [':missing=true', 'probability:missing=true', ['none']],
  ])('RiskAssessment?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `RiskAssessment?${query}`)).toEqual(refs('RiskAssessment', ...expected));
  });
});

describe('quantity: values, units and precision (Observation value-quantity)', () => {
  const scoreUnit = encodeURIComponent('{score}');
  test.each<[string, string, string[]]>([
    ['a number alone matches any unit', 'value-quantity=14', observations('phq-jun')],
    ['value|system|code', `value-quantity=14|${UCUM}|${scoreUnit}`, observations('phq-jun')],
    ['a prefix with value|system|code', `value-quantity=gt8|${UCUM}|${scoreUnit}`, observations('phq-jul', 'phq-jun', 'phq-nye')],
    ['value||code matches the code in any system', `value-quantity=le8||${scoreUnit}`, observations('gad-may', 'phq-aug')],
    ['value||unit matches a quantity that only has a human unit', 'value-quantity=160||lb', observations('weight-lb')],
    ['the wrong system does not match', 'value-quantity=72.5|http://example.org/units|kg', []],
    ['72 means [71.5, 72.5): 72.5 is outside', `value-quantity=72|${UCUM}|kg`, []],
    ['73 means [72.5, 73.5): 72.5 is inside', `value-quantity=73|${UCUM}|kg`, observations('weight-kg')],
    ['72.5 exactly', 'value-quantity=72.5||kg', observations('weight-kg')],
    ['ap widens by 10%', 'value-quantity=ap70||kg', observations('weight-kg')],
    ['a decimal', `value-quantity=5.4|${UCUM}|mg`, observations('dose-mg')],
    ['ne with a unit', `value-quantity=ne14||${scoreUnit}`, observations('gad-may', 'phq-aug', 'phq-jul', 'phq-nye')],
    [':missing=true', 'value-quantity:missing=true', observations('bp-dia', 'bp-high', 'mood-period')],
  ])('Observation?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `Observation?${query}`)).toEqual(expected);
  });
});

describe('uri (Questionnaire url)', () => {
  test.each<[string, string, string[]]>([
    ['equality is exact', 'url=http://forms.example.org/fhir/Questionnaire/phq-9', ['phq9']],
    ['equality is case-sensitive', 'url=http://forms.example.org/fhir/Questionnaire/PHQ-9', []],
    [':below matches the URL and those under it', 'url:below=http://forms.example.org/fhir/Questionnaire/phq-9', ['phq9', 'phq9-teen']],
    [':below a base', 'url:below=http://forms.example.org/fhir', ['gad7', 'phq9', 'phq9-teen']],
    [':above matches the URLs the value is under', 'url:above=http://forms.example.org/fhir/Questionnaire/phq-9/adolescent/v2', ['phq9', 'phq9-teen']],
    [':above matches the URL itself', 'url:above=http://forms.example.org/fhir/Questionnaire/gad-7', ['gad7']],
    ['comma is OR', 'url=http://loinc.org/q/44249-1,http://forms.example.org/fhir/Questionnaire/gad-7', ['gad7', 'loinc']],
    [':missing=true', 'url:missing=true', ['draft']],
  ])('Questionnaire?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `Questionnaire?${query}`)).toEqual(refs('Questionnaire', ...expected));
  });
});

describe('composite', () => {
  const scoreUnit = encodeURIComponent('{score}');
  test.each<[string, string, string[]]>([
    ['code-value-quantity: code and a value above', `code-value-quantity=${LOINC}|44261-6$gt10`, observations('phq-jun', 'phq-nye')],
    ['code-value-quantity: code and a value with its unit', `code-value-quantity=44261-6$14|${UCUM}|${scoreUnit}`, observations('phq-jun')],
    ['code-value-quantity: another code', 'code-value-quantity=69737-5$8', observations('gad-may')],
    ['code-value-quantity: the value belongs to another code', 'code-value-quantity=69737-5$14', []],
    ['component-code-value-quantity: systolic above 135', 'component-code-value-quantity=8480-6$gt135', observations('bp-high')],
    ['component-code-value-quantity: diastolic above 90', `component-code-value-quantity=${LOINC}|8462-4$gt90`, observations('bp-dia')],
    ['components are not paired across: no diastolic above 120', 'component-code-value-quantity=8462-4$gt120', []],
    ['comma is OR', 'component-code-value-quantity=8480-6$gt135,8462-4$gt90', observations('bp-dia', 'bp-high')],
    [':missing=true', 'component-code-value-quantity:missing=true', observations('dose-mg', 'gad-may', 'mood-period', 'phq-aug', 'phq-jul', 'phq-jun', 'phq-nye', 'weight-kg', 'weight-lb')],
  ])('Observation?%s: %s', async (_title, query, expected) => {
    expect(await matched(t, `Observation?${query}`)).toEqual(expected);
  });
});
