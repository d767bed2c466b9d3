/**
 * The Derivation that scores QuestionnaireResponses (registered in src/services.ts): whenever a
 * response to one of CaseBridge's instruments is created, updated or patched — alone or in a
 * transaction Bundle — its score Observation, RiskAssessment and, for PHQ-9 item 9, safety Flag
 * are written in the same all-or-nothing unit (score-results.ts says what they hold).
 *
 * - completed / amended: scored; a response that cannot be scored exactly refuses the whole
 *   write (422, one located issue per problem), so neither it nor anything derived is stored.
 * - in-progress, stopped: stored, nothing derived; what an earlier version derived stays.
 * - entered-in-error: what the response derived becomes entered-in-error too.
 * - a questionnaire CaseBridge does not score: nothing derived.
 * Deleting a response does not touch what it derived (deletes are not followed by derivations).
 *
 * Recomputations are updates of the same ids. Each derived write is a compare-and-set on the
 * version read here, so a concurrent change to a derived resource fails the unit (and a PATCH
 * retries) rather than being overwritten on stale grounds.
 */
import type { Flag, Observation, Resource, RiskAssessment } from '@medplum/fhirtypes';
import { hasErrors } from '../../fhir/outcomes';
import { assertValid, validateResource } from '../../fhir/validation';
import type { Derivation, FhirServices } from '../../core/services';
import { type CurrentResource, type PlannedWrite, readIfPresent } from '../../store/repository';
import { instrumentFor } from '../instruments';
import { SCORED_STATUSES, scoreResponse } from '../scoring';
import { DERIVED, type ScoredQuestionnaireResponse, derivedId, enteredInError, scoreResults } from './score-results';

export const scoringDerivation: Derivation = {
  resourceTypes: ['QuestionnaireResponse'],
  async derive(services, resource) {
    const response = resource as ScoredQuestionnaireResponse;
    const instrument = instrumentFor(response.questionnaire);
    if (instrument === undefined) {
      return [];
    }
    if (response.status === 'entered-in-error') {
      return withdrawals(services, response.id);
    }
    if (!SCORED_STATUSES.includes(response.status)) {
      return [];
    }
    const score = scoreResponse(response, instrument);
    const flag = await readIfPresent(services.repo, DERIVED.selfHarmFlag.resourceType, derivedId(response.id, DERIVED.selfHarmFlag.suffix));
    const now = services.now().toISOString();
    const results = scoreResults(response, score, { now, ...(flag ? { selfHarmFlag: flag.resource as Flag } : {}) });
    const writes: PlannedWrite[] = [];
    for (const result of results) {
      const current = result.resourceType === 'Flag' ? flag : await readIfPresent(services.repo, result.resourceType, result.id as string);
      writes.push(plannedUpdate(result as Resource & { id: string }, current));
    }
    return writes;
  },
};

/** Marks what a withdrawn response derived as entered-in-error. */
async function withdrawals(services: FhirServices, responseId: string): Promise<PlannedWrite[]> {
  const writes: PlannedWrite[] = [];
  for (const { resourceType, suffix } of Object.values(DERIVED)) {
    const current = await readIfPresent(services.repo, resourceType, derivedId(responseId, suffix));
    const resource = current?.resource as Observation | RiskAssessment | Flag | undefined;
    if (current && resource && resource.status !== 'entered-in-error') {
      writes.push(plannedUpdate(enteredInError(resource) as Resource & { id: string }, current));
    }
  }
  return writes;
}

/**
 * An update (update-as-create when absent) of a derived resource, valid by construction: a
 * failure here is CaseBridge's bug, answered 500, not the client's 4xx. It claims its CaseBridge
 * profile when it conforms to it, which it does whenever the response gives what the profile
 * requires (an authored date, a Patient subject).
 */
function plannedUpdate(derived: Resource & { id: string }, current: CurrentResource | undefined): PlannedWrite {
  const profile = Object.values(DERIVED).find((d) => d.resourceType === derived.resourceType)?.profile;
  const claiming = profile ? { ...derived, meta: { profile: [profile] } } : undefined;
  const resource = claiming && !hasErrors(validateResource(claiming, { expectedType: claiming.resourceType })) ? claiming : derived;
  if (resource === derived) {
    try {
      assertValid(derived, derived.resourceType);
    } catch (err) {
      throw new Error(`Derived ${derived.resourceType}/${derived.id} is not valid`, { cause: err });
    }
  }
  return { kind: 'update', method: 'PUT', resource, ...(current ? { ifMatchVersion: current.versionId } : {}) };
}
