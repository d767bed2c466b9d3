/** The search parameter registry: R4 + US Core + ours, narrowed per type (searchparameter.html). */
import { FhirPathAtom } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';
import { FhirError } from '../../../src/fhir/outcomes';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import { BASE_URL, CUSTOM_PARAMETERS, testRegistry } from './registry-fixture';

function custom(overrides: Partial<SearchParameter>): SearchParameter {
  return {
    resourceType: 'SearchParameter',
    url: 'http://casebridge.org/fhir/SearchParameter/test',
    name: 'test',
    status: 'active',
    description: 'test',
    code: 'risk-level',
    base: ['Patient'],
    type: 'token',
    expression: "Patient.extension.where(url = 'http://casebridge.org/risk').value",
    ...overrides,
  };
}

describe('contents', () => {
  test('every R4 resource type has the common parameters', () => {
    const registry = testRegistry();
    for (const type of registry.resourceTypes()) {
      const codes = registry.list(type).map((d) => d.code);
      expect(codes).toEqual(expect.arrayContaining(['_id', '_lastUpdated', '_profile', '_security', '_source', '_tag']));
    }
    expect(registry.resourceTypes().length).toBeGreaterThanOrEqual(145);
  });

  test('Medplum-only parameters and parameters without an expression are left out', () => {
    const registry = testRegistry();
    expect(registry.get('Patient', '_compartment')).toBeUndefined();
    expect(registry.get('Patient', '_text')).toBeUndefined();
    expect(registry.get('Patient', '_content')).toBeUndefined();
    expect(registry.get('Location', 'near')).toBeUndefined();
    expect(registry.skipped.map((s) => s.reason)).toEqual(
      expect.arrayContaining(['no FHIRPath expression', 'special parameters are not supported']),
    );
  });

  test('US Core parameters are included by default, and can be left out', () => {
    expect(testRegistry().get('Patient', 'race')).toMatchObject({ type: 'token', source: 'us-core' });
    const without = buildSearchParameterRegistry({ baseUrl: BASE_URL, usCore: false });
    expect(without.get('Patient', 'race')).toBeUndefined();
    expect(without.size).toBe(testRegistry().size - 7 - CUSTOM_PARAMETERS.length);
  });

  test('list is sorted by code and is what the CapabilityStatement shows', () => {
    const codes = testRegistry().list('Patient').map((d) => d.code);
    expect(codes).toEqual([...codes].sort());
    expect(codes).toEqual(expect.arrayContaining(['name', 'birthdate', 'identifier', 'general-practitioner', 'race', 'ethnicity', 'gender-identity']));
  });
});

describe('each (type, code)', () => {
  test.each<[string, string, Record<string, unknown>]>([
    ['Patient', '_tag', { type: 'token', expression: 'Patient.meta.tag', multiple: true }],
    ['Patient', 'birthdate', { type: 'date', expression: 'Patient.birthDate', multiple: false }],
    ['Patient', 'name', { type: 'string', multiple: true, elementTypes: ['HumanName'] }],
    ['Observation', 'patient', { type: 'reference', expression: 'Observation.subject.where(resolve() is Patient)', targets: ['Patient'], multiple: false }],
    ['Observation', 'value-quantity', { type: 'quantity', multiple: false }],
    ['Observation', 'combo-code', { type: 'token', expression: 'Observation.code | Observation.component.code', multiple: true }],
    ['Observation', 'combo-code-value-quantity', { type: 'composite', expression: 'Observation | Observation.component', multiple: true }],
    ['Observation', 'code-value-quantity', { type: 'composite', expression: 'Observation', multiple: false }],
    ['CarePlan', 'activity-date', { type: 'date', multiple: true }],
    ['Patient', 'deceased', { type: 'token', expression: '(Patient.deceased.exists() and (Patient.deceased != false))', multiple: false }],
    ['InsurancePlan', 'name', { type: 'string', expression: 'InsurancePlan.name | InsurancePlan.alias' }],
    ['CarePlan', 'case-worker', { type: 'reference', source: 'custom', targets: ['Practitioner'] }],
  ])('%s.%s', (type, code, expected) => {
    expect(testRegistry().get(type, code)).toMatchObject(expected);
  });

  test('reference targets are narrowed to what the element allows', () => {
    expect([...(testRegistry().get('Observation', 'subject')?.targets ?? [])].sort()).toEqual(['Device', 'Group', 'Location', 'Patient']);
    expect(testRegistry().get('Observation', 'encounter')?.targets).toEqual(['Encounter']);
  });

  test('composite components: types and expressions (with the R4 errata for DocumentReference relationship)', () => {
    const components = (type: string, code: string): unknown =>
      testRegistry().get(type, code)?.components.map((c) => [c.type, c.expression]);
    expect(components('Observation', 'component-code-value-quantity')).toEqual([
      ['token', 'code'],
      ['quantity', 'value.as(Quantity)'],
    ]);
    expect(components('DocumentReference', 'relationship')).toEqual([
      ['token', 'code'],
      ['reference', 'target'],
    ]);
  });

  test('expressions are parsed once and cached in the definition', () => {
    const def = testRegistry().get('Patient', 'name');
    expect(def?.branches[0]?.atom).toBeInstanceOf(FhirPathAtom);
    expect(testRegistry().get('Patient', 'name')?.branches[0]?.atom).toBe(def?.branches[0]?.atom);
  });

  test('unions: exactly the six Observation combo-* parameters, each made of two others', () => {
    const registry = testRegistry();
    const unions = registry.resourceTypes().flatMap((type) =>
      registry
        .list(type)
        .filter((d) => d.unionOf)
        .map((d) => `${type}.${d.code} = ${(d.unionOf ?? []).map((m) => m.code).join(' | ')}`),
    );
    expect(unions).toEqual([
      'Observation.combo-code = code | component-code',
      'Observation.combo-code-value-concept = code-value-concept | component-code-value-concept',
      'Observation.combo-code-value-quantity = code-value-quantity | component-code-value-quantity',
      'Observation.combo-data-absent-reason = component-data-absent-reason | data-absent-reason',
      'Observation.combo-value-concept = component-value-concept | value-concept',
      'Observation.combo-value-quantity = component-value-quantity | value-quantity',
    ]);
  });

  test('a union needs the same type and components, and branches covered exactly', () => {
    const registry = buildSearchParameterRegistry({
      baseUrl: BASE_URL,
      custom: [
        custom({ url: 'http://x/a', code: 'a', expression: 'Patient.gender' }),
        custom({ url: 'http://x/ab', code: 'ab', expression: 'Patient.gender | Patient.maritalStatus' }),
        custom({ url: 'http://x/b-string', code: 'b-string', type: 'string', expression: 'Patient.maritalStatus' }),
        custom({ url: 'http://x/abc', code: 'abc', expression: 'Patient.gender | Patient.maritalStatus | Patient.language' }),
        custom({ url: 'http://x/c', code: 'c', expression: 'Patient.language' }),
      ],
    });
    // ab: its second branch is only a string parameter's. abc: ab (itself not a union) and c.
    expect(registry.get('Patient', 'ab')?.unionOf).toBeUndefined();
    expect(registry.get('Patient', 'abc')?.unionOf?.map((m) => m.code)).toEqual(['ab', 'c']);
  });
});

describe('fingerprint', () => {
  test('is stable for the same parameters and base', () => {
    const a = buildSearchParameterRegistry({ baseUrl: BASE_URL, custom: CUSTOM_PARAMETERS });
    expect(a.fingerprint()).toBe(testRegistry().fingerprint());
    expect(a.fingerprint()).toMatch(/^[0-9a-f]{64}$/);
  });

  test('changes with the parameters and with the base URL (references are stored relative to it)', () => {
    const base = testRegistry().fingerprint();
    expect(buildSearchParameterRegistry({ baseUrl: BASE_URL }).fingerprint()).not.toBe(base);
    expect(buildSearchParameterRegistry({ baseUrl: 'https://elsewhere/fhir', custom: CUSTOM_PARAMETERS }).fingerprint()).not.toBe(base);
  });
});

describe('custom parameters', () => {
  test('a valid custom token parameter', () => {
    const registry = buildSearchParameterRegistry({ baseUrl: BASE_URL, custom: [custom({})] });
    expect(registry.get('Patient', 'risk-level')).toMatchObject({ type: 'token', source: 'custom' });
  });

  test.each<[string, Partial<SearchParameter>, string]>([
    ['a code with a dot (it becomes a stored key)', { code: 'risk.level' }, 'SearchParameter.code'],
    ['a code starting with $', { code: '$risk' }, 'SearchParameter.code'],
    ['a code with a colon (modifier syntax)', { code: 'risk:level' }, 'SearchParameter.code'],
    ['a code starting with _ (reserved)', { code: '_risk' }, 'SearchParameter.code'],
    ['an unknown base', { base: ['Foo' as 'Patient'] }, 'SearchParameter.base'],
    ['no expression', { expression: undefined }, 'SearchParameter.expression'],
    ['an invalid expression', { expression: 'Patient.name.where(' }, 'SearchParameter.expression'],
    ['an expression not on the base type', { expression: 'Observation.code' }, 'SearchParameter.expression'],
    ['a special type', { type: 'special' }, 'SearchParameter.type'],
    ['a code already used on the type', { code: 'name' }, 'SearchParameter.code'],
  ])('rejects %s', (_title, overrides, expression) => {
    let error: unknown;
    try {
      buildSearchParameterRegistry({ baseUrl: BASE_URL, custom: [custom(overrides)] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).code).toBe('INVALID_RESOURCE');
    expect((error as FhirError).outcome.issue[0]?.expression).toEqual([expression]);
  });
});
