/**
 * Exactness on FerretDB without a server: for each (query, expected matches), the resources are
 * indexed with extractIndex, the query is parsed and translated, and the filter is evaluated
 * against the stored `idx` with an evaluator implementing FerretDB 1.x's array semantics (any
 * element, uncorrelated conditions, no $elemMatch). Chains and _has run through resolveFilter with
 * the same evaluator as the sub-query engine. The expectations are the FHIR R4 answers.
 * Every case runs twice: on the logical index, and on the stored layout (index-layout.ts) that
 * the repository actually writes and queries — the layout must not change a single answer.
 */
import type { Resource } from '@medplum/fhirtypes';
import { extractIndex } from '../../../src/search/extract';
import { parseSearch } from '../../../src/search/parse';
import { storedTerms, toStoredFilter, toStoredIndex } from '../../../src/store/mongo/index-layout';
import { resolveFilter, translateSearch } from '../../../src/store/mongo/search-filter';
import { BASE_URL, testRegistry } from '../search/registry-fixture';
import { matches, select } from './ferret-eval';

const UCUM = 'http://unitsofmeasure.org';
const LOINC = 'http://loinc.org';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const NOW = new Date('2025-01-01T00:00:00Z');

const RESOURCES = [
  {
    resourceType: 'Patient',
    id: 'p1',
    meta: { profile: ['http://x.org/fhir/StructureDefinition/a'] },
    active: true,
    gender: 'male',
    birthDate: '1980-02',
    name: [{ family: 'Smith', given: ['John'] }],
    identifier: [{ system: 'urn:mrn', value: '123', type: { coding: [{ system: V2_0203, code: 'MR' }] } }],
    address: [{ line: ['1 Main St'], city: 'Springfield' }],
    managingOrganization: { reference: 'Organization/o1' },
  },
  {
    resourceType: 'Patient',
    id: 'p2',
    active: true,
    gender: 'female',
    birthDate: '1990-05-17',
    name: [{ family: 'Dupré', given: ['Zoë', 'Élise'] }],
    identifier: [{ system: 'urn:ssn', value: '123', type: { coding: [{ system: V2_0203, code: 'SS' }] } }],
    managingOrganization: { reference: 'Organization/o2' },
  },
  { resourceType: 'Patient', id: 'p3', active: false, name: [{ text: 'Pat Q', family: 'Quinn' }] },
  // An identifier with a system and no value; a system that another one starts with.
  { resourceType: 'Organization', id: 'o1', name: 'Acme Health', identifier: [{ system: 'urn:npi' }] },
  { resourceType: 'Organization', id: 'o2', name: 'Other Org', identifier: [{ system: 'urn:npi-old', value: '9' }, { system: 'urn:a|b', value: '1' }] },
  {
    resourceType: 'Observation',
    id: 'bp',
    status: 'final',
    subject: { reference: `${BASE_URL}/Patient/p1` },
    code: { coding: [{ system: LOINC, code: '85354-9' }] },
    effectiveDateTime: '2024-06-15T10:00:00+02:00',
    component: [
      { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 120, system: UCUM, code: 'mm[Hg]', unit: 'mmHg' } },
      { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 80, system: UCUM, code: 'mm[Hg]', unit: 'mmHg' } },
    ],
  },
  {
    resourceType: 'Observation',
    id: 'mood',
    status: 'final',
    subject: { reference: 'Patient/p2' },
    code: { coding: [{ system: 'http://a', code: '111' }, { system: 'http://b', code: '222' }], text: 'Mood score' },
    valueQuantity: { value: 7, system: UCUM, code: '{score}' },
    effectiveDateTime: '2023-12-31T23:30:00-05:00',
  },
  {
    resourceType: 'Observation',
    id: 'mixed',
    status: 'preliminary',
    subject: { reference: 'Patient/p3' },
    code: { coding: [{ system: LOINC, code: '1234' }] },
    effectivePeriod: { start: '2024-01-01', end: '2024-03-31' },
    component: [
      { code: { coding: [{ system: LOINC, code: 'c1' }] }, valueQuantity: { value: 120, system: UCUM, code: 'mm[Hg]' } },
      { code: { coding: [{ system: LOINC, code: 'c2' }] }, valueQuantity: { value: 80, system: UCUM, code: 'mg' } },
    ],
  },
  {
    resourceType: 'Observation',
    id: 'panel',
    status: 'final',
    code: { coding: [{ system: LOINC, code: 'panel' }] },
    hasMember: [{ reference: 'Observation/mixed' }],
  },
  {
    resourceType: 'CarePlan',
    id: 'cp-period',
    status: 'active',
    intent: 'plan',
    subject: { reference: 'Patient/p1' },
    period: { start: '2024-01-01', end: '2024-03-31' },
    activity: [
      { detail: { status: 'scheduled', scheduledPeriod: { start: '2024-01-05', end: '2024-01-06' } } },
      { detail: { status: 'scheduled', scheduledPeriod: { start: '2024-03-10', end: '2024-03-12' } } },
    ],
  },
  {
    resourceType: 'CarePlan',
    id: 'cp-open',
    status: 'active',
    intent: 'plan',
    subject: { reference: 'Patient/p2' },
    period: { start: '2024-01-01' },
    activity: [{ detail: { status: 'scheduled', scheduledTiming: { event: ['2024-05-01T09:00:00Z', '2024-05-20T09:00:00Z'] } } }],
  },
  { resourceType: 'RiskAssessment', id: 'ra1', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [{ probabilityDecimal: 0.35 }] },
  {
    resourceType: 'RiskAssessment',
    id: 'ra2',
    status: 'final',
    subject: { reference: 'Patient/p2' },
    prediction: [{ probabilityDecimal: 0.8 }, { probabilityDecimal: 0.1 }],
  },
] as Resource[];

type Doc = { _id: string; idx?: Record<string, unknown>; deleted?: true };
type Layout = 'logical' | 'stored';
let collections: Map<string, Doc[]>;
let storedCollections: Map<string, Doc[]>;

beforeAll(() => {
  const registry = testRegistry();
  collections = new Map();
  for (const r of RESOURCES) {
    const list = collections.get(r.resourceType) ?? [];
    list.push({ _id: r.id as string, idx: extractIndex(r, registry) });
    collections.set(r.resourceType, list);
  }
  // Deleted documents stay in the collection without idx (docs/storage.md): no search may see them.
  for (const type of ['Patient', 'Observation', 'CarePlan', 'RiskAssessment', 'Organization']) {
    collections.get(type)?.push({ _id: `${type}-deleted`, deleted: true });
  }
  storedCollections = new Map(
    [...collections].map(([type, docs]) => [
      type,
      docs.map((d) => (d.idx ? { ...d, idx: toStoredIndex(d.idx as never) as unknown as Record<string, unknown> } : d)),
    ]),
  );
});

function multimap(query: string): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    (result[k] ??= []).push(v);
  }
  return result;
}

async function search(resourceType: string, query: string, layout: Layout): Promise<string[]> {
  const registry = testRegistry();
  const request = parseSearch(resourceType, multimap(query), registry, {
    strict: true,
    defaultCount: 20,
    maxCount: 100,
    baseUrl: BASE_URL,
  });
  const { filter } = translateSearch(request, registry, resourceType, { now: NOW });
  const stored = layout === 'stored';
  const docs = (type: string): Doc[] => (stored ? storedCollections : collections).get(type) ?? [];
  const values = (d: Doc, path: string): string[] => {
    const term = /^idx\.([^.]+)\.([^.]+)$/.exec(path);
    return stored && term ? storedTerms(d, term[1] as string, term[2] as string) : select(d, path);
  };
  const resolved = await resolveFilter(filter, async (type, f, path) =>
    docs(type)
      .filter((d) => matches(d, stored ? toStoredFilter(f) : f))
      .flatMap((d) => (path === '_id' ? [d._id] : values(d, path))),
  );
  return docs(resourceType)
    .filter((d) => matches(d, stored ? toStoredFilter(resolved) : resolved))
    .map((d) => d._id)
    .sort();
}

describe.each<[string, string, string, string[]]>([
  // --- date: precision ranges, timezones, periods, several values, Timing outer limits
  ['date=2024 matches a dateTime in 2024-06 (and a Period inside 2024, and 2024-01-01T04:30Z)', 'Observation', 'date=2024', ['bp', 'mixed', 'mood']],
  ['a dateTime with an offset is compared in UTC (23:30-05:00 is the next day)', 'Observation', 'date=2024-01-01', ['mood']],
  ['eq at day precision matches the UTC day of 10:00+02:00', 'Observation', 'date=2024-06-15', ['bp']],
  ['eq at second precision with an offset', 'Observation', 'date=2024-06-15T10:00:00%2B02:00', ['bp']],
  ['eq at minute precision with an offset', 'Observation', 'date=2024-06-15T10:00%2B02:00', ['bp']],
  ['eq at minute precision, the next minute', 'Observation', 'date=2024-06-15T10:01%2B02:00', []],
  ['eq does not match a value wider than the search value', 'Patient', 'birthdate=1980-02-10', []],
  ['eq matches a value narrower than the search value', 'Patient', 'birthdate=1980', ['p1']],
  ['ne: some value outside the search range (missing values never match)', 'Patient', 'birthdate=ne1980', ['p2']],
  ['le on a Period: it starts on or before the search end', 'CarePlan', 'date=le2024-02-01', ['cp-open', 'cp-period']],
  ['ge on a Period: it ends on or after the search start', 'CarePlan', 'date=ge2024-02-01', ['cp-open', 'cp-period']],
  ['ge after a closed Period matches only the open-ended one', 'CarePlan', 'date=ge2024-04', ['cp-open']],
  ['le before both Periods matches nothing', 'CarePlan', 'date=le2023-12', []],
  ['gt far in the future: only the open end reaches it', 'CarePlan', 'date=gt2030', ['cp-open']],
  ['lt: starts before the search value', 'CarePlan', 'date=lt2024-01-01', []],
  ['sa: starts after the end of 2023', 'CarePlan', 'date=sa2023', ['cp-open', 'cp-period']],
  ['eb: ends before 2025 (an open end never does)', 'CarePlan', 'date=eb2025', ['cp-period']],
  ['eq on an open-ended Period never fits a bucket', 'CarePlan', 'date=2024', ['cp-period']],
  ['several values: eq matches when one value fits', 'CarePlan', 'activity-date=2024-01', ['cp-period']],
  ['several values: the bounds of two values are not combined', 'CarePlan', 'activity-date=2024-02', []],
  ['several values: ne matches when some value is outside', 'CarePlan', 'activity-date=ne2024-01', ['cp-open', 'cp-period']],
  ['several values: ne fails when every value is inside', 'CarePlan', 'activity-date=ne2024', []],
  ['Timing counts by its outer limits (May 1-20 fits in May)', 'CarePlan', 'activity-date=2024-05', ['cp-open']],
  ['Timing counts by its outer limits (not within one day)', 'CarePlan', 'activity-date=2024-05-01', []],
  ['repeated date parameter is AND (a range)', 'Observation', 'date=ge2024-06-01&date=lt2024-07-01', ['bp']],
  ['comma is OR', 'Observation', 'date=2023-12,2024-06', ['bp']],
  ['date ap on a single-valued parameter (10% of the distance to now)', 'Patient', 'birthdate=ap1981', ['p1']],
  // --- token
  ['system|code must come from one coding', 'Observation', 'code=http://a|222', []],
  ['system|code of one coding', 'Observation', 'code=http://b|222', ['mood']],
  ['code in any system', 'Observation', 'code=222', ['mood']],
  ['|code asks for no system', 'Observation', 'code=|222', []],
  ['system| asks for any code of the system', 'Observation', 'code=http://b|', ['mood']],
  [':text is a folded starts-with on text and display', 'Observation', 'code:text=MOOD', ['mood']],
  [':not excludes any matching value', 'Observation', 'status:not=final', ['mixed']],
  [':not matches resources without the parameter', 'Patient', 'gender:not=male', ['p2', 'p3']],
  [':not with OR excludes all listed values', 'Observation', 'status:not=final,preliminary', []],
  ['code typed values have no system: |code matches', 'Patient', 'gender=|male', ['p1']],
  ['boolean token', 'Patient', 'active=false', ['p3']],
  ['identifier value in any system', 'Patient', 'identifier=123', ['p1', 'p2']],
  ['identifier system|value', 'Patient', 'identifier=urn:ssn|123', ['p2']],
  [':of-type ties type and value of one identifier', 'Patient', `identifier:of-type=${V2_0203}|MR|123`, ['p1']],
  [':of-type does not mix identifiers', 'Patient', `identifier:of-type=${V2_0203}|SS|999`, []],
  ['system| finds a value with that system and no code', 'Organization', 'identifier=urn:npi|', ['o1']],
  ['system| is not a prefix of a longer system', 'Organization', 'identifier=urn:npi-old|', ['o2']],
  ['system| of a system holding |', 'Organization', 'identifier=urn:a\\|b|', ['o2']],
  ['system| is not the start of a system holding |', 'Organization', 'identifier=urn:a|', []],
  ['system| beside a code', 'Organization', 'identifier=urn:npi|,9', ['o1', 'o2']],
  [':not system|', 'Organization', 'identifier:not=urn:npi|', ['o2']],
  [':not system| and a code', 'Organization', 'identifier:not=urn:npi|,9', []],
  // --- string
  ['starts-with, case and accent insensitive', 'Patient', 'name=zoe', ['p2']],
  ['every HumanName part is searched', 'Patient', 'name=elise', ['p2']],
  ['HumanName text', 'Patient', 'name=pat q', ['p3']],
  ['given and family together', 'Patient', 'name=John Sm', ['p1']],
  [':exact is case and accent sensitive', 'Patient', 'name:exact=Zoë', ['p2']],
  [':exact does not fold', 'Patient', 'name:exact=zoe', []],
  [':contains', 'Patient', 'name:contains=upr', ['p2']],
  ['Address parts', 'Patient', 'address=spring', ['p1']],
  ['string special characters are literal', 'Patient', 'name=J.hn', []],
  // --- reference
  ['absolute reference on our base is stored relative', 'Observation', 'subject=Patient/p1', ['bp']],
  ['absolute search value on our base', 'Observation', `subject=${BASE_URL}/Patient/p2`, ['mood']],
  ['bare id matches any target type', 'Observation', 'subject=p3', ['mixed']],
  [':Type', 'Observation', 'subject:Patient=p3', ['mixed']],
  [':Type of another target does not match', 'Observation', 'subject:Group=p3', []],
  ['patient (resolve() is Patient) accepts absolute references on our base', 'Observation', 'patient=p1', ['bp']],
  // --- chains and _has
  ['chain', 'Observation', 'subject:Patient.name=smith', ['bp']],
  ['multi-level chain', 'Observation', 'patient.organization.name=acme', ['bp']],
  ['_has', 'Patient', '_has:Observation:patient:code=1234', ['p3']],
  ['_has with a chain inside', 'Organization', '_has:Patient:organization:_has:Observation:patient:status=preliminary', []],
  ['nested _has', 'Patient', '_has:Observation:patient:_has:Observation:has-member:code=panel', ['p3']],
  ['_has and a plain condition (AND)', 'Patient', '_has:Observation:patient:status=final&gender=female', ['p2']],
  // --- number and quantity
  ['quantity eq at the precision of the search value', 'Observation', 'value-quantity=7', ['mood']],
  ['quantity eq: 7.0 means [6.95, 7.05)', 'Observation', 'value-quantity=7.0', ['mood']],
  ['quantity eq: 1e1 means [5, 15)', 'Observation', 'value-quantity=1e1', ['mood']],
  ['quantity eq misses outside the implicit range', 'Observation', 'value-quantity=8', []],
  ['quantity with system and code', 'Observation', `value-quantity=7|${UCUM}|{score}`, ['mood']],
  ['quantity with code only', 'Observation', 'value-quantity=7||{score}', ['mood']],
  ['quantity with another unit', 'Observation', `value-quantity=7|${UCUM}|mg`, []],
  ['quantity unit and value must come from one component', 'Observation', `component-value-quantity=gt100|${UCUM}|mg`, []],
  ['quantity unit and value of one component', 'Observation', `component-value-quantity=gt50|${UCUM}|mg`, ['mixed']],
  ['quantity by the human unit', 'Observation', 'component-value-quantity=120||mmHg', ['bp']],
  ['quantity gt over all units', 'Observation', 'component-value-quantity=gt100', ['bp', 'mixed']],
  ['quantity ap on a single-valued parameter', 'Observation', 'value-quantity=ap6.5', ['mood']],
  ['number eq: 0.4 means [0.35, 0.45)', 'RiskAssessment', 'probability=0.4', ['ra1']],
  ['number eq: 0.3 means [0.25, 0.35)', 'RiskAssessment', 'probability=0.3', []],
  ['number eq: 0.350 as written', 'RiskAssessment', 'probability=0.350', ['ra1']],
  ['number eq with several values', 'RiskAssessment', 'probability=0.1', ['ra2']],
  ['number eq zero: 0 means [-0.5, 0.5)', 'RiskAssessment', 'probability=0', ['ra1', 'ra2']],
  ['number eq zero at a finer precision', 'RiskAssessment', 'probability=0.0', []],
  ['number ne: some value outside the range', 'RiskAssessment', 'probability=ne0.35', ['ra2']],
  ['number gt ignores precision', 'RiskAssessment', 'probability=gt0.35', ['ra2']],
  ['number le', 'RiskAssessment', 'probability=le0.1', ['ra2']],
  // --- composite
  ['composite: code and value of one component', 'Observation', `component-code-value-quantity=${LOINC}|8480-6$gt100`, ['bp']],
  ['composite: the value of another component does not count', 'Observation', `component-code-value-quantity=${LOINC}|8462-4$gt100`, []],
  ['composite: code in any system', 'Observation', 'component-code-value-quantity=8462-4$80', ['bp']],
  ['composite: unit of the same component', 'Observation', `component-code-value-quantity=c1$gt50|${UCUM}|mg`, []],
  ['composite: unit of the same component (match)', 'Observation', `component-code-value-quantity=c2$gt50|${UCUM}|mg`, ['mixed']],
  ['combo composite includes the Observation itself', 'Observation', 'combo-code-value-quantity=http://b|222$7', ['mood']],
  // --- unions (registry.ts findUnions): combo-* are searched through code | component-code and the like
  ['combo-code: the code of the Observation or of a component', 'Observation', 'combo-code=8480-6,1234', ['bp', 'mixed']],
  ['combo-code with a system, in a component', 'Observation', `combo-code=${LOINC}|c2`, ['mixed']],
  ['combo-code:not: neither the code nor a component code', 'Observation', 'combo-code:not=8480-6,111', ['mixed', 'panel']],
  ['combo-code:missing=false: every coded Observation', 'Observation', 'combo-code:missing=false', ['bp', 'mixed', 'mood', 'panel']],
  ['combo-value-quantity:missing=true: no value anywhere', 'Observation', 'combo-value-quantity:missing=true', ['panel']],
  ['combo-value-quantity: the value or a component\'s', 'Observation', 'combo-value-quantity=gt100', ['bp', 'mixed']],
  ['combo-value-quantity: the Observation\'s own value', 'Observation', `combo-value-quantity=7|${UCUM}|{score}`, ['mood']],
  ['combo-value-quantity: two conditions, each in some member', 'Observation', 'combo-value-quantity=gt5&combo-value-quantity=lt10', ['mood']],
  ['combo-code-value-quantity: a component pair', 'Observation', `combo-code-value-quantity=${LOINC}|8462-4$80`, ['bp']],
  ['combo-code-value-quantity: a code of one pair and a value of another do not match', 'Observation', `combo-code-value-quantity=${LOINC}|8462-4$120`, []],
  // --- uri, _id, _profile, missing
  ['_profile equality', 'Patient', '_profile=http://x.org/fhir/StructureDefinition/a', ['p1']],
  ['_profile:below', 'Patient', '_profile:below=http://x.org/fhir/', ['p1']],
  ['_profile:above', 'Patient', '_profile:above=http://x.org/fhir/StructureDefinition/a/extra', ['p1']],
  ['_id', 'Patient', '_id=p1,p3', ['p1', 'p3']],
  ['_id:not', 'Patient', '_id:not=p1', ['p2', 'p3']],
  [':missing=true', 'Patient', 'birthdate:missing=true', ['p3']],
  [':missing=false', 'Patient', 'birthdate:missing=false', ['p1', 'p2']],
  ['no condition: every live resource, never a deleted one', 'Patient', '_count=10', ['p1', 'p2', 'p3']],
  ['a deleted resource does not satisfy a chain', 'Observation', 'subject:Patient.birthdate:missing=true', ['mixed']],
])('%s', (_title, resourceType, query, expected) => {
  test.each<Layout>(['logical', 'stored'])(`${resourceType}?${query} → [${expected.join(', ')}] (%s layout)`, async (layout) => {
    expect(await search(resourceType, query, layout)).toEqual(expected);
  });
});
