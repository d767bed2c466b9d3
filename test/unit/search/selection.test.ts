/**
 * Compiled selections (src/search/selection.ts) answer what Medplum's FHIRPath engine answers:
 * same items, same types, same values, in the same order, for every search parameter branch and
 * composite component that compiles, on the fixtures, the synthetic clients and edge cases.
 */
import { isDeepStrictEqual } from 'node:util';
import { evalFhirPathTyped, getAllDataTypes, parseFhirPath, toTypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { generateClients, generatePool, toPoolBundle, toTransactionBundle } from '../../../bench/synthetic';
import { readFixtureUnits } from '../../../src/fixtures/fixture-set';
import { R4_RESOURCE_TYPES } from '../../../src/fhir/definitions';
import { compileSelection, select } from '../../../src/search/selection';
import type { Selection } from '../../../src/search/selection';
import type { SearchParameterRegistry } from '../../../src/search/registry';
import { loadConformancePackage } from '../../../src/fhir/profiles';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import { BASE_URL, testRegistry } from './registry-fixture';

interface CompiledPath {
  readonly label: string;
  readonly atom: Parameters<typeof evalFhirPathTyped>[0];
  readonly selection: Selection;
}

/** Every compiled branch and composite component of a type's parameters. */
function compiledPaths(registry: SearchParameterRegistry, resourceType: string): { branches: CompiledPath[]; components: CompiledPath[] } {
  const branches: CompiledPath[] = [];
  const components: CompiledPath[] = [];
  for (const def of registry.list(resourceType)) {
    for (const b of def.branches) {
      if (b.selection) branches.push({ label: `${def.code}: ${b.text}`, atom: b.atom, selection: b.selection });
    }
    for (const c of def.components) {
      if (c.selection) components.push({ label: `${def.code} component ${c.expression}`, atom: c.atom, selection: c.selection });
    }
  }
  return { branches, components };
}

function engine(atom: CompiledPath['atom'], input: ReturnType<typeof toTypedValue>[], root: ReturnType<typeof toTypedValue>) {
  return evalFhirPathTyped(atom, input, { '%resource': root });
}

/**
 * Each compiled path on the resource, and each component on every item of every branch: the
 * differences from the engine (strictly equal: a String object is not its string), and how many
 * values were compared.
 */
function differencesFromEngine(registry: SearchParameterRegistry, resource: Resource): { differences: string[]; values: number } {
  const root = toTypedValue(resource);
  const { branches, components } = compiledPaths(registry, resource.resourceType);
  const differences: string[] = [];
  let values = 0;
  const compare = (path: CompiledPath, input: ReturnType<typeof toTypedValue>) => {
    const expected = engine(path.atom, [input], root);
    const actual = select(path.selection, [input]);
    values += expected.length;
    if (!isDeepStrictEqual(actual, expected)) {
      differences.push(`${resource.resourceType} ${path.label}: ${JSON.stringify(actual)} instead of ${JSON.stringify(expected)}`);
    }
  };
  for (const path of branches) compare(path, root);
  // Composite components run on the items of the composite's base (the resource, a component…).
  const items = [root, ...branches.flatMap((b) => engine(b.atom, [root], root)).filter((tv) => tv.value && typeof tv.value === 'object')];
  for (const path of components) {
    for (const item of items) compare(path, item);
  }
  return { differences, values };
}

function expectSameAsEngine(registry: SearchParameterRegistry, resources: readonly Resource[]): number {
  const differences: string[] = [];
  let values = 0;
  for (const r of resources) {
    const found = differencesFromEngine(registry, r);
    differences.push(...found.differences);
    values += found.values;
  }
  expect(differences.slice(0, 10)).toEqual([]);
  return values;
}

function fixtureResources(): Resource[] {
  return readFixtureUnits().flatMap((unit) => unit.files.flatMap((f) => (f.bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []))));
}

function syntheticResources(clients: number): Resource[] {
  const pool = generatePool({ seed: 7 });
  const resources = (toPoolBundle(pool).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
  for (const client of generateClients({ seed: 7, clients, referenceDate: '2025-06-30', pool })) {
    resources.push(...(toTransactionBundle(client).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])));
  }
  return resources;
}

describe('compiled selections give the engine its own answer', () => {
  const registry = testRegistry();

  test('most branches compile; those that filter (but on one member\'s string), call functions or compare stay with the engine', () => {
    let compiled = 0;
    let total = 0;
    let whereCompiled = 0;
    for (const type of R4_RESOURCE_TYPES) {
      for (const def of registry.list(type)) {
        for (const b of def.branches) {
          total++;
          if (b.selection) compiled++;
          const filtersOnOneString = /^[^()]*\.where\(\([A-Za-z]+ = '[^']*'\)\)[^()]*$/.test(b.text) || /^[^()]*\.where\(\(?[A-Za-z.]+( as [A-Za-z]+\))?\.empty\(\)\)[^()]*$/.test(b.text);
          if (filtersOnOneString) whereCompiled++;
          if (!filtersOnOneString && /\.where\(|\.exists\(|\.empty\(|\[|!=| and /.test(b.text)) expect({ branch: b.text, compiled: b.selection !== undefined }).toEqual({ branch: b.text, compiled: false });
          if (filtersOnOneString) expect({ branch: b.text, compiled: b.selection !== undefined }).toEqual({ branch: b.text, compiled: true });
        }
      }
    }
    expect(compiled / total).toBeGreaterThan(0.9);
    expect(compiled).toBeLessThan(total);
    expect(whereCompiled).toBeGreaterThan(15); // telecom by system, extensions by url, clinical dates
  });

  test('on every resource of the fixtures', () => {
    const resources = fixtureResources();
    expect(resources.length).toBeGreaterThan(100);
    expect(expectSameAsEngine(registry, resources)).toBeGreaterThan(1000);
  });

  test('on the resources of synthetic clients', () => {
    expect(expectSameAsEngine(registry, syntheticResources(40))).toBeGreaterThan(1000);
  });

  test("with the installation's own parameters (profiles/), on the resources of synthetic clients", () => {
    const withProfiles = buildSearchParameterRegistry({ baseUrl: BASE_URL, custom: loadConformancePackage().searchParameters });
    const compiledWhere = (['Task', 'Goal', 'Observation', 'CarePlan'] as const).flatMap((type) => withProfiles.list(type).flatMap((def) => def.branches.filter((b) => b.selection?.some((step) => 'where' in step))));
    expect(compiledWhere.length).toBeGreaterThan(4); // clinical dates, episodes of care
    expect(expectSameAsEngine(withProfiles, syntheticResources(40))).toBeGreaterThan(1000);
  });

  test('on an empty resource of every R4 type', () => {
    expectSameAsEngine(registry, R4_RESOURCE_TYPES.map((type) => ({ resourceType: type }) as Resource));
  });

  test('primitive extensions, choice types, empty values, contained resources and unknown elements', () => {
    const edgeCases: Record<string, unknown>[] = [
      {
        resourceType: 'Patient',
        name: [
          { given: ['Ana', 'Maria'], _given: [null, { extension: [{ url: 'http://example.org/x', valueString: 'y' }] }], family: 'Lima' },
          { given: [], family: '' },
          {},
          { _family: { extension: [{ url: 'http://example.org/absent', valueCode: 'unknown' }] } },
        ],
        birthDate: '1990-02-03',
        _birthDate: { id: 'b1' },
        telecom: [{ system: 'phone', value: '555' }, { system: 'email' }],
        deceasedBoolean: false,
        identifier: [{ system: 'urn:x', value: '1' }, { value: '2' }],
        address: [{ line: ['1 Main', 'Apt 2'], city: 'Town' }],
        contained: [{ resourceType: 'Practitioner', id: 'c1', name: [{ family: 'Doe' }] }],
        generalPractitioner: [{ reference: '#c1' }],
        link: [{ other: { reference: 'Patient/2' }, type: 'seealso' }],
      },
      {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '44261-6' }], text: 'PHQ-9' },
        valueQuantity: { value: 12, unit: 'score', system: 'http://unitsofmeasure.org', code: '{score}' },
        effectivePeriod: { start: '2025-01-01', end: '2025-01-02' },
        component: [
          { code: { coding: [{ code: 'a' }] }, valueCodeableConcept: { coding: [{ code: 'b' }] } },
          { code: { coding: [{ code: 'c' }] }, valueQuantity: { value: 3 } },
          { code: { coding: [{ code: 'd' }] }, valueString: 'text', _valueString: { extension: [{ url: 'http://example.org/s', valueCode: 'z' }] } },
          { code: { text: 'no value' } },
        ],
        subject: { reference: 'Patient/1' },
        unknownElement: { reference: 'Patient/9' },
      },
      { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: '' },
      { resourceType: 'Observation', status: 'final', code: {}, valueBoolean: false, effectiveDateTime: '2025-03-04T05:06:07Z' },
      { resourceType: 'Condition', subject: { reference: 'Patient/1' }, onsetAge: { value: 40, unit: 'a' }, recordedDate: '2025-01-01' },
      { resourceType: 'Condition', subject: { reference: 'Patient/1' }, onsetString: 'childhood', abatementDateTime: '2020' },
      {
        resourceType: 'Bundle',
        type: 'document',
        entry: [{ resource: { resourceType: 'Composition', id: 'c', status: 'final', type: { text: 't' }, date: '2025', title: 'x', author: [{ display: 'a' }] } }],
        identifier: { value: 'b' },
      },
      {
        resourceType: 'CarePlan',
        status: 'active',
        intent: 'plan',
        subject: { reference: 'Patient/1' },
        activity: [{ detail: { status: 'scheduled', code: { text: 'visit' }, scheduledPeriod: { start: '2025-05-01' } } }, { reference: { reference: 'Task/1' } }],
      },
    ];
    expect(expectSameAsEngine(registry, edgeCases as unknown as Resource[])).toBeGreaterThan(40);
  });
});

describe('compileSelection', () => {
  const compile = (expression: string) => compileSelection(parseFhirPath(expression).child);

  test('names and type filters compile, in order', () => {
    expect(compile('Observation.value as Quantity')).toEqual([{ member: 'Observation' }, { member: 'value' }, { ofType: 'Quantity' }]);
    expect(compile('Observation.value.ofType(Quantity)')).toEqual([{ member: 'Observation' }, { member: 'value' }, { ofType: 'Quantity' }]);
    // Medplum's as() function keeps its input: no filter step.
    expect(compile('value.as(Quantity)')).toEqual([{ member: 'value' }]);
    expect(compile('Patient.name.given')).toEqual([{ member: 'Patient' }, { member: 'name' }, { member: 'given' }]);
  });

  test('an element the definitions do not know is read as the engine reads it', () => {
    const observation = toTypedValue({ resourceType: 'Observation', status: 'final', code: {}, notInR4: [{ text: 'a' }, 'b'], valueCodeableConcept: { text: 'c' } } as unknown as Resource);
    for (const expression of ['Observation.notInR4', 'Observation.notInR4.text', 'Observation.valueCodeableConcept.text']) {
      const atom = parseFhirPath(expression);
      const steps = compileSelection(atom.child);
      expect(steps).toBeDefined();
      const expected = evalFhirPathTyped(atom, [observation]);
      expect(expected.length).toBeGreaterThan(0);
      expect(select(steps ?? [], [observation])).toStrictEqual(expected);
    }
  });

  test('no loaded type has an element typed Element or BackboneElement (the engine renames those; selections do not)', () => {
    testRegistry(); // loads the definitions
    const renamed = Object.values(getAllDataTypes()).flatMap((schema) =>
      Object.entries(schema.elements).flatMap(([name, element]) => (element.type ?? []).filter((t) => t.code === 'Element' || t.code === 'BackboneElement').map(() => `${schema.name}.${name}`)),
    );
    expect(Object.keys(getAllDataTypes()).length).toBeGreaterThan(500);
    expect(renamed).toEqual([]);
  });

  test("where(member = 'text') compiles into a filter step", () => {
    expect(compile("Patient.telecom.where(system = 'email').value")).toEqual([
      { member: 'Patient' },
      { member: 'telecom' },
      { where: { member: 'system', equals: 'email', criteria: expect.anything() } },
      { member: 'value' },
    ]);
  });

  test("where(member = 'text') keeps what the engine keeps: one string, none, several, a primitive extension, not a string", () => {
    const patient = toTypedValue({
      resourceType: 'Patient',
      telecom: [
        { system: 'email', value: 'a@example.org', rank: 1 },
        { system: 'Email', value: 'case@example.org' },
        { value: 'no-system' },
        { system: 'email', _system: { extension: [{ url: 'http://example.org/x', valueCode: 'y' }] }, value: 'ext@example.org' },
        { _system: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] }, value: 'absent' },
        { system: 'phone', value: '555', rank: 2 },
      ],
      name: [{ given: ['Ana', 'Maria'], family: 'Lima' }, { given: ['Ana'] }, { family: 'Ana' }],
      extension: [
        { url: 'http://example.org/a', valueString: 'first' },
        { url: 'http://example.org/b', valueCode: 'second' },
        { valueString: 'no url' },
        { url: 'http://example.org/a', valueInteger: 3 },
      ],
    } as unknown as Resource);
    let kept = 0;
    for (const expression of [
      "Patient.telecom.where(system = 'email')",
      "Patient.telecom.where(system = 'email').value",
      "Patient.telecom.where(system = 'phone').value",
      "Patient.telecom.where(system = '').value",
      "Patient.telecom.where(rank = '1').value",
      "Patient.name.where(given = 'Ana').family",
      "Patient.name.where(family = 'Ana')",
      "Patient.extension.where(url = 'http://example.org/a').value",
      "Patient.extension.where(url = 'http://example.org/b').value",
      "Patient.extension.where(url = 'http://example.org/none').value",
    ]) {
      const atom = parseFhirPath(expression);
      const steps = compileSelection(atom.child);
      expect({ expression, compiled: steps !== undefined }).toEqual({ expression, compiled: true });
      const expected = evalFhirPathTyped(atom, [patient]);
      kept += expected.length;
      expect({ expression, values: select(steps ?? [], [patient]) }).toStrictEqual({ expression, values: expected });
    }
    expect(kept).toBeGreaterThan(8);
  });

  test('where(path.empty()) keeps what the engine keeps', () => {
    const resources = [
      { resourceType: 'Task', status: 'requested', intent: 'order', authoredOn: '2025-01-02' },
      { resourceType: 'Task', status: 'requested', intent: 'order', authoredOn: '2025-01-02', executionPeriod: { start: '2025-01-03' } },
      { resourceType: 'Task', status: 'requested', intent: 'order', _authoredOn: { extension: [{ url: 'http://example.org/x', valueCode: 'y' }] }, executionPeriod: {} },
      { resourceType: 'Goal', lifecycleStatus: 'active', startDate: '2025-01-01', statusDate: '2025-02-01' },
      { resourceType: 'Goal', lifecycleStatus: 'active', startCodeableConcept: { text: 'soon' }, statusDate: '2025-02-01' },
      { resourceType: 'DocumentReference', status: 'current', date: '2025-01-01T00:00:00Z', context: { period: { start: '2025-01-01' } } },
      { resourceType: 'DocumentReference', status: 'current', date: '2025-01-01T00:00:00Z', context: { encounter: [{ reference: 'Encounter/1' }] } },
    ].map((r) => toTypedValue(r as unknown as Resource));
    let kept = 0;
    for (const expression of ['Task.where(executionPeriod.empty()).authoredOn', 'Goal.where((start as date).empty()).statusDate', 'DocumentReference.where(context.period.empty()).date', 'Task.where(authoredOn.empty())']) {
      const atom = parseFhirPath(expression);
      const steps = compileSelection(atom.child);
      expect({ expression, compiled: steps !== undefined }).toEqual({ expression, compiled: true });
      for (const resource of resources) {
        const expected = evalFhirPathTyped(atom, [resource]);
        kept += expected.length;
        expect({ expression, values: select(steps ?? [], [resource]) }).toStrictEqual({ expression, values: expected });
      }
    }
    expect(kept).toBeGreaterThan(3);
  });

  test('anything else stays with the engine', () => {
    for (const expression of [
      "Patient.telecom.where(system != 'email')",
      "Patient.telecom.where(system = 'email' or system = 'phone')",
      "Patient.telecom.where(system = %kind)",
      'Patient.telecom.where(rank = 1)',
      "Patient.telecom.where($this.system = 'email')",
      "Patient.telecom.where('email' = system)",
      'Patient.where(name.empty() and telecom.empty())',
      'Patient.where(name.first().empty())',
      'Patient.name[0]',
      'Patient.name.first()',
      'Patient.deceased.exists()',
      '%resource.id',
      '$this.id',
      'Observation.value as Quantity | Observation.value as SampledData',
      'Observation.code.coding.code = Observation.code.coding.code',
      "Observation.extension('http://example.org').value",
    ]) {
      expect({ expression, steps: compile(expression) }).toEqual({ expression, steps: undefined });
    }
  });
});
