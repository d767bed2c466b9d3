/**
 * The moves of the case's state machine that are not closing (lifecycle.ts): put on the
 * waitlist, activate, hold, resume, cancel (change-case-status), reopen, and reassign to another
 * case manager. Each writes the EpisodeOfCare (status and statusHistory: the open entry ended,
 * a new one begun) with what moves with it (wind-up.ts), and a case note saying why when a
 * reason is given — statusHistory has no room for one.
 * See: https://hl7.org/fhir/R4/episodeofcare.html#statemachine
 */
import type { Appointment, CareTeam, CareTeamParticipant, EpisodeOfCare } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/outcomes';
import { withoutServerMeta } from '../../fhir/resource-body';
import type { PlannedWrite } from '../../store/repository';
import { type CaseRecord, caseHoldings, loadCase } from '../case-record';
import { type CaseCommand, type PlanInput, created, updated } from '../command';
import { STATUS_WORDS, assertCommandAllowed, assertMove } from '../lifecycle';
import {
  type ChangeCaseStatusPayload,
  type ReassignCasePayload,
  type ReopenCasePayload,
  changeCaseStatusSchema,
  reassignCaseSchema,
  reopenCaseSchema,
} from '../schemas/lifecycle';
import { localReference, ref, today } from '../vocabulary';
import { authorOf, caseNote } from './contact';
import { CASE_MANAGER_ROLE } from './open-case';
import { UPCOMING_APPOINTMENT_STATUSES, closingWrites, moved, notBefore, planPaused, teamsReopened } from './wind-up';

export const changeCaseStatus: CaseCommand<ChangeCaseStatusPayload> = {
  name: 'change-case-status',
  schema: changeCaseStatusSchema,
  async plan(input) {
    const { services, payload, params, now } = input;
    const caseRecord = await loadCase(services, params.caseId as string);
    const episode = caseRecord.resource;
    const to = payload.status;
    assertMove(episode, to, 'change-case-status');
    const date = payload.date ?? today(now);
    let writes: PlannedWrite[];
    if (to === 'cancelled') {
      writes = await closingWrites({ services, caseRecord, status: 'cancelled', date, why: `Case cancelled: ${payload.reason ?? ''}` });
    } else {
      writes = [updated(moved(episode, to, date), caseRecord.versionId)];
      if (to === 'onhold') writes.push(...(await planPaused(services, episode.id, 'on-hold')));
      if (to === 'active' && episode.status === 'onhold') writes.push(...(await planPaused(services, episode.id, 'active')));
    }
    const what = to === 'active' && episode.status === 'onhold' ? 'resumed' : `now ${STATUS_WORDS[to]}`;
    writes.push(...statusNote(input, caseRecord, { date, text: payload.reason ? `Case ${what}: ${payload.reason}` : undefined, title: `Case ${what}` }));
    return { caseId: episode.id, writes };
  },
};

export const reopenCase: CaseCommand<ReopenCasePayload> = {
  name: 'reopen-case',
  schema: reopenCaseSchema,
  async plan(input) {
    const { services, payload, params, now } = input;
    const caseRecord = await loadCase(services, params.caseId as string);
    const episode = caseRecord.resource;
    assertMove(episode, 'active', 'reopen-case');
    const date = notBefore(payload.date ?? today(now), episode.period?.end);
    const reopened = moved(episode, 'active', date);
    const { end: _end, ...period } = reopened.period ?? {};
    const writes: PlannedWrite[] = [updated({ ...reopened, period } as EpisodeOfCare & { id: string }, caseRecord.versionId)];
    writes.push(...teamsReopened(await caseHoldings(services, episode.id)));
    writes.push(...statusNote(input, caseRecord, { date, text: `Case reopened: ${payload.reason}`, title: 'Case reopened' }));
    return { caseId: episode.id, writes };
  },
};

export const reassignCase: CaseCommand<ReassignCasePayload> = {
  name: 'reassign-case',
  schema: reassignCaseSchema,
  async plan(input) {
    const { services, payload, params, now } = input;
    const caseRecord = await loadCase(services, params.caseId as string);
    const episode = caseRecord.resource;
    assertCommandAllowed(episode, 'reassign-case', 'reassign it');
    const previous = localReference(episode.careManager);
    if (previous === payload.caseManager) {
      throw new FhirError('BUSINESS_RULE', `${payload.caseManager} is already the case manager of case ${episode.id}`, { expression: ['caseManager'] });
    }
    const date = notBefore(payload.date ?? today(now), episode.period?.start);
    const writes: PlannedWrite[] = [updated({ ...withoutServerMeta(episode), careManager: ref(payload.caseManager) }, caseRecord.versionId)];
    const holdings = await caseHoldings(services, episode.id);
    for (const team of holdings.teams) {
      const participant = (team.resource.participant ?? []).map((p): CareTeamParticipant =>
        previous !== undefined && localReference(p.member) === previous && isCaseManager(p) && p.period?.end === undefined ? { ...p, period: { ...p.period, end: notBefore(date, p.period?.start) } } : p,
      );
      participant.push({ role: [CASE_MANAGER_ROLE], member: ref(payload.caseManager), period: { start: date } });
      writes.push(updated({ ...withoutServerMeta(team.resource), participant } as CareTeam & { id: string }, team.versionId));
    }
    // The new case manager takes over the appointments still to come.
    for (const appointment of holdings.appointments) {
      const a = appointment.resource;
      if (!UPCOMING_APPOINTMENT_STATUSES.has(a.status) || (a.start ?? '').slice(0, 10) < date) continue;
      if (!a.participant.some((p) => localReference(p.actor) === previous)) continue;
      const moved: Appointment & { id: string } = {
        ...withoutServerMeta(a),
        participant: a.participant.map((p) => (localReference(p.actor) === previous ? { ...p, actor: ref(payload.caseManager), status: 'needs-action' as const } : p)),
      };
      writes.push(updated(moved, appointment.versionId));
    }
    writes.push(...statusNote(input, caseRecord, { date, text: `Case reassigned from ${previous ?? 'no case manager'} to ${payload.caseManager}: ${payload.reason}`, title: 'Case reassigned' }));
    return { caseId: episode.id, writes };
  },
};

function isCaseManager(participant: CareTeamParticipant): boolean {
  return (participant.role ?? []).some((r) => r.coding?.some((c) => c.code === CASE_MANAGER_ROLE.coding?.[0]?.code));
}

/** The case note that says why the case moved (none without a text). */
function statusNote(input: PlanInput<unknown>, caseRecord: CaseRecord, note: { date: string; text: string | undefined; title: string }): PlannedWrite[] {
  if (note.text === undefined) return [];
  return [
    created(
      caseNote({
        id: input.ids.next('status-note'),
        caseRecord,
        type: 'social-work-note',
        text: note.text,
        date: input.now.toISOString(),
        author: authorOf(input.agent, caseRecord),
        context: [],
        period: { start: note.date },
        description: note.title,
      }),
    ),
  ];
}
