import type { Resource } from '@medplum/fhirtypes';
import { patientCompartment } from '../fhir/compartments';
import { extractIndex } from './extract';
import type { SearchParameterRegistry } from './registry';

/**
 * The patients (`Patient/<id>`) whose compartment holds `resource`: a Patient is in its own, any
 * other resource in those its compartment parameters reference (subject, patient, performer…).
 * See: https://hl7.org/fhir/R4/compartmentdefinition-patient.html
 */
export function compartmentPatients(resource: Resource, registry: SearchParameterRegistry): string[] {
  const params = patientCompartment().get(resource.resourceType) ?? [];
  const patients = new Set<string>(resource.resourceType === 'Patient' && resource.id ? [`Patient/${resource.id}`] : []);
  const index = extractIndex(resource, registry, new Set(params));
  for (const code of params) {
    const refs = index[code]?.r;
    for (const ref of Array.isArray(refs) ? refs : refs === undefined ? [] : [refs]) {
      // A versioned reference (Patient/1/_history/2, as Provenance.target has) is about Patient/1.
      const patient = typeof ref === 'string' ? /^Patient\/[^/]+/.exec(ref)?.[0] : undefined;
      if (patient) patients.add(patient);
    }
  }
  return [...patients];
}
