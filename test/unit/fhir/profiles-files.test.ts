// Every file in profiles/ is valid FHIR R4 (the project's own validator, errors and warnings)
// and the set loads: profiles compile, value sets expand, search parameters register.
import fs from 'node:fs';
import path from 'node:path';
import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import { buildConformancePackage, defaultProfilesDirectory, loadConformancePackage, readConformanceResources } from '../../../src/fhir/profiles';
import { validateResource } from '../../../src/fhir/validation';
import { buildSearchParameterRegistry } from '../../../src/search/registry';

const dir = defaultProfilesDirectory();
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const resources = readConformanceResources(dir);

describe('profiles/', () => {
  test('holds only JSON resources named <resourceType>-<id>.json', () => {
    expect(fs.readdirSync(dir).filter((f) => !f.endsWith('.json'))).toEqual([]);
    resources.forEach((r, i) => expect(files[i]).toBe(`${r.resourceType}-${r.id}.json`));
  });

  test.each(files.map((f, i) => [f, resources[i] as Resource] as const))('%s is valid FHIR R4 (no errors, no warnings)', (_file, resource) => {
    expect(validateResource(resource, { expectedType: resource.resourceType })).toEqual([]);
  });

  test('every canonical is under http://casebridge.org/fhir/<resourceType>/<id>', () => {
    for (const r of resources) {
      expect((r as { url?: string }).url).toBe(`http://casebridge.org/fhir/${r.resourceType}/${r.id}`);
    }
  });

  test('every profile is a differential constraint on its core resource', () => {
    const profiles = resources.filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition');
    expect(profiles.length).toBeGreaterThanOrEqual(15);
    for (const sd of profiles) {
      expect(sd).toMatchObject({ kind: 'resource', derivation: 'constraint', fhirVersion: '4.0.1', baseDefinition: `http://hl7.org/fhir/StructureDefinition/${sd.type}` });
      expect(sd.snapshot).toBeUndefined();
      expect(sd.differential?.element.length).toBeGreaterThan(0);
    }
  });

  test('the set loads: every profile compiles and every value set expands', () => {
    const pkg = loadConformancePackage(dir);
    expect([...pkg.profiles.keys()].sort()).toEqual(
      resources.filter((r) => r.resourceType === 'StructureDefinition').map((r) => (r as StructureDefinition).url).sort(),
    );
    expect(pkg.supportedProfiles('Goal')).toEqual([
      'http://casebridge.org/fhir/StructureDefinition/cb-goal',
      'http://casebridge.org/fhir/StructureDefinition/cb-objective',
    ]);
    expect(() => buildConformancePackage(resources)).not.toThrow();
  });

  test('the custom search parameters register beside the R4 ones', () => {
    const pkg = loadConformancePackage(dir);
    const registry = buildSearchParameterRegistry({ baseUrl: 'http://casebridge.test/fhir', custom: pkg.searchParameters });
    expect(registry.get('Goal', 'milestone')).toMatchObject({ type: 'reference', source: 'custom', targets: ['Goal'] });
    expect(registry.get('EpisodeOfCare', 'team')).toMatchObject({ type: 'reference', targets: ['CareTeam'] });
    expect(registry.get('ServiceRequest', 'pertains-to-goal')).toMatchObject({ type: 'reference', targets: ['Goal'] });
    for (const type of ['CarePlan', 'ServiceRequest', 'QuestionnaireResponse', 'Observation']) {
      expect(registry.get(type, 'episode-of-care')).toMatchObject({ type: 'reference', targets: ['EpisodeOfCare'], source: 'custom' });
    }
    expect(registry.get('Encounter', 'episode-of-care')?.source).toBe('r4');
  });

  test('defaultProfilesDirectory() is the repository folder', () => {
    expect(dir).toBe(path.resolve(__dirname, '../../../profiles'));
  });
});
