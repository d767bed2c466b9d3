/**
 * Reading what a command needs from the FHIR store: the case (EpisodeOfCare) with its version,
 * whether it is still open, its active service plan with the plan's goals, and searches run
 * through the same parser as the FHIR API (so the case API reads exactly what FHIR clients see).
 */
import type { Appointment, CarePlan, CareTeam, EpisodeOfCare, Goal, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/outcomes';
import type { FhirServices } from '../core/services';
import { parseSearch } from '../search/parse';
import { type CurrentResource, type SearchPage, readIfPresent } from '../store/repository';
import { WORKFLOW_EPISODE, localReference } from './vocabulary';

export interface Versioned<T extends Resource> {
  readonly resource: T & { id: string };
  readonly versionId: number;
}

export interface CaseRecord extends Versioned<EpisodeOfCare> {
  /** `Patient/<id>`. */
  readonly client: string;
}


/** The case, or 404. */
export async function loadCase(services: FhirServices, caseId: string): Promise<CaseRecord> {
  const found = await readOrUndefined(services, 'EpisodeOfCare', caseId);
  if (!found) {
    throw new FhirError('NOT_FOUND', `There is no case ${caseId} (EpisodeOfCare/${caseId})`);
  }
  const episode = found.resource as EpisodeOfCare & { id: string };
  const client = localReference(episode.patient);
  if (!client) {
    throw new FhirError('BUSINESS_RULE', `Case ${caseId} does not name its client with a local reference`, { expression: ['EpisodeOfCare.patient'] });
  }
  return { resource: episode, versionId: found.versionId, client };
}

export function readOrUndefined(services: FhirServices, type: string, id: string): Promise<CurrentResource | undefined> {
  return readIfPresent(services.repo, type, id);
}

export async function readVersioned<T extends Resource>(services: FhirServices, type: string, id: string): Promise<Versioned<T> | undefined> {
  const found = await readOrUndefined(services, type, id);
  return found ? { resource: found.resource as T & { id: string }, versionId: found.versionId } : undefined;
}

const PAGE = 1000;

/** Every page of a search written as FHIR query parameters; matches and included resources. */
export async function searchAll(services: FhirServices, type: string, query: Record<string, string | string[]>): Promise<{ matches: CurrentResource[]; included: CurrentResource[]; truncated: boolean }> {
  const request = parseSearch(type, { _count: String(PAGE), ...query }, services.registry, {
    strict: true,
    defaultCount: PAGE,
    maxCount: PAGE,
    baseUrl: services.settings.baseUrl,
  });
  const matches: CurrentResource[] = [];
  const included: CurrentResource[] = [];
  let truncated = false;
  let cursor: string | undefined;
  do {
    const page: SearchPage = await services.repo.search(request, cursor !== undefined ? { cursor } : {});
    matches.push(...page.matches);
    included.push(...page.included);
    truncated ||= page.includeTruncated;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return { matches, included, truncated };
}

export interface ActivePlan extends Versioned<CarePlan> {
  /** The plan's goals (goals and objectives), by id. */
  readonly goals: ReadonlyMap<string, Versioned<Goal>>;
}

/** The case's active service plan with its goals, or undefined; `statuses` (FHIR search values) widens it, e.g. to a plan on hold. */
export async function activePlan(services: FhirServices, caseId: string, statuses = 'active'): Promise<ActivePlan | undefined> {
  const found = await searchAll(services, 'CarePlan', {
    'episode-of-care': `EpisodeOfCare/${caseId}`,
    status: statuses,
    _include: 'CarePlan:goal',
  });
  const plans = found.matches.filter((m) => m.resource.resourceType === 'CarePlan');
  if (plans.length === 0) return undefined;
  // Only one plan is active at a time when written through this API; several (written through
  // FHIR) are read as: the most recently created one is current.
  const [plan] = plans.sort((a, b) => ((a.resource as CarePlan).created ?? '') < ((b.resource as CarePlan).created ?? '') ? 1 : -1);
  const goals = new Map<string, Versioned<Goal>>();
  for (const g of [...found.included, ...found.matches].filter((r) => r.resource.resourceType === 'Goal')) {
    goals.set(g.id, { resource: g.resource as Goal & { id: string }, versionId: g.versionId });
  }
  const current = plan as CurrentResource;
  return { resource: current.resource as CarePlan & { id: string }, versionId: current.versionId, goals };
}

/** What belongs to a case and moves with its state: its care teams, referrals with their Tasks, appointments. */
export interface CaseHoldings {
  readonly teams: readonly Versioned<CareTeam>[];
  /** The case's ServiceRequests (planned interventions and referrals). */
  readonly requests: readonly Versioned<ServiceRequest>[];
  /** The Tasks whose focus is one of the requests (referral Tasks). */
  readonly tasks: readonly Versioned<Task>[];
  /** Appointments for the case (supportingInformation → the case) or based on its requests. */
  readonly appointments: readonly Versioned<Appointment>[];
}

/**
 * One search: `EpisodeOfCare?_id=<case>&_include=EpisodeOfCare:team&_revinclude=ServiceRequest:episode-of-care
 * &_revinclude=Appointment:supporting-info&_revinclude:iterate=Task:focus&_revinclude:iterate=Appointment:based-on`.
 */
export async function caseHoldings(services: FhirServices, caseId: string): Promise<CaseHoldings> {
  const found = await searchAll(services, 'EpisodeOfCare', {
    _id: caseId,
    _include: 'EpisodeOfCare:team',
    _revinclude: ['ServiceRequest:episode-of-care', 'Appointment:supporting-info'],
    '_revinclude:iterate': ['Task:focus', 'Appointment:based-on'],
  });
  const of = <T extends Resource>(type: string): Versioned<T>[] => {
    const seen = new Set<string>();
    return found.included
      .filter((r) => r.resource.resourceType === type && !seen.has(r.id) && seen.add(r.id))
      .map((r) => ({ resource: r.resource as T & { id: string }, versionId: r.versionId }));
  };
  const requests = of<ServiceRequest>('ServiceRequest').filter((sr) => sr.resource.extension?.some((e) => e.url === WORKFLOW_EPISODE && localReference(e.valueReference) === `EpisodeOfCare/${caseId}`));
  const requestRefs = new Set(requests.map((r) => `ServiceRequest/${r.resource.id}`));
  const appointments = of<Appointment>('Appointment').filter(
    (a) => (a.resource.supportingInformation ?? []).some((s) => localReference(s) === `EpisodeOfCare/${caseId}`) || (a.resource.basedOn ?? []).some((b) => requestRefs.has(localReference(b) ?? '')),
  );
  return {
    teams: of<CareTeam>('CareTeam'),
    requests,
    tasks: of<Task>('Task').filter((t) => requestRefs.has(localReference(t.resource.focus) ?? '')),
    appointments,
  };
}
