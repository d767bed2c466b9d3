/** The clinical date of each type ($everything start/end): the mapping, and what `clinical-date` extracts. */
import type { Resource } from '@medplum/fhirtypes';
import { CLINICAL_DATES, clinicalDateParameter } from '../../../src/fhir/clinical-dates';
import { patientCompartment } from '../../../src/fhir/compartments';
import { loadConformancePackage } from '../../../src/fhir/profiles';
import { extractIndex } from '../../../src/search/extract';
import { buildSearchParameterRegistry } from '../../../src/search/registry';

const registry = buildSearchParameterRegistry({ baseUrl: 'https://casebridge.example/fhir', custom: loadConformancePackage().searchParameters });

/** The low and high bounds `clinical-date` (or another date parameter) stores, as ISO strings. */
function bounds(resource: Record<string, unknown>, parameter = 'clinical-date'): string[] {
  const index = extractIndex(resource as unknown as Resource, registry) as Record<string, unknown>;
  const stored = index[parameter] as { lo?: unknown[]; hi?: unknown[] } | undefined;
  return [...(stored?.lo ?? []), ...(stored?.hi ?? [])].map((d) => (d instanceof Date ? d.toISOString() : String(d)));
}

test('every type named is in the Patient compartment and its parameter is a date parameter of that type', () => {
  for (const [type, { parameter }] of CLINICAL_DATES) {
    expect(patientCompartment().has(type)).toBe(true);
    expect({ type, parameter, kind: registry.get(type, parameter)?.type }).toEqual({ type, parameter, kind: 'date' });
  }
});

test('types without a date of care have none (a window leaves them in)', () => {
  expect(clinicalDateParameter('Patient')).toBeUndefined();
  expect(clinicalDateParameter('Coverage')).toBeUndefined();
  expect(clinicalDateParameter('QuestionnaireResponse')).toBe('authored');
  expect(clinicalDateParameter('DocumentReference')).toBe('clinical-date');
});

test.each([
  ['a note: the service period, not when it was written', { resourceType: 'DocumentReference', status: 'current', content: [{ attachment: {} }], date: '2025-07-02T09:00:00Z', context: { period: { start: '2025-05-10T14:00:00Z', end: '2025-05-10T15:00:00Z' } } }, '2025-05-10'],
  ['a note without a service period: when it was written', { resourceType: 'DocumentReference', status: 'current', content: [{ attachment: {} }], date: '2025-07-02T09:00:00Z' }, '2025-07-02'],
  ['a condition: its onset', { resourceType: 'Condition', subject: { reference: 'Patient/p' }, onsetDateTime: '2024-11-03', recordedDate: '2025-02-01' }, '2024-11-03'],
  ['a condition without onset: when it was recorded', { resourceType: 'Condition', subject: { reference: 'Patient/p' }, recordedDate: '2025-02-01' }, '2025-02-01'],
  ['a referral: when the service occurs', { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/p' }, occurrenceDateTime: '2025-04-20', authoredOn: '2025-03-01' }, '2025-04-20'],
  ['a task without an execution period: authored', { resourceType: 'Task', status: 'requested', intent: 'order', authoredOn: '2025-03-01T10:00:00Z' }, '2025-03-01'],
  ['a goal started on a date', { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'x' }, subject: { reference: 'Patient/p' }, startDate: '2025-01-15', statusDate: '2025-06-01' }, '2025-01-15'],
])('%s', (_title, resource, day) => {
  const found = bounds(resource);
  expect(found.length).toBeGreaterThan(0);
  expect(found.every((d) => d.startsWith(day))).toBe(true);
});
