import fs from 'node:fs';
import { getResourceTypes } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { R4_RESOURCE_TYPES, isResourceType, loadDefinitions } from '../../../src/fhir/definitions';
import { ERROR_CODE_SYSTEM, FhirError } from '../../../src/fhir/outcomes';
import { MAX_DEPTH, MAX_ISSUES, assertValid, loadValidator, validateResource } from '../../../src/fhir/validation';

type Json = Record<string, unknown>;

// Fixtures are built by functions so that no test can mutate another's input.
const patient = (): Json => ({
  resourceType: 'Patient',
  id: 'p1',
  meta: { versionId: '1', lastUpdated: '2024-03-01T10:00:00.000Z' },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Jean Dupont</div>' },
  extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Lyon' } }],
  identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '1234567890123' }],
  active: true,
  name: [
    {
      use: 'official',
      family: 'Dupont',
      given: ['Jean', 'Marie'],
      // A repeating primitive with an extension on its second value only: null placeholders.
      _given: [null, { extension: [{ url: 'http://example.org/fhir/StructureDefinition/source', valueString: 'birth certificate' }] }],
    },
    { use: 'usual', given: ['Jean\u00a0Marie'] }, // no-break space: valid in a FHIR string
  ],
  telecom: [{ system: 'phone', value: '+33 1 23 45 67 89', use: 'home' }],
  gender: 'male',
  birthDate: '1980-02-29',
  deceasedBoolean: false,
  address: [{ line: ['1 rue de la Paix'], city: 'Paris', postalCode: '75002', country: 'FR', period: { start: '2020-01' } }],
  contact: [
    {
      relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', code: 'N' }] }],
      name: { family: 'Dupont', given: ['Claire'] },
      telecom: [{ system: 'phone', value: '+33 6 00 00 00 00' }],
    },
  ],
  communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'fr' }] }, preferred: true }],
  generalPractitioner: [{ reference: 'Practitioner/pr1' }],
  managingOrganization: { reference: 'Organization/org1', display: 'CMP Paris 2' },
});

const carePlan = (): Json => ({
  resourceType: 'CarePlan',
  id: 'cp1',
  contained: [
    {
      resourceType: 'Goal',
      id: 'g1',
      lifecycleStatus: 'active',
      description: { text: 'Reduce anxiety episodes' },
      subject: { reference: 'Patient/p1' },
    },
  ],
  status: 'active',
  intent: 'plan',
  category: [{ coding: [{ system: 'http://snomed.info/sct', code: '736690008', display: 'Mental health care plan' }] }],
  title: 'Follow-up plan',
  subject: { reference: 'Patient/p1', display: 'Jean Dupont' },
  period: { start: '2024-01-15', end: '2024-12-31' },
  created: '2024-01-10T09:30:00+01:00',
  author: { reference: 'Practitioner/pr1' },
  careTeam: [{ reference: 'CareTeam/ct1' }],
  goal: [{ reference: '#g1' }],
  activity: [
    {
      detail: {
        kind: 'Appointment',
        status: 'scheduled',
        description: 'Weekly counselling session',
        scheduledTiming: { repeat: { frequency: 1, period: 1, periodUnit: 'wk', boundsPeriod: { start: '2024-01-15T09:00:00+01:00' } } },
        performer: [{ reference: 'Practitioner/pr1' }],
      },
    },
  ],
  note: [{ text: 'Discussed with the patient', time: '2024-01-10T09:45:00Z' }],
});

const observation = (): Json => ({
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '44261-6', display: 'PHQ-9 total score' }] },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: '2024-02-29T14:30:00.000+01:00',
  issued: '2024-02-29T13:35:00Z',
  valueInteger: 12,
  component: [
    {
      code: { text: 'Item 9: thoughts of self-harm' },
      valueQuantity: { value: 1, system: 'http://unitsofmeasure.org', code: '{score}' },
    },
  ],
  referenceRange: [{ low: { value: 0 }, high: { value: 27 } }],
});

const transaction = (): Json => {
  const newPatient = patient();
  delete newPatient.id;
  delete newPatient.meta;
  const plan = carePlan();
  delete plan.id;
  plan.subject = { reference: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a' };
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a', resource: newPatient, request: { method: 'POST', url: 'Patient' } },
      { fullUrl: 'urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059', resource: plan, request: { method: 'POST', url: 'CarePlan' } },
      { resource: observation(), request: { method: 'PUT', url: 'Observation/o1' } },
    ],
  };
};

const collection = (): Json => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry: [{ fullUrl: 'http://example.org/fhir/Patient/p1', resource: patient() }, { resource: carePlan() }],
});

interface Expected {
  code: string;
  expression?: string[];
}

/** Table rows as objects: jest would pass a missing last column as its `done` callback. */
function cases(rows: [string, unknown, Expected[], string?][]): { name: string; resource: unknown; expected: Expected[]; expectedType?: string }[] {
  return rows.map(([name, resource, expected, expectedType]) => ({ name, resource, expected, expectedType }));
}

/** Errors as { code, expression }: what the tests assert. */
function errors(issues: OperationOutcomeIssue[]): Expected[] {
  return issues.filter((i) => i.severity === 'error').map((i) => ({ code: i.code, expression: i.expression }));
}

function stableCode(issue: OperationOutcomeIssue | undefined): string | undefined {
  return issue?.details?.coding?.find((c) => c.system === ERROR_CODE_SYSTEM)?.code;
}

/** A copy of `base` with `change` applied to it. */
function edit(base: () => Json, change: (r: Json) => void): Json {
  const r = base();
  change(r);
  return r;
}

beforeAll(() => {
  loadValidator();
}, 60_000);

describe('definitions', () => {
  it('lists the 146 concrete R4 resource types, sorted', () => {
    expect(R4_RESOURCE_TYPES).toHaveLength(146);
    expect([...R4_RESOURCE_TYPES].sort()).toEqual(R4_RESOURCE_TYPES);
  });

  it('matches the resource StructureDefinitions except the R4B SubscriptionStatus', () => {
    loadDefinitions(); // idempotent
    expect([...R4_RESOURCE_TYPES]).toEqual(getResourceTypes().filter((t) => t !== 'SubscriptionStatus').sort());
  });

  test.each([
    ['Patient', true],
    ['CarePlan', true],
    ['Project', false], // Medplum resource type
    ['SubscriptionStatus', false], // R4B
    ['Resource', false], // abstract
    ['patient', false],
    ['constructor', false],
    [42, false],
  ])('isResourceType(%p) is %p', (name, expected) => {
    expect(isResourceType(name)).toBe(expected);
  });
});

describe('validateResource accepts valid resources', () => {
  test.each([
    ['Patient', patient],
    ['CarePlan with a contained Goal', carePlan],
    ['Observation', observation],
    ['transaction Bundle with nested resources', transaction],
    ['collection Bundle with nested resources', collection],
  ])('%s', (_name, build) => {
    expect(validateResource(build())).toEqual([]);
  });

  it('accepts the expected type', () => {
    expect(validateResource(patient(), { expectedType: 'Patient' })).toEqual([]);
  });
});

describe('validateResource reports each problem once, at its element', () => {
  test.each(
    cases([
    // 1. shape
    ['not an object (array)', [patient()], [{ code: 'structure', expression: ['Patient'] }], 'Patient'],
    ['not an object (null)', null, [{ code: 'structure', expression: ['Resource'] }]],
    ['not an object (string)', 'Patient', [{ code: 'structure', expression: ['Resource'] }]],
    ['missing resourceType', { id: 'x' }, [{ code: 'required', expression: ['resourceType'] }]],
    ['unknown resourceType', { resourceType: 'Foo' }, [{ code: 'not-supported', expression: ['resourceType'] }]],
    ['Medplum resourceType', { resourceType: 'Project', name: 'x' }, [{ code: 'not-supported', expression: ['resourceType'] }]],
    ['resourceType mismatch', observation(), [{ code: 'invalid', expression: ['resourceType'] }], 'Patient'],
    // 2. storage hazards
    ['$where key', edit(patient, (r) => (r.$where = 'sleep(1000)')), [{ code: 'security', expression: ['Patient.`$where`'] }]],
    [
      'key containing "."',
      edit(patient, (r) => ((r.name as Json[])[0] = { 'family.x': 'a' })),
      [{ code: 'security', expression: ['Patient.name[0].`family.x`'] }],
    ],
    [
      '__proto__ key (JSON.parse makes it an own property)',
      JSON.parse('{"resourceType":"Patient","__proto__":{"admin":true},"active":true}'),
      [{ code: 'security', expression: ['Patient.__proto__'] }],
    ],
    [
      'constructor key',
      JSON.parse('{"resourceType":"Patient","name":[{"family":"a","constructor":{"prototype":{}}}]}'),
      [{ code: 'security', expression: ['Patient.name[0].constructor'] }],
    ],
    [
      'NUL in a string',
      edit(patient, (r) => ((r.name as Json[])[0] = { family: 'Du\u0000pont' })),
      [{ code: 'value', expression: ['Patient.name[0].family'] }],
    ],
    [
      'unpaired surrogate in a string',
      edit(patient, (r) => ((r.name as Json[])[0] = { family: 'Du\ud800pont' })),
      [{ code: 'value', expression: ['Patient.name[0].family'] }],
    ],
    ['nested array', edit(patient, (r) => (r.name = [[{ family: 'Dupont' }]])), [{ code: 'structure', expression: ['Patient.name[0]'] }]],
    ['empty array', edit(patient, (r) => (r.identifier = [])), [{ code: 'structure', expression: ['Patient.identifier'] }]],
    // 3. JSON schema
    ['unknown element', edit(patient, (r) => (r.foo = 1)), [{ code: 'structure', expression: ['Patient'] }]],
    [
      'unknown element in a data type',
      edit(patient, (r) => ((r.name as Json[])[0] = { family: 'Dupont', bogus: true })),
      [{ code: 'structure', expression: ['Patient.name[0]'] }],
    ],
    ['Medplum-only meta field', edit(patient, (r) => (r.meta = { project: 'p' })), [{ code: 'structure', expression: ['Patient.meta'] }]],
    ['wrong JSON type for a primitive', edit(patient, (r) => (r.active = 'yes')), [{ code: 'structure', expression: ['Patient.active'] }]],
    ['number for a date', edit(patient, (r) => (r.birthDate = 19800229)), [{ code: 'structure', expression: ['Patient.birthDate'] }]],
    [
      'string for a complex type (reported once, not once per character)',
      edit(patient, (r) => (r.managingOrganization = 'Organization/org1')),
      [{ code: 'structure', expression: ['Patient.managingOrganization'] }],
    ],
    ['object for an array', edit(patient, (r) => (r.name = { family: 'Dupont' })), [{ code: 'structure', expression: ['Patient.name'] }]],
    [
      'string for an array of strings',
      edit(patient, (r) => ((r.name as Json[])[0] = { given: 'Jean' })),
      [{ code: 'structure', expression: ['Patient.name[0].given'] }],
    ],
    ['null value', edit(patient, (r) => (r.active = null)), [{ code: 'structure', expression: ['Patient.active'] }]],
    ['bad enum: gender "x"', edit(patient, (r) => (r.gender = 'x')), [{ code: 'code-invalid', expression: ['Patient.gender'] }]],
    ['bad enum: CarePlan.status "bogus"', edit(carePlan, (r) => (r.status = 'bogus')), [{ code: 'code-invalid', expression: ['CarePlan.status'] }]],
    ['bad enum: CarePlan.intent "maybe"', edit(carePlan, (r) => (r.intent = 'maybe')), [{ code: 'code-invalid', expression: ['CarePlan.intent'] }]],
    ['id "a b"', edit(patient, (r) => (r.id = 'a b')), [{ code: 'value', expression: ['Patient.id'] }]],
    ['empty string', edit(patient, (r) => ((r.name as Json[])[0] = { family: '' })), [{ code: 'value', expression: ['Patient.name[0].family'] }]],
    [
      'dateTime without time zone',
      edit(observation, (r) => (r.effectiveDateTime = '2024-01-01T10:00:00')),
      [{ code: 'value', expression: ['Observation.effective.ofType(dateTime)'] }],
    ],
    ['dateTime at hour 24', edit(observation, (r) => (r.effectiveDateTime = '2024-01-01T24:00:00Z')), [{ code: 'value', expression: ['Observation.effective.ofType(dateTime)'] }]],
    [
      'missing required complex element (CarePlan.subject)',
      edit(carePlan, (r) => delete r.subject),
      [{ code: 'required', expression: ['CarePlan'] }],
    ],
    [
      'unknown nested resource type',
      edit(patient, (r) => (r.contained = [{ resourceType: 'Foo', id: 'f' }])),
      [{ code: 'not-supported', expression: ['Patient.contained[0]'] }],
    ],
    [
      'errors inside Bundle.entry.resource',
      edit(collection, (r) => Object.assign((r.entry as Json[])[0]?.resource as Json, { gender: 'x', foo: 1 })),
      [
        { code: 'structure', expression: ['Bundle.entry[0].resource'] },
        { code: 'code-invalid', expression: ['Bundle.entry[0].resource.gender'] },
      ],
    ],
    // 4. StructureDefinitions (Medplum)
    [
      'missing required CarePlan.status and intent',
      edit(carePlan, (r) => {
        delete r.status;
        delete r.intent;
      }),
      [
        { code: 'required', expression: ['CarePlan'] },
        { code: 'required', expression: ['CarePlan'] },
      ],
    ],
    ['invariant pat-1', edit(patient, (r) => (r.contact = [{ gender: 'female' }])), [{ code: 'invariant', expression: ['Patient.contact[0]'] }]],
    [
      'invariant inside a Bundle entry',
      edit(collection, (r) => (((r.entry as Json[])[0]?.resource as Json).contact = [{ gender: 'female' }])),
      [{ code: 'invariant', expression: ['Bundle.entry[0].resource.contact[0]'] }],
    ],
    ['empty object', edit(patient, (r) => (r.name = [{}])), [{ code: 'structure', expression: ['Patient.name[0]'] }]],
    [
      'decimal for an integer (choice element path resolved)',
      edit(patient, (r) => (r.multipleBirthInteger = 1.5)),
      [{ code: 'value', expression: ['Patient.multipleBirth.ofType(integer)'] }],
    ],
    ['number for xhtml', edit(patient, (r) => (r.text = { status: 'generated', div: 5 })), [{ code: 'structure', expression: ['Patient.text.div'] }]],
    // 5. what neither validator checks
    [
      'choice-type conflict (valueString + valueBoolean)',
      edit(observation, (r) => {
        delete r.valueInteger;
        Object.assign(r, { valueString: 'a', valueBoolean: true });
      }),
      [{ code: 'structure', expression: ['Observation'] }],
    ],
    ['2024-02-31 in birthDate', edit(patient, (r) => (r.birthDate = '2024-02-31')), [{ code: 'value', expression: ['Patient.birthDate'] }]],
    ['2023-02-29 in birthDate', edit(patient, (r) => (r.birthDate = '2023-02-29')), [{ code: 'value', expression: ['Patient.birthDate'] }]],
    [
      '2024-02-31 in a dateTime',
      edit(carePlan, (r) => (r.created = '2024-02-31T10:00:00Z')),
      [{ code: 'value', expression: ['CarePlan.created'] }],
    ],
    [
      '2024-04-31 in an instant',
      edit(observation, (r) => (r.issued = '2024-04-31T10:00:00Z')),
      [{ code: 'value', expression: ['Observation.issued'] }],
    ],
    [
      '2024-02-31 in an extension valueDate',
      edit(patient, (r) => (r.extension = [{ url: 'http://example.org/fhir/StructureDefinition/x', valueDate: '2024-02-31' }])),
      [{ code: 'value', expression: ['Patient.extension[0].value.ofType(date)'] }],
    ],
    [
      '2024-02-31 in the extension of a primitive',
      edit(patient, (r) => (r._birthDate = { extension: [{ url: 'http://example.org/x', valueDate: '2024-02-31' }] })),
      [{ code: 'value', expression: ['Patient.birthDate.extension[0].value.ofType(date)'] }],
    ],
    [
      '2023-02-29 in a contained resource',
      edit(carePlan, (r) => (((r.contained as Json[])[0] as Json).startDate = '2023-02-29')),
      [{ code: 'value', expression: ['CarePlan.contained[0].start.ofType(date)'] }],
    ],
    [
      '2023-02-29 in a Bundle entry',
      edit(transaction, (r) => (((r.entry as Json[])[2]?.resource as Json).effectiveDateTime = '2023-02-29T10:00:00Z')),
      [{ code: 'value', expression: ['Bundle.entry[2].resource.effective.ofType(dateTime)'] }],
    ],
    [
      'Period ending before it starts (per-1)',
      edit(carePlan, (r) => (r.period = { start: '2024-06-01T10:00:00Z', end: '2024-06-01T09:59:59Z' })),
      [{ code: 'invariant', expression: ['CarePlan.period'] }],
    ],
    [
      'local reference without its contained resource (ref-1)',
      edit(carePlan, (r) => (r.goal = [{ reference: '#nope' }])),
      [{ code: 'invariant', expression: ['CarePlan.goal[0]'] }],
    ],
    [
      'narrative with a script (txt-1)',
      edit(patient, (r) => (r.text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script>x</div>' })),
      [{ code: 'invariant', expression: ['Patient.text.div'] }],
    ],
    [
      'narrative with an event attribute (txt-1)',
      edit(patient, (r) => (r.text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">x</p></div>' })),
      [{ code: 'invariant', expression: ['Patient.text.div'] }],
    ],
    [
      'narrative without the XHTML namespace',
      edit(patient, (r) => (r.text = { status: 'generated', div: '<div>Jean</div>' })),
      [{ code: 'structure', expression: ['Patient.text.div'] }],
    ],
    [
      'unit code without a system (qty-3)',
      edit(observation, (r) => {
        delete r.valueInteger;
        r.valueQuantity = { value: 5, code: 'mg' };
      }),
      [{ code: 'invariant', expression: ['Observation.value.ofType(Quantity)'] }],
    ],
    ]),
  )('$name', ({ resource, expected, expectedType }) => {
    const issues = validateResource(resource, expectedType ? { expectedType } : {});
    expect(errors(issues)).toEqual(expected);
    for (const issue of issues) {
      expect(issue.details?.text).toEqual(expect.any(String));
      expect(issue.diagnostics).toEqual(expect.any(String));
      expect(stableCode(issue)).toEqual(expect.any(String));
    }
  });
});

describe('validateResource: edge cases', () => {
  it('reports every problem of a resource, not only the first', () => {
    const r = edit(carePlan, (cp) => {
      delete cp.intent;
      cp.status = 'bogus';
      cp.created = '2023-02-29T10:00:00Z';
      cp.$set = { status: 'active' };
      cp.foo = 1;
    });
    expect(errors(validateResource(r))).toEqual([
      { code: 'security', expression: ['CarePlan.`$set`'] },
      { code: 'structure', expression: ['CarePlan'] },
      { code: 'code-invalid', expression: ['CarePlan.status'] },
      { code: 'value', expression: ['CarePlan.created'] },
      { code: 'required', expression: ['CarePlan'] },
    ]);
  });

  it('puts stable error codes in details.coding', () => {
    const issues = validateResource({ resourceType: 'Patient', $where: '1', gender: 'x' }, { expectedType: 'Patient' });
    expect(issues.map(stableCode)).toEqual(['FORBIDDEN_KEY', 'INVALID_RESOURCE']);
    expect(validateResource({ resourceType: 'Foo' }).map(stableCode)).toEqual(['UNKNOWN_TYPE']);
    expect(validateResource(observation(), { expectedType: 'Patient' }).map(stableCode)).toEqual(['RESOURCE_TYPE_MISMATCH']);
  });

  it('explains enum, format and date errors in words', () => {
    const [gender] = validateResource(edit(patient, (r) => (r.gender = 'x')));
    expect(gender?.details?.text).toBe('Invalid code "x": value must be one of: male, female, other, unknown');
    const [dateTime] = validateResource(edit(observation, (r) => (r.effectiveDateTime = '2024-01-01T10:00:00')));
    expect(dateTime?.details?.text).toMatch(/^Invalid value format for dateTime: .*time zone/);
    const [date] = validateResource(edit(patient, (r) => (r.birthDate = '2023-02-29')));
    expect(date?.details?.text).toBe('Invalid date "2023-02-29": February 2023 has 28 days');
  });

  it('returns a reference to the wrong resource type as a warning', () => {
    const issues = validateResource(edit(patient, (r) => (r.managingOrganization = { reference: 'Patient/p2' })));
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', expression: ['Patient.managingOrganization'] })]);
  });

  it('rejects JSON nested deeper than MAX_DEPTH without recursing into it', () => {
    let ext: Json = { url: 'http://example.org/x', valueString: 'leaf' };
    for (let i = 0; i < MAX_DEPTH; i++) {
      ext = { url: 'http://example.org/x', extension: [ext] };
    }
    const issues = validateResource({ resourceType: 'Patient', extension: [ext] });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toEqual(expect.objectContaining({ severity: 'error', code: 'too-costly' }));
  });

  it('checks a base64Binary in linear time (the schema regex backtracks exponentially)', () => {
    const started = Date.now();
    const issues = validateResource(
      edit(patient, (r) => (r.extension = [{ url: 'http://example.org/x', valueBase64Binary: `${'AAAA  '.repeat(40)}!` }])),
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(errors(issues)).toEqual([{ code: 'value', expression: ['Patient.extension[0].value.ofType(base64Binary)'] }]);
  });

  it(`caps the issues at ${MAX_ISSUES}`, () => {
    const r: Json = { resourceType: 'Patient' };
    for (let i = 0; i < MAX_ISSUES + 20; i++) {
      r[`unknown${i}`] = i;
    }
    const issues = validateResource(r);
    expect(issues).toHaveLength(MAX_ISSUES + 1);
    expect(issues[MAX_ISSUES]).toEqual(expect.objectContaining({ severity: 'error', code: 'too-costly', expression: ['Patient'] }));
  });

  it('stays fast on a hostile resource with many bad values', () => {
    const r = { resourceType: 'Patient', name: [{ given: Array.from({ length: 20_000 }, (_, i) => `a\u0000${i}`) }] };
    const started = Date.now();
    const issues = validateResource(r);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(issues).toHaveLength(MAX_ISSUES + 1);
    expect(issues[0]).toEqual(expect.objectContaining({ code: 'value', expression: ['Patient.name[0].given[0]'] }));
  });

  it('does not modify its input', () => {
    const r = JSON.parse('{"resourceType":"Patient","__proto__":{"x":1},"$where":"1","name":[{"family":"a"}]}') as Json;
    const before = JSON.stringify(r);
    validateResource(r);
    expect(JSON.stringify(r)).toBe(before);
  });
});

describe('validateResource: RiskAssessment ras-2 (probability <= 100)', () => {
  const risk = (prediction: object) => ({ resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [prediction] });

  test.each([
    ['qualitativeRisk only', { qualitativeRisk: { text: 'low' } }],
    ['probabilityRange', { probabilityRange: { low: { value: 10, unit: '%', system: 'http://unitsofmeasure.org', code: '%' }, high: { value: 20, unit: '%', system: 'http://unitsofmeasure.org', code: '%' } } }],
    ['probabilityDecimal 100', { probabilityDecimal: 100 }],
  ])('a prediction with %s meets it', (_name, prediction) => {
    expect(validateResource(risk(prediction))).toEqual([]);
  });

  it('a probabilityDecimal above 100 violates it', () => {
    expect(errors(validateResource(risk({ probabilityDecimal: 150 })))).toEqual([{ code: 'invariant', expression: ['RiskAssessment.prediction[0]'] }]);
  });
});

describe('assertValid', () => {
  it('returns the warnings of a valid resource', () => {
    expect(assertValid(patient(), 'Patient')).toEqual([]);
    const warnings = assertValid(edit(patient, (r) => (r.managingOrganization = { reference: 'Patient/p2' })));
    expect(warnings).toEqual([expect.objectContaining({ severity: 'warning' })]);
  });

  it('throws FhirError INVALID_RESOURCE (400) carrying every issue', () => {
    let thrown: unknown;
    try {
      assertValid(edit(carePlan, (r) => Object.assign(r, { status: 'bogus', foo: 1 })), 'CarePlan');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FhirError);
    const err = thrown as FhirError;
    expect(err.code).toBe('INVALID_RESOURCE');
    expect(err.status).toBe(400);
    expect(errors(err.outcome.issue ?? [])).toEqual([
      { code: 'structure', expression: ['CarePlan'] },
      { code: 'code-invalid', expression: ['CarePlan.status'] },
    ]);
  });
});

describe('loadValidator', () => {
  it('tells how to generate the validator when generated/fhir-validate.cjs is missing', () => {
    const existsSync = jest.spyOn(fs, 'existsSync').mockReturnValue(false);
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const fresh = require('../../../src/fhir/validation') as { validateResource: typeof validateResource };
        expect(() => fresh.validateResource({ resourceType: 'Patient' })).toThrow(/npm run gen:validator/);
      });
    } finally {
      existsSync.mockRestore();
    }
  });
});
