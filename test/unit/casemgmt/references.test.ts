// The references a case command's payload names are found from its JSON Schema: every field built
// by reference(), at any depth, in the payload's order, with the field's path.
import { COMMAND_ENDPOINTS } from '../../../src/casemgmt/api';
import { payloadReferences } from '../../../src/casemgmt/references';
import { referenceTypes, reference } from '../../../src/casemgmt/schemas/common';

const schemaOf = (operationId: string) => COMMAND_ENDPOINTS.find((e) => e.operationId === operationId)?.command.schema as Record<string, unknown>;

describe('payloadReferences', () => {
  test('finds top-level, nested and array references with their paths', () => {
    const found = payloadReferences(schemaOf('openCase'), {
      client: { identifier: { system: 'urn:x', value: '1' }, name: { family: 'A' }, gender: 'female' },
      caseManager: 'PractitionerRole/cm-1',
      agency: 'Organization/agency',
      team: [{ member: 'Practitioner/t', role: 'Therapist' }, { member: 'RelatedPerson/m', role: 'Mother' }],
      recordedBy: 'PractitionerRole/cm-2',
    });
    expect(found).toEqual([
      { field: 'caseManager', reference: 'PractitionerRole/cm-1' },
      { field: 'agency', reference: 'Organization/agency' },
      { field: 'team[0].member', reference: 'Practitioner/t' },
      { field: 'team[1].member', reference: 'RelatedPerson/m' },
      { field: 'recordedBy', reference: 'PractitionerRole/cm-2' },
    ]);
  });

  test('arrays of references', () => {
    expect(payloadReferences(schemaOf('setRiskLevel'), { level: 'low', rationale: 'r', basis: ['Observation/a', 'Condition/b'] })).toEqual([
      { field: 'basis[0]', reference: 'Observation/a' },
      { field: 'basis[1]', reference: 'Condition/b' },
    ]);
  });

  test.each([
    [reference(['Organization', 'HealthcareService'], 'x'), ['Organization', 'HealthcareService']],
    [{ type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' }, undefined],
    [{ type: 'string' }, undefined],
  ])('referenceTypes(%j)', (schema, types) => {
    expect(referenceTypes(schema)).toEqual(types);
  });
});
