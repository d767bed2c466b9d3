/**
 * Reads what the outcome measures count (outcomes.ts), through the caller's scoped repository:
 *   EpisodeOfCare?[care-manager=…][&patient=…]
 *   CarePlan?episode-of-care=…&_include=CarePlan:goal
 *   Encounter?episode-of-care=…
 *   ServiceRequest?episode-of-care=…&_revinclude=Task:focus
 *   Observation?code=http://loinc.org|44261-6&patient=…
 * in chunks of cases, so the measures count exactly what the caller may see.
 */
import type { CarePlan, Encounter, EpisodeOfCare, Goal, Observation, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { FhirServices } from '../core/services';
import { searchAll } from './case-record';
import { type CaseData, PHQ9_TOTAL, linkedTo } from './outcomes';
import { localReference } from './vocabulary';

const CHUNK = 40;

type WithId<T> = T & { id: string };

export async function loadCaseData(services: FhirServices, filter: { caseManager?: string; subject?: string; caseId?: string } = {}): Promise<CaseData[]> {
  const found = await searchAll(services, 'EpisodeOfCare', {
    ...(filter.caseManager ? { 'care-manager': filter.caseManager } : {}),
    ...(filter.subject ? { patient: filter.subject } : {}),
    ...(filter.caseId ? { _id: filter.caseId } : {}),
  });
  const episodes = found.matches.map((m) => m.resource as WithId<EpisodeOfCare>);
  const out: CaseData[] = [];
  for (let i = 0; i < episodes.length; i += CHUNK) {
    const chunk = episodes.slice(i, i + CHUNK);
    const refs = chunk.map((e) => `EpisodeOfCare/${e.id}`).join(',');
    const clients = [...new Set(chunk.map((e) => localReference(e.patient)).filter((p): p is string => p !== undefined))].join(',');
    const [plans, encounters, requests, scores] = await Promise.all([
      searchAll(services, 'CarePlan', { 'episode-of-care': refs, _include: 'CarePlan:goal' }),
      searchAll(services, 'Encounter', { 'episode-of-care': refs }),
      searchAll(services, 'ServiceRequest', { 'episode-of-care': refs, _revinclude: 'Task:focus' }),
      clients ? searchAll(services, 'Observation', { code: `http://loinc.org|${PHQ9_TOTAL}`, patient: clients }) : undefined,
    ]);
    const goals = new Map(plans.included.filter((r) => r.resource.resourceType === 'Goal').map((r) => [r.id, r.resource as WithId<Goal>]));
    const tasks = requests.included.filter((r) => r.resource.resourceType === 'Task').map((r) => r.resource as WithId<Task>);
    for (const episode of chunk) {
      const client = localReference(episode.patient);
      const caseReferrals = requests.matches.map((m) => m.resource as WithId<ServiceRequest>).filter((sr) => linkedTo(sr, episode.id));
      const focus = new Set(caseReferrals.map((r) => `ServiceRequest/${r.id}`));
      out.push({
        episode,
        plans: plans.matches.map((m) => m.resource as WithId<CarePlan>).filter((p) => linkedTo(p, episode.id)),
        goals,
        encounters: encounters.matches.map((m) => m.resource as WithId<Encounter>).filter((e) => (e.episodeOfCare ?? []).some((r) => localReference(r) === `EpisodeOfCare/${episode.id}`)),
        referrals: caseReferrals,
        tasks: tasks.filter((t) => focus.has(localReference(t.focus) ?? '')),
        phq9: (scores?.matches ?? []).map((m) => m.resource as WithId<Observation>).filter((o) => localReference(o.subject) === client),
      });
    }
  }
  return out;
}
