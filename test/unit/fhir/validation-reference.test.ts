// The JSON rules, primitive forms, invariants and locations on which CaseBridge was compared with
// the HL7 reference validator (docs/validation.md): each row is a case of the differential
// harness, with the location the reference validator gives (or, for the classes where CaseBridge
// deliberately differs, CaseBridge's own, with the reason in docs/validation.md).
import { validateResource } from '../../../src/fhir/validation';

type Json = Record<string, unknown>;

const errors = (resource: Json) =>
  validateResource(resource)
    .filter((i) => i.severity === 'error')
    .map((i) => i.expression?.[0]);

const parameters = (value: Json) => ({ resourceType: 'Parameters', parameter: [{ name: 'p', ...value }] });
const ext = { url: 'http://example.org/fhir/StructureDefinition/note', valueString: 'n' };
const patient = (more: Json): Json => ({ resourceType: 'Patient', ...more });

describe('primitive forms and ranges, located with ofType() in a choice element', () => {
  test.each([
    ['integer 2147483647', { valueInteger: 2147483647 }, []],
    ['integer 2147483648 (32-bit)', { valueInteger: 2147483648 }, ['Parameters.parameter[0].value.ofType(integer)']],
    ['integer -2147483649', { valueInteger: -2147483649 }, ['Parameters.parameter[0].value.ofType(integer)']],
    ['integer 1.5', { valueInteger: 1.5 }, ['Parameters.parameter[0].value.ofType(integer)']],
    ['unsignedInt 0', { valueUnsignedInt: 0 }, []],
    ['unsignedInt -1', { valueUnsignedInt: -1 }, ['Parameters.parameter[0].value.ofType(unsignedInt)']],
    ['positiveInt 0', { valuePositiveInt: 0 }, ['Parameters.parameter[0].value.ofType(positiveInt)']],
    ['positiveInt 2147483648', { valuePositiveInt: 2147483648 }, ['Parameters.parameter[0].value.ofType(positiveInt)']],
    ['decimal as a string', { valueDecimal: '1.0' }, ['Parameters.parameter[0].value.ofType(decimal)']],
    ['boolean as a string', { valueBoolean: 'true' }, ['Parameters.parameter[0].value.ofType(boolean)']],
    ['date 2023-02-29', { valueDate: '2023-02-29' }, ['Parameters.parameter[0].value.ofType(date)']],
    ['date with a time', { valueDate: '2024-01-01T10:00:00Z' }, ['Parameters.parameter[0].value.ofType(date)']],
    ['dateTime without seconds', { valueDateTime: '2024-01-01T10:00Z' }, ['Parameters.parameter[0].value.ofType(dateTime)']],
    ['dateTime +15:00', { valueDateTime: '2024-01-01T10:00:00+15:00' }, ['Parameters.parameter[0].value.ofType(dateTime)']],
    ['dateTime to the year', { valueDateTime: '2024' }, []],
    ['instant without a zone', { valueInstant: '2024-01-01T10:00:00' }, ['Parameters.parameter[0].value.ofType(instant)']],
    ['time 25:00:00', { valueTime: '25:00:00' }, ['Parameters.parameter[0].value.ofType(time)']],
    ['time with a zone', { valueTime: '10:15:30Z' }, ['Parameters.parameter[0].value.ofType(time)']],
    ['id of 65 characters', { valueId: 'a'.repeat(65) }, ['Parameters.parameter[0].value.ofType(id)']],
    ['oid without urn:oid:', { valueOid: '1.2.3' }, ['Parameters.parameter[0].value.ofType(oid)']],
    ['uuid in upper case', { valueUuid: 'urn:uuid:C757873D-EC9A-4326-A141-556F43239520' }, ['Parameters.parameter[0].value.ofType(uuid)']],
    ['uri with a space', { valueUri: 'http://example.org/a b' }, ['Parameters.parameter[0].value.ofType(uri)']],
    ['uri naming a bad uuid', { valueUri: 'urn:uuid:xyz' }, ['Parameters.parameter[0].value.ofType(uri)']],
    ['code with two spaces', { valueCode: 'a  b' }, ['Parameters.parameter[0].value.ofType(code)']],
    ['code with one inner space', { valueCode: 'a b' }, []],
    ['base64Binary "abc"', { valueBase64Binary: 'abc' }, ['Parameters.parameter[0].value.ofType(base64Binary)']],
    ['empty markdown', { valueMarkdown: '' }, ['Parameters.parameter[0].value.ofType(markdown)']],
    ['whitespace-only string (a SHOULD, not a SHALL)', { valueString: '   ' }, []],
  ])('%s', (_name, value, expected) => {
    expect(errors(parameters(value))).toEqual(expected);
  });
});

describe('empty objects, nulls and _x parts (json.html)', () => {
  test.each<[string, Json, string[]]>([
    ['"maritalStatus": {} (ele-1) at the object', patient({ maritalStatus: {} }), ['Patient.maritalStatus']],
    ['"_gender": {} at the primitive', patient({ gender: 'male', _gender: {} }), ['Patient.gender']],
    ['"_active" with an extension', patient({ active: true, _active: { extension: [ext] } }), []],
    ['"_active" with only an id', patient({ active: true, _active: { id: 'a1' } }), []],
    ['"_active" alone with an extension', patient({ _active: { extension: [ext] } }), []],
    ['"_active" alone, empty', patient({ _active: {} }), ['Patient.active']],
    ['"_active" as an array', patient({ active: true, _active: [{ extension: [ext] }] }), ['Patient.active']],
    ['"_active" with an unknown element: at the primitive', patient({ active: true, _active: { foo: 1 } }), ['Patient.active']],
    ['an invalid extension inside "_active"', patient({ active: true, _active: { extension: [{ ...ext, extension: [ext] }] } }), ['Patient.active.extension[0]']],
    ['a 32-bit overflow inside "_birthDate"', patient({ birthDate: '2000', _birthDate: { extension: [{ url: ext.url, valueInteger: 2147483648 }] } }), ['Patient.birthDate.extension[0].value.ofType(integer)']],
    ['null given with an extension at its index', patient({ name: [{ given: ['a', null], _given: [null, { extension: [ext] }] }] }), []],
    ['null given without an extension', patient({ name: [{ given: ['a', null], _given: [null, null] }] }), ['Patient.name[0].given[1]']],
    ['null given without "_given"', patient({ name: [{ given: ['a', null] }] }), ['Patient.name[0].given[1]']],
    ['all-null "_given" (no extension): valid', patient({ name: [{ given: ['a', 'b'], _given: [null, null] }] }), []],
    ['"_given" shorter than "given": valid', patient({ name: [{ given: ['a', 'b'], _given: [{ extension: [ext] }] }] }), []],
    ['"_given" longer, the extra item an extension-only value', patient({ name: [{ given: ['a'], _given: [null, { extension: [ext] }] }] }), []],
    ['"_given" as an object', patient({ name: [{ given: ['a'], _given: { extension: [ext] } }] }), ['Patient.name[0].given']],
    ['an empty item of "_given": indexed', patient({ name: [{ given: ['a'], _given: [{}] }] }), ['Patient.name[0].given[0]']],
    ['a null complex element', patient({ maritalStatus: null }), ['Patient.maritalStatus']],
    ['"_id" of a resource without an id', patient({ _id: { extension: [ext] } }), ['Patient.id']],
    ['"_profile" in meta (a canonical has its _x too)', patient({ meta: { profile: ['http://example.org/p'], _profile: [{ extension: [ext] }] } }), []],
  ])('%s', (_name, resource, expected) => {
    expect(errors(resource)).toEqual(expected);
  });
});

describe('located as the reference validator locates them', () => {
  test.each<[string, Json, string[]]>([
    ['an unknown element: at the object holding it', patient({ name: [{ family: 'x', bogus: 1 }] }), ['Patient.name[0]']],
    ['a missing required element: at the object', { resourceType: 'Encounter', class: { code: 'AMB' } }, ['Encounter']],
    ['two types for one choice: at the object', { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'a', valueBoolean: true }, ['Observation']],
    ['a contained resource without resourceType: at the resource', patient({ contained: [{ id: 'c' }] }), ['Patient.contained[0]']],
    ['an unknown contained type: at the resource', patient({ contained: [{ resourceType: 'Foo', id: 'c' }] }), ['Patient.contained[0]']],
    ['an orphan contained resource (dom-3): at it', patient({ contained: [{ resourceType: 'Basic', id: 'zz', code: { text: 'x' } }] }), ['Patient.contained[0]']],
    ['a whitespace in a reference', patient({ managingOrganization: { reference: '  x  ' } }), ['Patient.managingOrganization']],
  ])('%s', (_name, resource, expected) => {
    expect(errors(resource)).toEqual(expected);
  });
});

describe('invariants with FHIRPath semantics', () => {
  const encounter = (period: Json): Json => ({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period });
  const questionnaire = (item: Json[]): Json => ({ resourceType: 'Questionnaire', status: 'active', item });
  const bundle = (entries: Json[]): Json => ({ resourceType: 'Bundle', type: 'collection', entry: entries });
  const p1 = { fullUrl: 'http://example.org/fhir/Patient/1', resource: { resourceType: 'Patient', id: '1' } };
  test.each<[string, Json, string[]]>([
    ['per-1: a date and a dateTime of the same day compare as unknown: fails', encounter({ start: '2023-06-21', end: '2023-06-21T06:20:00Z' }), ['Encounter.period']],
    ['per-1: different days decide at day precision', encounter({ start: '2023-06-20', end: '2023-06-21T06:20:00Z' }), []],
    ['per-1: time zones are taken into account', encounter({ start: '2024-06-01T10:00:00+02:00', end: '2024-06-01T09:00:00Z' }), []],
    ['per-1: end before start', encounter({ start: '2025', end: '2024' }), ['Encounter.period']],
    ['rng-2: quantities compared in their units (1 kg > 500 g)', { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueRange: { low: { value: 1, system: 'http://unitsofmeasure.org', code: 'kg' }, high: { value: 500, system: 'http://unitsofmeasure.org', code: 'g' } } }, ['Observation.value.ofType(Range)']],
    ['bdl-7: the same fullUrl twice', bundle([p1, p1]), ['Bundle']],
    ['que-7: exists with an integer answer', questionnaire([{ linkId: 'a', type: 'boolean' }, { linkId: 'b', type: 'string', enableWhen: [{ question: 'a', operator: 'exists', answerInteger: 1 }] }]), ['Questionnaire.item[1].enableWhen[0]']],
    ['que-7: exists with a boolean answer', questionnaire([{ linkId: 'a', type: 'boolean' }, { linkId: 'b', type: 'string', enableWhen: [{ question: 'a', operator: 'exists', answerBoolean: true }] }]), []],
    ['que-2: duplicate linkIds', questionnaire([{ linkId: 'a', type: 'boolean' }, { linkId: 'a', type: 'boolean' }]), ['Questionnaire']],
    ['qrs-1: an item with answers and items', { resourceType: 'QuestionnaireResponse', status: 'completed', item: [{ linkId: 'a', answer: [{ valueString: 'x' }], item: [{ linkId: 'b' , answer: [{ valueString: 'y' }] }] }] }, ['QuestionnaireResponse.item[0]']],
    ['ref-1: an identifier-only reference (not() of empty is true)', patient({ managingOrganization: { identifier: { value: 'x' } } }), []],
    ['ras-2: a prediction without probabilityDecimal', { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/1' }, prediction: [{ qualitativeRisk: { text: 'low' } }] }, []],
    ['ctm-1: resolve() finds nothing to resolve locally: passes', { resourceType: 'CareTeam', participant: [{ member: { reference: 'Practitioner/1' }, onBehalfOf: { reference: 'Organization/1' } }] }, []],
  ])('%s', (_name, resource, expected) => {
    expect(errors(resource)).toEqual(expected);
  });

  it('compiles the R4 conformance regexes (eld-16, eld-19) without a warning', () => {
    const sd = {
      resourceType: 'StructureDefinition', url: 'http://example.org/sd', name: 'X', status: 'draft', kind: 'resource', abstract: false, type: 'Patient',
      baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient', derivation: 'constraint',
      differential: { element: [{ path: 'Patient.identifier', sliceName: 'a/b' }] },
    };
    expect(validateResource(sd).filter((i) => i.code === 'informational')).toEqual([]);
  });
});
