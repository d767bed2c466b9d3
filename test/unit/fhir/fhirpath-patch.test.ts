/** FHIRPath Patch: each operation type on the places patch paths designate. See: https://hl7.org/fhir/R4/fhirpatch.html */
import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from '../../../src/fhir/definitions';
import { applyFhirPathPatch, parseFhirPathPatch } from '../../../src/fhir/fhirpath-patch';
import { FhirError } from '../../../src/fhir/outcomes';

beforeAll(() => loadDefinitions());

const patient: Resource = {
  resourceType: 'Patient',
  id: 'p1',
  identifier: [
    { system: 'urn:mrn', value: '1' },
    { system: 'urn:ssn', value: '2' },
  ],
  name: [
    { use: 'official', family: 'Dupont', given: ['Anne', 'Marie'] },
    { use: 'nickname', given: ['Annie'] },
  ],
  birthDate: '1980-02-03',
  _birthDate: { extension: [{ url: 'http://example.org/accuracy', valueCode: 'estimated' }] },
  deceasedBoolean: false,
} as Resource;

type Part = Omit<ParametersParameter, 'name'> & { name: string };

function operation(type: string, path: string, extra: Part[] = []): ParametersParameter {
  return { name: 'operation', part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...extra] };
}

function patch(resource: Resource, ...operations: ParametersParameter[]): Record<string, unknown> {
  const parameters: Parameters = { resourceType: 'Parameters', parameter: operations };
  return applyFhirPathPatch(resource, parseFhirPathPatch(parameters)) as unknown as Record<string, unknown>;
}

function failure(resource: Resource, ...operations: ParametersParameter[]): { status: number; text: string; expression: string[] } {
  try {
    patch(resource, ...operations);
  } catch (err) {
    if (err instanceof FhirError) {
      const issue = err.outcome.issue[0];
      return { status: err.status, text: issue?.diagnostics ?? '', expression: issue?.expression ?? [] };
    }
    throw err;
  }
  throw new Error('the patch was applied');
}

describe('FHIRPath Patch operations', () => {
  test.each<[string, ParametersParameter[], (result: Record<string, unknown>) => unknown, unknown]>([
    ['add a scalar element', [operation('add', 'Patient', [{ name: 'name', valueString: 'gender' }, { name: 'value', valueCode: 'female' }])], (r) => r.gender, 'female'],
    [
      'add to a repeating element appends',
      [operation('add', 'Patient', [{ name: 'name', valueString: 'identifier' }, { name: 'value', valueIdentifier: { system: 'urn:x', value: '3' } }])],
      (r) => (r.identifier as unknown[]).length,
      3,
    ],
    [
      'add below a located element',
      [operation('add', "Patient.name.where(use='nickname')", [{ name: 'name', valueString: 'family' }, { name: 'value', valueString: 'Dupont' }])],
      (r) => (r.name as { family?: string }[])[1]?.family,
      'Dupont',
    ],
    [
      'add a choice element by its base name',
      [operation('add', 'Patient', [{ name: 'name', valueString: 'multipleBirth' }, { name: 'value', valueInteger: 2 }])],
      (r) => r.multipleBirthInteger,
      2,
    ],
    [
      'add an anonymous element from parts',
      [
        operation('add', 'Patient', [
          { name: 'name', valueString: 'contact' },
          {
            name: 'value',
            part: [
              { name: 'name', valueHumanName: { family: 'Martin' } },
              { name: 'telecom', valueContactPoint: { system: 'phone', value: '555' } },
            ],
          },
        ]),
      ],
      (r) => r.contact,
      [{ name: { family: 'Martin' }, telecom: [{ system: 'phone', value: '555' }] }],
    ],
    [
      'insert at an index',
      [operation('insert', 'Patient.identifier', [{ name: 'value', valueIdentifier: { value: 'first' } }, { name: 'index', valueInteger: 0 }])],
      (r) => (r.identifier as { value: string }[]).map((i) => i.value),
      ['first', '1', '2'],
    ],
    [
      'insert into a primitive list',
      [operation('insert', 'Patient.name[0].given', [{ name: 'value', valueString: 'Claire' }, { name: 'index', valueInteger: 1 }])],
      (r) => (r.name as { given: string[] }[])[0]?.given,
      ['Anne', 'Claire', 'Marie'],
    ],
    ['replace a primitive', [operation('replace', 'Patient.birthDate', [{ name: 'value', valueDate: '1981-01-01' }])], (r) => [r.birthDate, r._birthDate !== undefined], ['1981-01-01', true]],
    [
      'replace a list item by where()',
      [operation('replace', "Patient.identifier.where(system='urn:ssn').value", [{ name: 'value', valueString: '9' }])],
      (r) => (r.identifier as { value: string }[]).map((i) => i.value),
      ['1', '9'],
    ],
    [
      'replace a choice element with another type',
      [operation('replace', 'Patient.deceased', [{ name: 'value', valueDateTime: '2020-01-01' }])],
      (r) => [r.deceasedBoolean, r.deceasedDateTime],
      [undefined, '2020-01-01'],
    ],
    ['delete an element and its primitive extension', [operation('delete', 'Patient.birthDate')], (r) => [r.birthDate, r._birthDate], [undefined, undefined]],
    [
      'delete one item of a list',
      [operation('delete', 'Patient.name[0].given[0]')],
      (r) => (r.name as { given: string[] }[])[0]?.given,
      ['Marie'],
    ],
    ['delete the last item drops the list', [operation('delete', 'Patient.name[1].given.first()')], (r) => (r.name as Record<string, unknown>[])[1], { use: 'nickname' }],
    ['delete of nothing is no change', [operation('delete', "Patient.identifier.where(system='urn:none')")], (r) => (r.identifier as unknown[]).length, 2],
    [
      'move within a list',
      [operation('move', 'Patient.identifier', [{ name: 'source', valueInteger: 1 }, { name: 'destination', valueInteger: 0 }])],
      (r) => (r.identifier as { value: string }[]).map((i) => i.value),
      ['2', '1'],
    ],
    [
      'operations apply in order',
      [operation('delete', 'Patient.name[1]'), operation('replace', 'Patient.name.last().family', [{ name: 'value', valueString: 'Durand' }])],
      (r) => r.name,
      [{ use: 'official', family: 'Durand', given: ['Anne', 'Marie'] }],
    ],
  ])('%s', (_title, operations, pick, expected) => {
    expect(pick(patch(patient, ...operations))).toEqual(expected);
  });

  test('the input resource is left untouched', () => {
    const before = structuredClone(patient);
    patch(patient, operation('delete', 'Patient.birthDate'));
    expect(patient).toEqual(before);
  });
});

describe('FHIRPath Patch refusals', () => {
  test.each<[string, ParametersParameter[], number, RegExp, string]>([
    ['a parameter not named operation', [{ name: 'op' }], 400, /named "operation"/, 'Parameters.parameter[0].name'],
    ['an unknown operation type', [operation('upsert', 'Patient')], 400, /add, insert, delete, replace or move/, 'Parameters.parameter[0].part'],
    ['an unknown part', [operation('delete', 'Patient.gender', [{ name: 'where', valueString: 'x' }])], 400, /parts are named/, 'Parameters.parameter[0].part[2].name'],
    ['add without a value', [operation('add', 'Patient', [{ name: 'name', valueString: 'gender' }])], 400, /needs the part value/, 'Parameters.parameter[0].part'],
    ['a path that is not FHIRPath', [operation('delete', 'Patient.name[')], 400, /not a FHIRPath expression/, 'Parameters.parameter[0]'],
    ['an unsupported function', [operation('delete', 'Patient.name.exists()')], 400, /exists\(\) is not supported/, 'Parameters.parameter[0]'],
    ['adding an element the type does not have', [operation('add', 'Patient', [{ name: 'name', valueString: 'colour' }, { name: 'value', valueString: 'x' }])], 400, /no element colour/, 'Parameters.parameter[0]'],
    ['a value of the wrong type', [operation('replace', 'Patient.name[0]', [{ name: 'value', valueCoding: { code: 'x' } }])], 400, /takes HumanName, not Coding/, 'Parameters.parameter[0]'],
    ['adding a scalar that exists', [operation('add', 'Patient', [{ name: 'name', valueString: 'birthDate' }, { name: 'value', valueDate: '2000-01-01' }])], 422, /already has a value/, 'Parameters.parameter[0]'],
    ['replacing what is not there', [operation('replace', 'Patient.gender', [{ name: 'value', valueCode: 'male' }])], 422, /matches nothing/, 'Parameters.parameter[0]'],
    ['deleting several elements at once', [operation('delete', 'Patient.identifier')], 422, /matches 2 elements/, 'Parameters.parameter[0]'],
    ['inserting past the end', [operation('insert', 'Patient.identifier', [{ name: 'value', valueIdentifier: {} }, { name: 'index', valueInteger: 3 }])], 422, /past the end/, 'Parameters.parameter[0]'],
    ['inserting into a non-repeating element', [operation('insert', 'Patient.gender', [{ name: 'value', valueCode: 'male' }, { name: 'index', valueInteger: 0 }])], 400, /not a repeating element/, 'Parameters.parameter[0]'],
    ['deleting the resource itself', [operation('delete', 'Patient')], 400, /resource itself/, 'Parameters.parameter[0]'],
    ['a negative index', [operation('move', 'Patient.identifier', [{ name: 'source', valueInteger: -1 }, { name: 'destination', valueInteger: 0 }])], 400, /0 or more/, 'Parameters.parameter[0].part[2]'],
  ])('%s', (_title, operations, status, text, expression) => {
    const error = failure(patient, ...operations);
    expect(error.status).toBe(status);
    expect(error.text).toMatch(text);
    expect(error.expression).toEqual([expression]);
  });

  test('__proto__ is never an element name', () => {
    const error = failure(patient, operation('add', 'Patient', [{ name: 'name', valueString: '__proto__' }, { name: 'value', valueString: 'x' }]));
    expect(error.status).toBe(400);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
