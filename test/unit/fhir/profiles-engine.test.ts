// The profile engine (src/fhir/profiles) on small purpose-built profiles: one table per
// constraint kind, each with instances that pass and instances that fail with a located issue.
import type { ElementDefinition, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { FhirError } from '../../../src/fhir/outcomes';
import { MAX_PROFILE_ISSUES, ProfileError, buildConformancePackage, equalsFixed, matchesPattern, referencedType } from '../../../src/fhir/profiles';
import { assertValid, validateResource } from '../../../src/fhir/validation';

type Json = Record<string, unknown>;
const T = 'http://test.example/fhir';
const CS = `${T}/CodeSystem/colours`;

const codeSystem = { resourceType: 'CodeSystem', id: 'colours', url: CS, status: 'active', content: 'complete', concept: [{ code: 'red' }, { code: 'blue' }, { code: 'green', concept: [{ code: 'teal' }] }] };
const valueSet = (id: string, compose: Json) => ({ resourceType: 'ValueSet', id, url: `${T}/ValueSet/${id}`, status: 'active', compose });

function profile(id: string, type: string, elements: ElementDefinition[]): StructureDefinition {
  return {
    resourceType: 'StructureDefinition',
    id,
    url: `${T}/StructureDefinition/${id}`,
    version: '1.0.0',
    name: id,
    status: 'active',
    kind: 'resource',
    abstract: false,
    type,
    baseDefinition: `http://hl7.org/fhir/StructureDefinition/${type}`,
    derivation: 'constraint',
    differential: { element: elements.map((e) => ({ ...e, path: e.path || (e.id as string).split('.').map((s) => s.split(':')[0]).join('.') })) },
  } as StructureDefinition;
}

const el = (id: string, rest: Partial<ElementDefinition> = {}): ElementDefinition => ({ id, path: '', ...rest }) as ElementDefinition;

const PROFILES = [
  profile('card', 'Patient', [
    el('Patient.identifier', { min: 1, max: '2' }),
    el('Patient.birthDate', { min: 1 }),
    el('Patient.contact.name', { min: 1 }),
    el('Patient.photo', { max: '0' }),
  ]),
  profile('fixed', 'Observation', [
    el('Observation.status', { fixedCode: 'final' }),
    el('Observation.code', { fixedCodeableConcept: { coding: [{ system: 'http://loinc.org', code: '1-8' }] } }),
  ]),
  profile('pattern', 'Patient', [
    el('Patient.identifier', { patternIdentifier: { system: 'urn:agency' } }),
    el('Patient.maritalStatus', { patternCodeableConcept: { coding: [{ system: 'urn:ms', code: 'M' }] } }),
    el('Patient.communication.language.coding', { patternCoding: { system: 'urn:ietf:bcp:47' } }),
  ]),
  profile('binding', 'Observation', [
    el('Observation.status', {}),
    el('Observation.code', { binding: { strength: 'required', valueSet: `${T}/ValueSet/colours-all` } }),
    el('Observation.method.coding', { binding: { strength: 'required', valueSet: `${T}/ValueSet/primary` } }),
    el('Observation.interpretation', { binding: { strength: 'extensible', valueSet: 'http://unknown.example/vs' } }),
  ]),
  profile('codes', 'Task', [el('Task.status', { binding: { strength: 'required', valueSet: `${T}/ValueSet/task-few` } })]),
  profile('types', 'Observation', [
    el('Observation.subject', { type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Patient', `${T}/StructureDefinition/card`] }] }),
    el('Observation.value[x]', { type: [{ code: 'Quantity' }, { code: 'string' }] }),
    el('Observation.effective[x]', { type: [{ code: 'dateTime' }] }),
    el('Observation.performer', { type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Practitioner'] }] }),
  ]),
  profile('invariants', 'Patient', [
    el('Patient', { constraint: [{ key: 'inv-1', severity: 'error', human: 'A name or an identifier', expression: 'name.exists() or identifier.exists()' }] }),
    el('Patient.name', { constraint: [{ key: 'inv-2', severity: 'warning', human: 'A family name', expression: 'family.exists()' }] }),
    el('Patient.address', { constraint: [{ key: 'inv-3', severity: 'error', human: 'Refers to the resource', expression: "%resource.gender = 'female'" }] }),
    el('Patient.telecom', { constraint: [{ key: 'inv-4', severity: 'error', human: 'Empty result', expression: 'value.where(false)' }] }),
    el('Patient.contact', { constraint: [{ key: 'inv-5', severity: 'error', human: 'Cannot evaluate with two given names', expression: "name.given.single().exists()" }] }),
  ]),
  profile('slices', 'Observation', [
    el('Observation.category', { slicing: { discriminator: [{ type: 'pattern', path: '$this' }], rules: 'closed' }, min: 1 }),
    el('Observation.category:survey', { sliceName: 'survey', min: 1, max: '1', patternCodeableConcept: { coding: [{ system: 'urn:cat', code: 'survey' }] } }),
    el('Observation.category:colour', { sliceName: 'colour', min: 0, max: '*', patternCodeableConcept: { coding: [{ system: CS }] }, binding: { strength: 'required', valueSet: `${T}/ValueSet/colours-all` } }),
    el('Observation.component', { slicing: { discriminator: [{ type: 'value', path: 'code.coding.code' }], rules: 'open' } }),
    el('Observation.component:systolic', { sliceName: 'systolic', min: 1, max: '1' }),
    el('Observation.component:systolic.code.coding.code', { fixedCode: '8480-6' }),
    el('Observation.component:systolic.value[x]', { min: 1, type: [{ code: 'Quantity' }] }),
    el('Observation.extension:source', { sliceName: 'source', min: 1, max: '1', type: [{ code: 'Extension', profile: ['urn:ext:source'] }] }),
    el('Observation.extension:source.value[x]', { type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Device'] }] }),
  ]),
];

const pkg = buildConformancePackage([
  codeSystem,
  valueSet('colours-all', { include: [{ system: CS }] }),
  valueSet('primary', { include: [{ system: CS, concept: [{ code: 'red' }, { code: 'blue' }, { code: 'yellow' }] }], exclude: [{ system: CS, concept: [{ code: 'yellow' }] }] }),
  valueSet('task-few', { include: [{ system: 'http://hl7.org/fhir/task-status', concept: [{ code: 'requested' }, { code: 'completed' }] }] }),
  ...PROFILES,
] as Resource[]);

const claim = (id: string) => ({ profile: [`${T}/StructureDefinition/${id}`] });
const obs = (id: string, rest: Json = {}): Json => ({ resourceType: 'Observation', id: 'o1', meta: claim(id), status: 'final', code: { text: 'x' }, ...rest });
const pat = (id: string, rest: Json = {}): Json => ({ resourceType: 'Patient', id: 'p1', meta: claim(id), ...rest });

/** The issues (severity, code, expression) the profile stage reports. */
function issues(resource: Json): [string, string, string | undefined][] {
  return validateResource(resource, { profiles: pkg }).map((i) => [i.severity, i.code, i.expression?.[0]]);
}

type Row = [string, Json, [string, string, string | undefined][]];

describe('cardinality (min/max at any depth, primitives with only an extension count)', () => {
  const base = { identifier: [{ value: '1' }], birthDate: '1980-01-01' };
  test.each<Row>([
    ['all present', pat('card', base), []],
    ['birthDate given only as an extension', pat('card', { identifier: [{ value: '1' }], _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] } }), []],
    ['no identifier', pat('card', { birthDate: '1980-01-01' }), [['error', 'required', 'Patient.identifier']]],
    ['three identifiers', pat('card', { ...base, identifier: [{ value: '1' }, { value: '2' }, { value: '3' }] }), [['error', 'structure', 'Patient.identifier[2]']]],
    ['a contact without a name (min inside an optional parent)', pat('card', { ...base, contact: [{ name: { family: 'A' } }, { organization: { reference: 'Organization/o1' } }] }), [['error', 'required', 'Patient.contact[1].name']]],
    ['a prohibited element (max 0)', pat('card', { ...base, photo: [{ contentType: 'image/png', data: 'AA==' }] }), [['error', 'structure', 'Patient.photo[0]']]],
  ])('%s', (_what, resource, expected) => expect(issues(resource)).toEqual(expected));
});

describe('fixed[x]: exact match, nothing more', () => {
  const code = { coding: [{ system: 'http://loinc.org', code: '1-8' }] };
  test.each<Row>([
    ['exactly the value', obs('fixed', { code }), []],
    ['another code', obs('fixed', { status: 'amended', code }), [['error', 'value', 'Observation.status']]],
    ['the value plus a text', obs('fixed', { code: { ...code, text: 'extra' } }), [['error', 'value', 'Observation.code']]],
    ['the value plus another coding', obs('fixed', { code: { coding: [...code.coding, { system: 'urn:x', code: 'y' }] } }), [['error', 'value', 'Observation.code']]],
  ])('%s', (_what, resource, expected) => expect(issues(resource)).toEqual(expected));
});

describe('pattern[x]: CodeableConcept, Coding and Identifier hold at least the pattern', () => {
  test.each<Row>([
    ['an Identifier with the system and any value', pat('pattern', { identifier: [{ system: 'urn:agency', value: '42', use: 'official' }] }), []],
    ['an Identifier of another system', pat('pattern', { identifier: [{ system: 'urn:other', value: '42' }] }), [['error', 'value', 'Patient.identifier[0]']]],
    ['every repetition must match', pat('pattern', { identifier: [{ system: 'urn:agency', value: '1' }, { value: '2' }] }), [['error', 'value', 'Patient.identifier[1]']]],
    ['a CodeableConcept with the coding among others, and a text', pat('pattern', { maritalStatus: { coding: [{ system: 'urn:other', code: 'x' }, { system: 'urn:ms', code: 'M', display: 'Married' }], text: 'married' } }), []],
    ['a CodeableConcept with text only', pat('pattern', { maritalStatus: { text: 'married' } }), [['error', 'value', 'Patient.maritalStatus']]],
    ['a CodeableConcept with the code in another system', pat('pattern', { maritalStatus: { coding: [{ system: 'urn:other', code: 'M' }] } }), [['error', 'value', 'Patient.maritalStatus']]],
    ['a Coding with the system and a code', pat('pattern', { communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'fr' }] } }] }), []],
    ['a Coding without the system', pat('pattern', { communication: [{ language: { coding: [{ code: 'fr' }] } }] }), [['error', 'value', 'Patient.communication[0].language.coding[0]']]],
  ])('%s', (_what, resource, expected) => expect(issues(resource)).toEqual(expected));
});

describe('required bindings to our value sets (code, Coding, CodeableConcept); other strengths are not checked', () => {
  test.each<Row>([
    ['a code of the whole code system, nested concepts included', obs('binding', { code: { coding: [{ system: CS, code: 'teal' }] } }), []],
    ['one coding of several in the value set', obs('binding', { code: { coding: [{ system: 'urn:x', code: 'red' }, { system: CS, code: 'red' }] } }), []],
    ['a code of another system', obs('binding', { code: { coding: [{ system: 'urn:x', code: 'red' }] } }), [['error', 'value', 'Observation.code']]],
    ['text only', obs('binding', { code: { text: 'red' } }), [['error', 'value', 'Observation.code']]],
    ['a Coding excluded from the value set', obs('binding', { code: { coding: [{ system: CS, code: 'red' }] }, method: { coding: [{ system: CS, code: 'yellow' }] } }), [['error', 'value', 'Observation.method.coding[0]']]],
    ['an extensible binding is not enforced', obs('binding', { code: { coding: [{ system: CS, code: 'red' }] }, interpretation: [{ text: 'anything' }] }), []],
    ['a code element', { resourceType: 'Task', meta: claim('codes'), status: 'completed', intent: 'order' }, []],
    ['a code element outside the value set', { resourceType: 'Task', meta: claim('codes'), status: 'ready', intent: 'order' }, [['error', 'value', 'Task.status']]],
  ])('%s', (_what, resource, expected) => expect(issues(resource)).toEqual(expected));
});

describe('types: choice types and reference targets by the literal reference', () => {
  test.each<Row>([
    ['a relative reference to an allowed type', obs('types', { subject: { reference: 'Patient/p1' } }), []],
    ['a targetProfile that is one of our profiles allows its type', obs('types', { subject: { reference: 'Patient/p1/_history/2' } }), []],
    ['an absolute URL', obs('types', { subject: { reference: 'https://other.example/fhir/Group/g1' } }), [['error', 'value', 'Observation.subject']]],
    ['an absolute URL to an allowed type', obs('types', { subject: { reference: 'https://other.example/fhir/Patient/p9' } }), []],
    ['a conditional reference', obs('types', { subject: { reference: 'Group?identifier=urn:x|1' } }), [['error', 'value', 'Observation.subject']]],
    ['a contained resource', obs('types', { contained: [{ resourceType: 'Group', id: 'g', type: 'person', actual: true }], subject: { reference: '#g' } }), [['error', 'value', 'Observation.subject']]],
    ['a urn:uuid cannot be told: not checked', obs('types', { subject: { reference: 'urn:uuid:1f6b7a8e-0d3c-4d2e-9a1b-2c3d4e5f6a7b' } }), []],
    ['Reference.type alone', obs('types', { subject: { type: 'Device', identifier: { value: 'd' } } }), [['error', 'value', 'Observation.subject']]],
    ['an identifier alone: not checked', obs('types', { subject: { identifier: { system: 'urn:x', value: '1' } } }), []],
    ['one of several references', obs('types', { performer: [{ reference: 'Practitioner/a' }, { reference: 'Organization/b' }] }), [['error', 'value', 'Observation.performer[1]']]],
    ['an allowed choice type', obs('types', { valueString: 'x', effectiveDateTime: '2024-01-01' }), []],
    ['a choice type not allowed', obs('types', { valueBoolean: true }), [['error', 'structure', 'Observation.valueBoolean']]],
    ['a choice type not allowed (Period)', obs('types', { effectivePeriod: { start: '2024-01-01' } }), [['error', 'structure', 'Observation.effectivePeriod']]],
  ])('%s', (_what, resource, expected) => expect(issues(resource)).toEqual(expected));

  test.each([
    ['Patient/1', 'Patient'],
    ['http://x.example/fhir/Patient/1/_history/3', 'Patient'],
    ['Patient?identifier=a|b', 'Patient'],
    ['Foo/1', undefined],
    ['urn:uuid:abc', undefined],
    ['#missing', undefined],
  ])('referencedType(%s) is %s', (reference, type) => {
    expect(referencedType({ reference }, {})).toBe(type);
  });
});

describe('FHIRPath invariants (error and warning severities, %resource, empty results)', () => {
  test.each<Row>([
    ['holds', pat('invariants', { name: [{ family: 'A' }] }), []],
    ['fails on the resource', pat('invariants', { gender: 'male' }), [['error', 'invariant', 'Patient']]],
    ['a warning invariant fails: warning only', pat('invariants', { name: [{ given: ['A'] }] }), [['warning', 'invariant', 'Patient.name[0]']]],
    ['an element invariant using %resource', pat('invariants', { name: [{ family: 'A' }], gender: 'male', address: [{ city: 'X' }] }), [['error', 'invariant', 'Patient.address[0]']]],
    ['an empty result is a failure', pat('invariants', { name: [{ family: 'A' }], telecom: [{ value: '1' }] }), [['error', 'invariant', 'Patient.telecom[0]']]],
  ])('%s', (_what, resource, expected) => expect(issues(resource)).toEqual(expected));

  test('an expression the engine cannot evaluate is a processing warning, not a failure of the resource', () => {
    const found = validateResource(pat('invariants', { name: [{ family: 'A' }], contact: [{ name: { given: ['x', 'y'] } }] }), { profiles: pkg });
    expect(found.map((i) => [i.severity, i.code, i.expression?.[0]])).toEqual([['warning', 'processing', 'Patient.contact[0]']]);
  });
});

describe('slicing by pattern and value discriminators, closed slicing, extension slices by url', () => {
  const source = { url: 'urn:ext:source', valueReference: { reference: 'Device/d1' } };
  const survey = { coding: [{ system: 'urn:cat', code: 'survey' }] };
  const systolic = { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120 } };
  const ok = { extension: [source], category: [survey], component: [systolic] };
  test.each<Row>([
    ['every slice satisfied', obs('slices', ok), []],
    ['a second slice member in any order', obs('slices', { ...ok, category: [{ coding: [{ system: CS, code: 'red' }] }, survey] }), []],
    ['the required slice missing', obs('slices', { ...ok, category: [{ coding: [{ system: CS, code: 'red' }] }] }), [['error', 'required', 'Observation.category']]],
    ['the slice twice', obs('slices', { ...ok, category: [survey, survey] }), [['error', 'structure', 'Observation.category[1]']]],
    ['closed slicing: an element in no slice', obs('slices', { ...ok, category: [survey, { text: 'other' }] }), [['error', 'structure', 'Observation.category[1]']]],
    ['a slice member breaking the slice binding', obs('slices', { ...ok, category: [survey, { coding: [{ system: CS, code: 'purple' }] }] }), [['error', 'value', 'Observation.category[1]']]],
    ['a value-discriminated slice missing its value', obs('slices', { ...ok, component: [{ ...systolic, valueQuantity: undefined, valueString: 'high' }] }), [['error', 'structure', 'Observation.component[0].valueString']]],
    ['open slicing: other components are fine', obs('slices', { ...ok, component: [{ code: { text: 'other' }, valueString: 'x' }, systolic] }), []],
    ['a value-discriminated slice absent', obs('slices', { ...ok, component: [{ code: { text: 'other' } }] }), [['error', 'required', 'Observation.component']]],
    ['an extension slice missing', obs('slices', { ...ok, extension: [{ url: 'urn:ext:other', valueString: 'x' }] }), [['error', 'required', 'Observation.extension']]],
    ['an extension slice with a wrong target', obs('slices', { ...ok, extension: [{ url: 'urn:ext:source', valueReference: { reference: 'Patient/p' } }] }), [['error', 'value', 'Observation.extension[0].valueReference']]],
  ])('%s', (_what, resource, expected) => expect(issues(resource)).toEqual(expected));
});

describe('profile claims', () => {
  test('an unknown profile is accepted with a warning located at the claim', () => {
    const resource = { resourceType: 'Patient', meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] } };
    expect(assertValid(resource, 'Patient', { profiles: pkg })).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'not-supported', expression: ['Patient.meta.profile[0]'] }),
    ]);
  });

  test('a known profile claimed with another version is not checked: a warning', () => {
    const resource = pat('card', { meta: { profile: [`${T}/StructureDefinition/card|2.0.0`] } });
    expect(issues(resource)).toEqual([['warning', 'not-supported', 'Patient.meta.profile[0]']]);
  });

  test('a known profile claimed with its version is checked', () => {
    const resource = pat('card', { meta: { profile: [`${T}/StructureDefinition/card|1.0.0`] } });
    expect(issues(resource)).toEqual([['error', 'required', 'Patient.identifier'], ['error', 'required', 'Patient.birthDate']]);
  });

  test('a profile of another resource type is a profile violation', () => {
    const resource = pat('fixed');
    expect(issues(resource)).toEqual([['error', 'structure', 'Patient.meta.profile[0]']]);
    expect(() => assertValid(resource, 'Patient', { profiles: pkg })).toThrow(expect.objectContaining({ code: 'PROFILE_VIOLATION', status: 422 }));
  });

  test('several profiles are all checked', () => {
    const resource = pat('card', { meta: { profile: [`${T}/StructureDefinition/card`, `${T}/StructureDefinition/pattern`] }, identifier: [{ value: '1' }] });
    expect(issues(resource)).toEqual([['error', 'required', 'Patient.birthDate'], ['error', 'value', 'Patient.identifier[0]']]);
  });

  test('structural faults are reported first, as a 400, without profile issues', () => {
    const resource = pat('card', { birthDate: 'yesterday' });
    let error: FhirError | undefined;
    try {
      assertValid(resource, 'Patient', { profiles: pkg });
    } catch (err) {
      error = err as FhirError;
    }
    expect(error).toMatchObject({ code: 'INVALID_RESOURCE', status: 400 });
    expect(error?.outcome.issue?.map((i: OperationOutcomeIssue) => i.expression?.[0])).toEqual(['Patient.birthDate']);
  });

  test(`a profile reports at most ${MAX_PROFILE_ISSUES} issues`, () => {
    const resource = pat('pattern', { identifier: Array.from({ length: 300 }, (_, i) => ({ system: 'urn:other', value: String(i) })) });
    const found = pkg.checkProfiles(resource as unknown as Resource);
    expect(found).toHaveLength(MAX_PROFILE_ISSUES);
  });
});

describe('compiling refuses what the checker cannot honour', () => {
  const build = (sd: StructureDefinition) => () => buildConformancePackage([codeSystem, sd] as Resource[]);
  test.each<[string, StructureDefinition, RegExp]>([
    ['an unknown element', profile('x', 'Patient', [el('Patient.nickname', { min: 1 })]), /Patient has no element 'nickname'/],
    ['a renamed choice element', profile('x', 'Observation', [el('Observation.valueQuantity', { min: 1 })]), /has no element 'valueQuantity'/],
    ['a type the base does not allow', profile('x', 'Observation', [el('Observation.value[x]', { type: [{ code: 'Address' }] })]), /type Address is not one of the base types/],
    ['a type discriminator', profile('x', 'Observation', [el('Observation.category', { slicing: { discriminator: [{ type: 'type', path: '$this' }], rules: 'open' } })]), /discriminator type 'type' is not supported/],
    ['slices without slicing', profile('x', 'Observation', [el('Observation.category:a', { sliceName: 'a', min: 1 })]), /has slices but no slicing/],
    ['a slice without a discriminator value', profile('x', 'Observation', [el('Observation.category', { slicing: { discriminator: [{ type: 'pattern', path: '$this' }], rules: 'open' } }), el('Observation.category:a', { sliceName: 'a', min: 1 })]), /no fixed or pattern value for discriminator \$this/],
    ['a required binding to a value set we cannot expand', profile('x', 'Observation', [el('Observation.code', { binding: { strength: 'required', valueSet: 'http://hl7.org/fhir/ValueSet/observation-codes' } })]), /not one of CaseBridge's value sets/],
    ['a targetProfile we do not know', profile('x', 'Observation', [el('Observation.subject', { type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] }] })]), /neither a core resource type nor a CaseBridge profile/],
    ['an invariant that does not parse', profile('x', 'Patient', [el('Patient', { constraint: [{ key: 'k', severity: 'error', human: 'h', expression: 'name.(' }] })]), /constraint k: the expression does not parse/],
    ['min above max', profile('x', 'Patient', [el('Patient.name', { min: 2, max: '1' })]), /min 2 exceeds max 1/],
    ['a path that does not match the id', profile('x', 'Patient', [{ id: 'Patient.name', path: 'Patient.gender' } as ElementDefinition]), /path must be Patient.name/],
    ['a profile of a profile', { ...profile('x', 'Patient', [el('Patient.name', { min: 1 })]), baseDefinition: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient' }, /baseDefinition must be/],
    ['constraining below a choice of types', profile('x', 'Observation', [el('Observation.value[x].value', { min: 1 })]), /cannot constrain below Observation.value\[x\]/],
  ])('%s', (_what, sd, message) => {
    expect(build(sd)).toThrow(ProfileError);
    expect(build(sd)).toThrow(message);
  });

  test('a value set that includes a whole external code system', () => {
    expect(() => buildConformancePackage([valueSet('ext', { include: [{ system: 'http://loinc.org' }] })] as Resource[])).toThrow(/whole of http:\/\/loinc.org cannot be expanded/);
  });

  test('two resources with one url', () => {
    expect(() => buildConformancePackage([codeSystem, { ...codeSystem, id: 'other' }] as Resource[])).toThrow(/defined twice/);
  });
});

describe('fixed and pattern comparison', () => {
  test.each([
    [{ a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }, true],
    [{ a: 1, b: [2, 1] }, { a: 1, b: [1, 2] }, false],
    [{ a: 1, b: 2 }, { a: 1 }, false],
    ['x', 'x', true],
    [1.0, 1, true],
  ])('equalsFixed(%j, %j) is %s', (value, fixed, expected) => expect(equalsFixed(value, fixed)).toBe(expected));

  test.each([
    [{ coding: [{ system: 's', code: 'c', display: 'd' }, { code: 'e' }], text: 't' }, { coding: [{ system: 's', code: 'c' }] }, true],
    [{ coding: [{ system: 's' }, { code: 'c' }] }, { coding: [{ system: 's', code: 'c' }] }, false],
    [{ coding: [{ code: 'a' }, { code: 'b' }] }, { coding: [{ code: 'b' }, { code: 'a' }] }, true],
    [{ system: 's', value: 'v' }, { system: 's' }, true],
    [undefined, { system: 's' }, false],
    [{ a: [1] }, { a: 1 }, false],
  ])('matchesPattern(%j, %j) is %s', (value, pattern, expected) => expect(matchesPattern(value, pattern)).toBe(expected));
});
