/** extractIndex: what each parameter type stores in `idx` (docs/storage.md, "Search index"). */
import type { Resource } from '@medplum/fhirtypes';
import { extractIndex, referenceForms } from '../../../src/search/extract';
import type { SearchIndex } from '../../../src/search/extract';
import { compositePrefix, unitRoundingKey, unitValueKey } from '../../../src/search/index-keys';
import { BASE_URL, testRegistry } from './registry-fixture';

const UCUM = 'http://unitsofmeasure.org';
const LOINC = 'http://loinc.org';

function idx(resource: Record<string, unknown>): SearchIndex {
  return extractIndex(resource as unknown as Resource, testRegistry());
}

describe('string parameters', () => {
  const patient = {
    resourceType: 'Patient',
    id: 'p1',
    name: [
      { use: 'official', prefix: ['Dr.'], given: ['Zoë', 'Élise'], family: 'Dupré', suffix: ['PhD'] },
      { text: 'Zoe  Dupre-Martin' },
    ],
    address: [{ line: ['12 Rue de l’Église'], city: 'Montréal', state: 'QC', postalCode: 'H2X 1Y4', country: 'CA' }],
  };

  test('HumanName contributes every part, the text, and given+family when there is no text', () => {
    expect(idx(patient).name).toEqual({
      s: ['dr.', 'zoe', 'elise', 'dupre', 'phd', 'zoe elise dupre', 'zoe dupre-martin'],
      e: ['Dr.', 'Zoë', 'Élise', 'Dupré', 'PhD', 'Zoë Élise Dupré', 'Zoe  Dupre-Martin'],
      o: 'dr.',
    });
  });

  test('family and given are their own parameters', () => {
    expect(idx(patient).family).toEqual({ s: ['dupre'], e: ['Dupré'], o: 'dupre' });
    expect(idx(patient).given?.s).toEqual(['zoe', 'elise']);
  });

  test('Address contributes every part', () => {
    expect(idx(patient).address?.s).toEqual(['12 rue de l’eglise', 'montreal', 'qc', 'h2x 1y4', 'ca']);
    expect(idx(patient)['address-city']).toEqual({ s: ['montreal'], e: ['Montréal'], o: 'montreal' });
  });
});

describe('token parameters', () => {
  test('CodeableConcept with several codings: codes, system|code, systems, folded texts', () => {
    const obs = {
      resourceType: 'Observation',
      status: 'final',
      code: {
        coding: [
          { system: LOINC, code: '44249-1', display: 'PHQ-9 quick' },
          { system: 'http://snomed.info/sct', code: '715252007' },
        ],
        text: 'PHQ-9 Dépression',
      },
    };
    expect(idx(obs).code).toEqual({
      c: ['44249-1', '715252007'],
      t: [`${LOINC}|44249-1`, 'http://snomed.info/sct|715252007'],
      x: ['phq-9 quick', 'phq-9 depression'],
      o: '44249-1',
    });
  });

  test('Identifier: system|value, and type|value for :of-type, type text for :text', () => {
    const patient = {
      resourceType: 'Patient',
      identifier: [
        { system: 'urn:mrn', value: 'A|1', type: { coding: [{ system: 'http://hl7.org/v2-0203', code: 'MR' }], text: 'Medical record' } },
        { value: 'no-system' },
      ],
    };
    expect(idx(patient).identifier).toEqual({
      c: ['A|1', 'no-system'],
      t: ['urn:mrn|A\\|1', '|no-system'],
      x: ['medical record'],
      ot: ['http://hl7.org/v2-0203|MR|A\\|1'],
      o: 'A|1',
    });
  });

  test('ContactPoint: the value, with ContactPoint.system as the system', () => {
    const patient = { resourceType: 'Patient', telecom: [{ system: 'phone', value: '+1 555 0100' }, { system: 'email', value: 'a@b.org' }] };
    expect(idx(patient).phone).toEqual({ c: ['+1 555 0100'], t: ['phone|+1 555 0100'], o: '+1 555 0100' });
    expect(idx(patient).email?.c).toEqual(['a@b.org']);
    expect(idx(patient).telecom?.c).toEqual(['+1 555 0100', 'a@b.org']);
  });

  test('a value with a system and no code has the form `system|`, which `system|` searches find by prefix', () => {
    const patient = { resourceType: 'Patient', identifier: [{ system: 'urn:mrn' }, { system: 'urn:a|b', value: '7' }] };
    expect(idx(patient).identifier).toEqual({ c: ['7'], t: ['urn:mrn|', 'urn:a\\|b|7'], o: '7' });
  });

  test('code and boolean values have no system', () => {
    const patient = { resourceType: 'Patient', gender: 'female', active: false };
    expect(idx(patient).gender).toEqual({ c: ['female'], t: ['|female'], o: 'female' });
    expect(idx(patient).active).toEqual({ c: ['false'], t: ['|false'], o: 'false' });
  });

  test('_id is not extracted (it is the document _id)', () => {
    expect(idx({ resourceType: 'Patient', id: 'abc' })._id).toBeUndefined();
  });
});

describe('unions of other parameters (registry.ts findUnions)', () => {
  test('combo-* keep only their sort key: their values are those of their members', () => {
    const index = idx({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: LOINC, code: '85354-9' }] },
      component: [{ code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 120, system: UCUM, code: 'mm[Hg]' } }],
    });
    expect(index['combo-code']).toEqual({ o: '8480-6' });
    expect(index['combo-value-quantity']).toEqual({ o: 120 });
    expect(index['combo-code-value-quantity']).toBeUndefined();
    expect(index['code']?.['c']).toEqual(['85354-9']);
    expect(index['component-code']?.['c']).toEqual(['8480-6']);
    expect(index['component-code-value-quantity']).toBeDefined();
  });

  test('the sort key is the smallest of the members\'', () => {
    const index = idx({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ code: 'zz' }] },
      valueQuantity: { value: 9 },
      component: [{ code: { coding: [{ code: 'aa' }] }, valueQuantity: { value: 3 } }],
    });
    expect(index['combo-code']).toEqual({ o: 'aa' });
    expect(index['combo-value-quantity']).toEqual({ o: 3 });
  });
});

describe('reference parameters', () => {
  test.each<[string, string[]]>([
    ['Patient/1', ['Patient/1']],
    [`${BASE_URL}/Patient/1`, ['Patient/1']],
    [`${BASE_URL}/Patient/1/_history/3`, ['Patient/1/_history/3', 'Patient/1']],
    ['Patient/1/_history/3', ['Patient/1/_history/3', 'Patient/1']],
    ['https://other.org/fhir/Patient/9', ['https://other.org/fhir/Patient/9']],
    ['https://other.org/fhir/Patient/9/_history/2', ['https://other.org/fhir/Patient/9/_history/2', 'https://other.org/fhir/Patient/9']],
    ['urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0', ['urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0']],
    ['#contained', []],
  ])('referenceForms(%s)', (reference, forms) => {
    expect(referenceForms(reference, BASE_URL)).toEqual(forms);
  });

  test('local references, identifiers, contained references skipped', () => {
    const obs = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `${BASE_URL}/Patient/p1`, identifier: { system: 'urn:mrn', value: '7' } },
      performer: [{ reference: '#pr1' }, { identifier: { value: 'nurse-9' } }, { reference: 'Practitioner/pr2' }],
      contained: [{ resourceType: 'Practitioner', id: 'pr1' }],
    };
    expect(idx(obs).subject).toEqual({ r: ['Patient/p1'], i: ['7', 'urn:mrn|7'], o: 'Patient/p1' });
    expect(idx(obs).patient).toEqual({ r: ['Patient/p1'], i: ['7', 'urn:mrn|7'], o: 'Patient/p1' });
    expect(idx(obs).performer).toEqual({ r: ['Practitioner/pr2'], i: ['nurse-9', '|nurse-9'], o: 'Practitioner/pr2' });
  });

  test('where(resolve() is Patient) keeps only references to a Patient', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Group/g1' } };
    expect(idx(obs).subject?.r).toEqual(['Group/g1']);
    expect(idx(obs).patient).toBeUndefined();
  });

  test('canonical references: url|version and url', () => {
    const qr = { resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'http://x.org/Questionnaire/phq9|2.0' };
    expect(idx(qr).questionnaire?.r).toEqual(['http://x.org/Questionnaire/phq9|2.0', 'http://x.org/Questionnaire/phq9']);
  });

  test('a custom parameter from profiles/ is extracted like the others', () => {
    const plan = { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/1' }, contributor: [{ reference: 'Practitioner/cw1' }, { reference: 'Organization/o1' }] };
    expect(idx(plan)['case-worker']).toEqual({ r: ['Practitioner/cw1'], o: 'Practitioner/cw1' });
  });
});

describe('date parameters', () => {
  test.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      'a year',
      { resourceType: 'Patient', birthDate: '2024' },
      { lo: ['2024-01-01T00:00:00.000Z'], hi: ['2024-12-31T23:59:59.999Z'], w: ['2024-01-01T00:00:00.000Z|2024-12-31T23:59:59.999Z'], o: '2024-01-01T00:00:00.000Z' },
    ],
    [
      'a day',
      { resourceType: 'Patient', birthDate: '2024-06-15' },
      { lo: ['2024-06-15T00:00:00.000Z'], hi: ['2024-06-15T23:59:59.999Z'], w: ['2024-06-15T00:00:00.000Z|2024-06-15T23:59:59.999Z'], o: '2024-06-15T00:00:00.000Z' },
    ],
  ])('birthdate: %s', (_t, patient, entry) => {
    expect(idx(patient).birthdate).toEqual(entry);
  });

  test('a dateTime with an offset is stored in UTC, at second precision', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, effectiveDateTime: '2024-06-15T10:00:00+02:00' };
    expect(idx(obs).date).toEqual({
      lo: ['2024-06-15T08:00:00.000Z'],
      hi: ['2024-06-15T08:00:00.999Z'],
      w: ['2024-06-15T08:00:00.000Z|2024-06-15T08:00:00.999Z'],
      o: '2024-06-15T08:00:00.000Z',
    });
  });

  test('a Period with an open end runs to 9999', () => {
    const plan = { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/1' }, period: { start: '2024-03' } };
    expect(idx(plan).date).toEqual({ lo: ['2024-03-01T00:00:00.000Z'], hi: ['9999-12-31T23:59:59.999Z'], w: ['2024-03-01T00:00:00.000Z|9999-12-31T23:59:59.999Z'], o: '2024-03-01T00:00:00.000Z' });
  });

  test('a Period with an open start', () => {
    const plan = { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/1' }, period: { end: '2024-03-31' } };
    expect(idx(plan).date?.lo).toEqual(['0001-01-01T00:00:00.000Z']);
    expect(idx(plan).date?.hi).toEqual(['2024-03-31T23:59:59.999Z']);
  });

  test('a Timing is one range over its events and bounds (its outer limits)', () => {
    const plan = {
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject: { reference: 'Patient/1' },
      activity: [
        { detail: { status: 'scheduled', scheduledTiming: { event: ['2024-05-20T09:00:00Z', '2024-05-01T09:00:00Z'], repeat: { boundsPeriod: { start: '2024-04-28', end: '2024-05-31' } } } } },
        { detail: { status: 'scheduled', scheduledString: 'every Monday' } },
      ],
    };
    expect(idx(plan)['activity-date']).toEqual({
      lo: ['2024-04-28T00:00:00.000Z'],
      hi: ['2024-05-31T23:59:59.999Z'],
      w: ['2024-04-28T00:00:00.000Z|2024-05-31T23:59:59.999Z'],
      o: '2024-04-28T00:00:00.000Z',
    });
  });

  test('meta.lastUpdated is _lastUpdated, at millisecond precision', () => {
    expect(idx({ resourceType: 'Patient', meta: { lastUpdated: '2024-06-15T10:00:00.123Z' } })._lastUpdated?.w).toEqual(['2024-06-15T10:00:00.123Z|2024-06-15T10:00:00.123Z']);
  });
});

describe('number and quantity parameters', () => {
  test('number: values, roundings coarser than the value, sort key', () => {
    const ra = { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/1' }, prediction: [{ probabilityDecimal: 0.35 }, { probabilityRange: { low: { value: 0.1 }, high: { value: 0.2 } } }] };
    // 0.1 and 0.2 have precision 10^-1: only coarser roundings are stored ('0:0', shared).
    expect(idx(ra).probability).toEqual({ v: [0.35, 0.1, 0.2], b: ['-1:4', '0:0'], o: 0.1 });
  });

  test('Quantity with system and code: all units, and per unit form (system|code, |code, |unit)', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 5.4, unit: 'mg', system: UCUM, code: 'mg' } };
    const b = ['0:5', '1:1', '2:0'];
    expect(idx(obs)['value-quantity']).toEqual({
      v: [5.4],
      b,
      [unitValueKey(`${UCUM}|mg`)]: [5.4],
      [unitRoundingKey(`${UCUM}|mg`)]: b,
      [unitValueKey('|mg')]: [5.4],
      [unitRoundingKey('|mg')]: b,
      o: 5.4,
    });
  });

  test('Quantity without system: found under |code only', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 3, code: '{score}' } };
    expect(Object.keys(idx(obs)['value-quantity'] ?? {}).sort()).toEqual(
      ['b', 'o', 'v', unitValueKey('|{score}'), unitRoundingKey('|{score}')].sort(),
    );
  });

  test('Quantity without a unit: all-units arrays only', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 3 } };
    expect(idx(obs)['value-quantity']).toEqual({ v: [3], b: ['1:0'], o: 3 });
  });
});

describe('uri parameters', () => {
  test('_profile values as written', () => {
    expect(idx({ resourceType: 'Patient', meta: { profile: ['http://x.org/a', 'http://x.org/b'] } })._profile).toEqual({
      u: ['http://x.org/a', 'http://x.org/b'],
      o: 'http://x.org/a',
    });
  });
});

describe('composite parameters', () => {
  const bp = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '85354-9' }] },
    valueCodeableConcept: { coding: [{ system: 'http://s', code: 'high' }] },
    component: [
      { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 120, system: UCUM, code: 'mm[Hg]' } },
      { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 80, system: UCUM, code: 'mm[Hg]' } },
    ],
  };

  test('token$quantity: each component value is stored under the hash of its own code forms', () => {
    const entry = idx(bp)['component-code-value-quantity'] ?? {};
    for (const [code, value, b] of [
      ['8480-6', 120, ['1:12', '2:1', '3:0']],
      ['8462-4', 80, ['1:8', '2:1', '3:0']],
    ] as const) {
      for (const form of [code, `${LOINC}|${code}`]) {
        const p = compositePrefix(form);
        expect(entry[`${p}v`]).toEqual([value]);
        expect(entry[`${p}b`]).toEqual(b);
        expect(entry[p + unitValueKey(`${UCUM}|mm[Hg]`)]).toEqual([value]);
        expect(entry[p + unitValueKey('|mm[Hg]')]).toEqual([value]);
      }
    }
    expect(Object.keys(entry)).toHaveLength(4 * 6);
    expect(entry.o).toBeUndefined();
  });

  test('token$token: the joined forms of the pairs of one base item', () => {
    expect(idx(bp)['code-value-concept']).toEqual({
      k: ['85354-9$high', `${LOINC}|85354-9$high`, `85354-9$http://s|high`, `${LOINC}|85354-9$http://s|high`, '85354-9$http://s|', `${LOINC}|85354-9$http://s|`],
    });
  });
});

describe('whole resources', () => {
  test('only parameters with a value get an entry', () => {
    expect(Object.keys(idx({ resourceType: 'Patient', id: 'x', gender: 'other' })).sort()).toEqual(['deceased', 'gender']);
  });

  test('a boolean expression is a value too: deceased is false for a living patient', () => {
    expect(idx({ resourceType: 'Patient' }).deceased).toEqual({ c: ['false'], t: ['|false'], o: 'false' });
    expect(idx({ resourceType: 'Patient', deceasedDateTime: '2024-01-01' }).deceased?.c).toEqual(['true']);
  });
});
