/**
 * What a change of the case's state does to what belongs to the case, so that the record never
 * contradicts itself (an active CareTeam on a closed case, a referral still "requested" by a case
 * nobody manages, an appointment booked after discharge):
 *
 * - closing (finished, cancelled): the plan `completed` (it ran its course; a revision revokes),
 *   its open goals and objectives completed when achieved, else `cancelled` with the reason; its
 *   active interventions `completed`; the CareTeam `inactive` (period ended); open referral Tasks
 *   `cancelled` by the requester with the reason (SDOHCC lets the requester cancel at any open
 *   status) and their ServiceRequests `revoked` — except those the command keeps open; future
 *   appointments `cancelled` (appointment-cancellation-reason prov-dch "Provider: Discharged");
 * - holding: the plan and its active interventions `on-hold`; resuming: back to `active`;
 * - reopening: the CareTeam active again (the plan stays completed: a reopened case gets a new plan).
 * See: https://hl7.org/fhir/R4/episodeofcare.html#statemachine, https://hl7.org/fhir/R4/careplan.html,
 * http://hl7.org/fhir/us/sdoh-clinicalcare/referral_workflow.html
 */
import type { Appointment, CarePlan, CareTeam, EpisodeOfCare, Goal, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { FhirServices } from '../../core/services';
import { withoutServerMeta } from '../../fhir/resource-body';
import type { PlannedWrite } from '../../store/repository';
import { type CaseHoldings, type CaseRecord, activePlan, caseHoldings } from '../case-record';
import { updated } from '../command';
import type { CaseStatus } from '../lifecycle';
import { achievementCode } from '../progress';
import { coded, idOf, localReference } from '../vocabulary';

export const APPOINTMENT_CANCELLATION = 'http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason';

/** Referral Task statuses still open (SDOHCC), from which the requester may cancel. */
export const OPEN_TASK_STATUSES: ReadonlySet<string> = new Set(['draft', 'requested', 'accepted', 'in-progress', 'on-hold', 'received', 'ready']);

/** Appointment statuses still to happen. */
export const UPCOMING_APPOINTMENT_STATUSES: ReadonlySet<string> = new Set(['proposed', 'pending', 'booked']);

/** The episode moved to `status` on `date`: the open statusHistory entry ended, a new one begun. */
export function moved(episode: EpisodeOfCare & { id: string }, status: CaseStatus, date: string): EpisodeOfCare & { id: string } {
  const current = withoutServerMeta(episode);
  const start = current.period?.start;
  const at = start !== undefined && start > date ? start : date;
  const history = (current.statusHistory ?? []).map((h) => (h.period.end === undefined ? { ...h, period: { ...h.period, end: at } } : h));
  return { ...current, status, statusHistory: [...history, { status, period: { start: at } }] };
}

/** The later of two FHIR dates (a period's end cannot precede its start). */
export function notBefore(date: string, start: string | undefined): string {
  return start !== undefined && start > date ? start : date;
}

export interface Closing {
  readonly services: FhirServices;
  readonly caseRecord: CaseRecord;
  readonly status: 'finished' | 'cancelled';
  readonly date: string;
  /** Why, for statusReason texts: "Case closed: Goals met". */
  readonly why: string;
  /** Referral ServiceRequests (`ServiceRequest/<id>`) the receiving organizations go on with after closure. */
  readonly keepReferrals?: ReadonlySet<string>;
}

/** Every write that closes the case: the episode (first), its plan, team, referrals and appointments. */
export async function closingWrites(args: Closing): Promise<PlannedWrite[]> {
  const { services, caseRecord, date, why } = args;
  const episode = moved(caseRecord.resource, args.status, date);
  const end = notBefore(date, episode.period?.start);
  const writes: PlannedWrite[] = [updated({ ...episode, period: { ...episode.period, end } }, caseRecord.versionId)];
  const holdings = await caseHoldings(services, caseRecord.resource.id);
  writes.push(...(await planWindUp({ services, caseId: caseRecord.resource.id, holdings, end, why })));
  writes.push(...teamsEnded(holdings, end));
  writes.push(...referralsCancelled(holdings, { why, at: end, keep: args.keepReferrals ?? new Set() }));
  writes.push(...appointmentsCancelled(holdings, { why, from: end }));
  return writes;
}

/** The active (or paused) plan completed, its open goals settled, its interventions completed. */
async function planWindUp(args: { services: FhirServices; caseId: string; holdings: CaseHoldings; end: string; why: string }): Promise<PlannedWrite[]> {
  const { services, holdings, end, why } = args;
  const plan = await activePlan(services, args.caseId, 'active,on-hold');
  if (!plan) return [];
  const old = withoutServerMeta(plan.resource) as CarePlan & { id: string };
  const writes: PlannedWrite[] = [updated({ ...old, status: 'completed', period: { ...old.period, end: notBefore(end, old.period?.start) } }, plan.versionId)];
  for (const { resource, versionId } of plan.goals.values()) {
    if (['completed', 'cancelled', 'entered-in-error', 'rejected'].includes(resource.lifecycleStatus)) continue;
    const next: Goal & { id: string } =
      achievementCode(resource) === 'achieved'
        ? { ...withoutServerMeta(resource), lifecycleStatus: 'completed', statusDate: end }
        : { ...withoutServerMeta(resource), lifecycleStatus: 'cancelled', statusDate: end, statusReason: why };
    writes.push(updated(next, versionId));
  }
  // Planned interventions; referrals (intent order) are the receiving organizations' and are settled with their Tasks.
  const inPlan = new Set((old.activity ?? []).map((a) => localReference(a.reference)).filter((r): r is string => r?.startsWith('ServiceRequest/') ?? false));
  for (const sr of holdings.requests) {
    if (sr.resource.intent !== 'order' && inPlan.has(`ServiceRequest/${sr.resource.id}`) && (sr.resource.status === 'active' || sr.resource.status === 'on-hold')) {
      writes.push(updated({ ...withoutServerMeta(sr.resource), status: 'completed' }, sr.versionId));
    }
  }
  return writes;
}

function teamsEnded(holdings: CaseHoldings, end: string): PlannedWrite[] {
  return holdings.teams
    .filter((t) => t.resource.status === 'active' || t.resource.status === 'proposed' || t.resource.status === 'suspended')
    .map((t) => updated({ ...withoutServerMeta(t.resource), status: 'inactive', period: { ...t.resource.period, end: notBefore(end, t.resource.period?.start) } } as CareTeam & { id: string }, t.versionId));
}

function referralsCancelled(holdings: CaseHoldings, args: { why: string; at: string; keep: ReadonlySet<string> }): PlannedWrite[] {
  const writes: PlannedWrite[] = [];
  const cancelled = new Set<string>();
  for (const task of holdings.tasks) {
    const focus = localReference(task.resource.focus) ?? '';
    if (!OPEN_TASK_STATUSES.has(task.resource.status) || args.keep.has(focus)) continue;
    // lastModified cannot precede authoredOn (Task inv-1).
    const authored = task.resource.authoredOn;
    const lastModified = authored !== undefined && Date.parse(authored) > Date.parse(args.at) ? authored : args.at;
    const next: Task & { id: string } = { ...withoutServerMeta(task.resource), status: 'cancelled', statusReason: { text: args.why }, lastModified };
    writes.push(updated(next, task.versionId));
    cancelled.add(focus);
  }
  for (const sr of holdings.requests) {
    if (sr.resource.intent !== 'order' || !cancelled.has(`ServiceRequest/${sr.resource.id}`)) continue;
    if (sr.resource.status === 'active' || sr.resource.status === 'on-hold' || sr.resource.status === 'draft') {
      writes.push(updated({ ...withoutServerMeta(sr.resource), status: 'revoked' } as ServiceRequest & { id: string }, sr.versionId));
    }
  }
  return writes;
}

function appointmentsCancelled(holdings: CaseHoldings, args: { why: string; from: string }): PlannedWrite[] {
  return holdings.appointments
    .filter((a) => UPCOMING_APPOINTMENT_STATUSES.has(a.resource.status) && (a.resource.start === undefined || a.resource.start.slice(0, 10) >= args.from))
    .map((a) =>
      updated(
        {
          ...withoutServerMeta(a.resource),
          status: 'cancelled',
          cancelationReason: coded(APPOINTMENT_CANCELLATION, 'prov-dch', 'Provider: Discharged', args.why),
        } as Appointment & { id: string },
        a.versionId,
      ),
    );
}

/** Holding (`on-hold`) or resuming (`active`) the plan and its interventions with the case. */
export async function planPaused(services: FhirServices, caseId: string, to: 'on-hold' | 'active'): Promise<PlannedWrite[]> {
  const from = to === 'on-hold' ? 'active' : 'on-hold';
  const plan = await activePlan(services, caseId, from);
  if (!plan) return [];
  const writes: PlannedWrite[] = [updated({ ...withoutServerMeta(plan.resource), status: to }, plan.versionId)];
  const inPlan = new Set((plan.resource.activity ?? []).map((a) => localReference(a.reference)).filter((r): r is string => r !== undefined).map(idOf));
  const holdings = await caseHoldings(services, caseId);
  for (const sr of holdings.requests) {
    if (sr.resource.intent !== 'order' && inPlan.has(sr.resource.id) && sr.resource.status === from) writes.push(updated({ ...withoutServerMeta(sr.resource), status: to }, sr.versionId));
  }
  return writes;
}

/** The case's teams active again after a reopening (their period open again). */
export function teamsReopened(holdings: CaseHoldings): PlannedWrite[] {
  return holdings.teams
    .filter((t) => t.resource.status === 'inactive')
    .map((t) => {
      const { end: _end, ...period } = t.resource.period ?? {};
      return updated({ ...withoutServerMeta(t.resource), status: 'active', period } as CareTeam & { id: string }, t.versionId);
    });
}
