/**
 * Derived writes: resources that must change together with a written resource, in the same
 * all-or-nothing unit (a scored QuestionnaireResponse brings its score Observation, risk
 * assessment and safety flag). The case-management layer registers derivations; the FHIR
 * interactions apply them to every create, update and patch, through the REST API and inside
 * transaction Bundles alike.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { PlannedWrite } from '../store/repository';
import type { FhirServices } from './services';

export interface Derivation {
  /** The resource types whose writes it follows. */
  readonly resourceTypes: readonly string[];
  /**
   * The writes that must land with `resource` (valid, with its final id). Throwing a FhirError
   * refuses the whole write, e.g. a completed questionnaire that cannot be scored (422).
   */
  derive(services: FhirServices, resource: Resource & { id: string }): Promise<PlannedWrite[]>;
}

export async function derivedWrites(services: FhirServices, resource: Resource & { id: string }): Promise<PlannedWrite[]> {
  const writes: PlannedWrite[] = [];
  for (const derivation of services.derivations) {
    if (derivation.resourceTypes.includes(resource.resourceType)) {
      writes.push(...(await derivation.derive(services, resource)));
    }
  }
  return writes;
}

/**
 * Writes `main` alone, or with what derives from it as one unit; answers for `main`.
 * `createMethod` records a create made by PUT (conditional update) as such in history.
 */
export async function writeWithDerived(services: FhirServices, main: PlannedWrite & { kind: 'create' | 'update' }, createMethod: 'POST' | 'PUT' = 'POST') {
  const extra = await derivedWrites(services, main.resource);
  if (extra.length === 0) {
    return main.kind === 'create'
      ? services.repo.create(main.resource, { method: createMethod })
      : services.repo.update(main.resource, { method: main.method, ...(main.ifMatchVersion !== undefined ? { ifMatchVersion: main.ifMatchVersion } : {}) });
  }
  const [result] = await services.repo.applyAll([main, ...extra]);
  if (!result) {
    throw new Error('applyAll answers one result per write');
  }
  return result;
}
