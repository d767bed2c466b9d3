/**
 * The case view, assembled from FHIR only — so what the FHIR API changes (a Task accepted by the
 * receiving agency, a Goal patched by an EHR) shows here. One search brings the case and
 * everything linked to it:
 *
 *   EpisodeOfCare?_id=<case>&_include=EpisodeOfCare:patient|team|condition
 *     &_revinclude=CarePlan|ServiceRequest|QuestionnaireResponse|Observation:episode-of-care
 *     &_revinclude=Encounter:episode-of-care&_revinclude=DocumentReference:encounter
 *     &_include:iterate=CarePlan:goal&_revinclude:iterate=Task:focus
 *     &_revinclude:iterate=Observation:derived-from
 *
 * and three follow-up searches read what belongs to the client rather than to one case: risk
 * assessments (newest first), flags and consents.
 */
import type {
  Appointment,
  CarePlan,
  Communication,
  CareTeam,
  Condition,
  Consent,
  DocumentReference,
  EpisodeOfCare,
  Encounter,
  Flag,
  Goal,
  Observation,
  Patient,
  QuestionnaireResponse,
  Reference,
  Resource,
  RiskAssessment,
  ServiceRequest,
  Task,
} from '@medplum/fhirtypes';
import { FhirError } from '../fhir/outcomes';
import type { FhirServices } from '../core/services';
import type { RequestContext } from '../core/context';
import { readOrUndefined, searchAll } from './case-record';
import { caseload, parseCaseloadQuery } from './caseload';
import { instrumentFor } from './instruments';
import { milestonesOf } from './plan-mapping';
import { achievementCode } from './progress';
import { CLOSING_NOTE_TITLE } from './commands/transition';
import { PHQ9_TOTAL, caseOutcome, latestPlan } from './outcomes';
import { currentRisk, flagReviewOf, flagsOpenFirst, isScoreDerived } from './safety';
import { CASE_MANAGEMENT_SYSTEM, PERTAINS_TO_GOAL, WORKFLOW_EPISODE, idOf, localReference, personName } from './vocabulary';

export const CASE_QUERY = (caseId: string): Record<string, string | string[]> => ({
  _id: caseId,
  _include: ['EpisodeOfCare:patient', 'EpisodeOfCare:team', 'EpisodeOfCare:condition'],
  _revinclude: [
    'CarePlan:episode-of-care',
    'ServiceRequest:episode-of-care',
    'QuestionnaireResponse:episode-of-care',
    'Observation:episode-of-care',
    'Encounter:episode-of-care',
    'DocumentReference:encounter',
    'Appointment:supporting-info',
  ],
  '_include:iterate': 'CarePlan:goal',
  '_revinclude:iterate': ['Task:focus', 'Observation:derived-from'],
});

const READ_TYPES = ['EpisodeOfCare', 'Patient', 'CareTeam', 'Condition', 'CarePlan', 'Goal', 'ServiceRequest', 'Task', 'QuestionnaireResponse', 'Observation', 'Encounter', 'DocumentReference', 'RiskAssessment', 'Flag', 'Consent', 'Appointment', 'Communication'];

type Display = string | undefined;

const text = (reference: Reference | undefined): Display => localReference(reference) ?? reference?.display ?? reference?.identifier?.value;
const conceptText = (c: { text?: string; coding?: { display?: string; code?: string }[] } | undefined): Display => c?.text ?? c?.coding?.[0]?.display ?? c?.coding?.[0]?.code;

export async function caseView(services: FhirServices, ctx: RequestContext, caseId: string) {
  assertAllowed(services, ctx);
  const found = await searchAll(services, 'EpisodeOfCare', CASE_QUERY(caseId));
  const episode = found.matches[0]?.resource as (EpisodeOfCare & { id: string }) | undefined;
  if (!episode) {
    throw new FhirError('NOT_FOUND', `There is no case ${caseId} (EpisodeOfCare/${caseId})`);
  }
  const all = [...found.matches, ...found.included].map((m) => m.resource);
  const byType = <T extends Resource>(type: string) => all.filter((r) => r.resourceType === type) as (T & { id: string })[];
  const clientRef = localReference(episode.patient) ?? '';
  const [risks, flags, consents, communications] = await Promise.all([
    searchAll(services, 'RiskAssessment', { subject: clientRef, _sort: '-date' }),
    searchAll(services, 'Flag', { patient: clientRef }),
    searchAll(services, 'Consent', { patient: clientRef }),
    searchAll(services, 'Communication', { subject: clientRef }),
  ]);
  const patient = byType<Patient>('Patient')[0];
  const plans = byType<CarePlan>('CarePlan');
  const goals = new Map(byType<Goal>('Goal').map((g) => [g.id, g]));
  const observations = byType<Observation>('Observation');
  const requests = byType<ServiceRequest>('ServiceRequest').filter((sr) => isOfCase(sr, caseId));
  const tasks = byType<Task>('Task');
  const notes = byType<DocumentReference>('DocumentReference');
  const encounters = byType<Encounter>('Encounter');
  const responses = byType<QuestionnaireResponse>('QuestionnaireResponse');
  const appointments = byType<Appointment>('Appointment')
    .filter((a) => (a.supportingInformation ?? []).some((s) => localReference(s) === `EpisodeOfCare/${caseId}`))
    .sort((a, b) => compareDates(a.start, b.start));
  const nowMs = services.now().getTime();
  const next = appointments.find((a) => ['proposed', 'pending', 'booked'].includes(a.status) && Date.parse(a.start ?? '') >= nowMs);
  // The plan in force: the active (or paused) one; on a closed case, the last one, so the view
  // still shows what the case worked on after closure.
  const closed = episode.status === 'finished' || episode.status === 'cancelled';
  const current = plans.filter((p) => p.status === 'active' || p.status === 'on-hold').sort(newestFirst)[0] ?? (closed ? latestPlan(plans) : undefined);
  const outcome = caseOutcome({
    episode,
    plans,
    goals,
    encounters: [],
    referrals: [],
    tasks: [],
    phq9: observations.filter((o) => o.code?.coding?.some((c) => c.system === 'http://loinc.org' && c.code === PHQ9_TOTAL)),
  });
  const evaluation = observations
    .filter((o) => o.code?.coding?.some((c) => c.system === CASE_MANAGEMENT_SYSTEM && c.code === 'case-evaluation') && o.status !== 'entered-in-error')
    .sort((a, b) => compareDates(b.effectiveDateTime, a.effectiveDateTime))[0];
  const closingNote = notes.filter((n) => n.description === CLOSING_NOTE_TITLE).sort((a, b) => compareDates(b.date, a.date))[0];

  return {
    id: episode.id,
    status: episode.status,
    opened: episode.period?.start,
    ...(episode.period?.end ? { closed: episode.period.end } : {}),
    statusHistory: (episode.statusHistory ?? []).map((h) => ({ status: h.status, start: h.period.start, ...(h.period.end ? { end: h.period.end } : {}) })),
    client: patient
      ? {
          id: patient.id,
          name: personName(patient.name?.[0]),
          identifiers: (patient.identifier ?? []).map((i) => ({ system: i.system, value: i.value })),
          gender: patient.gender,
          birthDate: patient.birthDate,
        }
      : { reference: text(episode.patient) },
    caseManager: text(episode.careManager),
    agency: text(episode.managingOrganization),
    team: byType<CareTeam>('CareTeam').flatMap((t) => (t.participant ?? []).map((p) => ({ member: text(p.member), role: conceptText(p.role?.[0]) }))),
    presentingProblems: byType<Condition>('Condition').map((c) => ({
      id: c.id,
      description: conceptText(c.code),
      category: c.category?.[0]?.coding?.[0]?.code,
      status: c.clinicalStatus?.coding?.[0]?.code,
    })),
    plan: current ? planView(current, goals, observations, requests) : null,
    planHistory: plans.sort(newestFirst).map((p) => ({
      id: p.id,
      status: p.status,
      title: p.title,
      period: p.period,
      created: p.created,
      ...(p.replaces ? { replaces: p.replaces.map((r) => text(r)) } : {}),
      ...(p.description ? { description: p.description } : {}),
      goals: (p.goal ?? []).map((g) => text(g)),
    })),
    referrals: requests
      .filter((sr) => sr.intent === 'order')
      .map((sr) => {
        const task = tasks.filter((t) => localReference(t.focus) === `ServiceRequest/${sr.id}`).sort((a, b) => ((a.meta?.lastUpdated ?? '') < (b.meta?.lastUpdated ?? '') ? 1 : -1))[0];
        return {
          id: sr.id,
          service: conceptText(sr.code),
          to: text(sr.performer?.[0]),
          reason: conceptText(sr.reasonCode?.[0]),
          priority: sr.priority,
          authored: sr.authoredOn,
          status: sr.status,
          task: task
            ? { id: task.id, status: task.status, ...(task.statusReason ? { reason: conceptText(task.statusReason) } : {}), owner: text(task.owner), lastModified: task.lastModified ?? task.meta?.lastUpdated }
            : null,
        };
      }),
    evaluation: {
      goals: { total: outcome.goals.total, achieved: outcome.goals.achieved },
      phq9: outcome.phq9,
      closure: closed ? { date: episode.period?.end ?? null, reason: closingNote ? noteView(closingNote).text ?? null : null } : null,
      recorded: evaluation
        ? {
            id: evaluation.id,
            date: evaluation.effectiveDateTime,
            outcome: evaluation.valueCodeableConcept?.coding?.[0]?.code,
            summary: evaluation.note?.[0]?.text,
          }
        : null,
    },
    nextAppointment: next ? appointmentView(next) : null,
    appointments: appointments.map(appointmentView),
    timeline: timeline({ encounters, notes, responses, observations, requests }),
    screenings: responses.sort((a, b) => compareDates(b.authored, a.authored)).map((qr) => screeningView(qr, observations)),
    risk: riskView(risks.matches.map((m) => m.resource as RiskAssessment & { id: string })),
    flags: flagsView(
      flags.matches.map((m) => m.resource as Flag & { id: string }),
      notes,
    ),
    consents: consents.matches.map((m) => {
      const c = m.resource as Consent & { id: string };
      return {
        id: c.id,
        status: c.status,
        category: conceptText(c.category?.[0]),
        date: c.dateTime,
        ...(c.provision?.period?.end ? { expires: c.provision.period.end } : {}),
        recipients: (c.provision?.actor ?? []).map((a) => text(a.reference)),
        purposes: (c.provision?.purpose ?? []).map((p) => p.code),
        policy: c.policy?.[0]?.uri ?? c.policyRule?.coding?.[0]?.code,
        ...(c.meta?.security ? { securityLabels: c.meta.security.map((s) => s.code) } : {}),
      };
    }),
    messages: messagesView(
      communications.matches.map((m) => m.resource as Communication & { id: string }),
      episode,
    ),
    fhir: { case: `EpisodeOfCare/${episode.id}`, client: clientRef },
    ...(found.truncated ? { warnings: ['The case has more linked resources than one read returns; some are left out'] } : {}),
  };
}

function planView(plan: CarePlan & { id: string }, goals: ReadonlyMap<string, Goal & { id: string }>, observations: readonly (Observation & { id: string })[], requests: readonly (ServiceRequest & { id: string })[]) {
  const inPlan = (plan.goal ?? []).map((g) => localReference(g)).filter((r): r is string => r?.startsWith('Goal/') ?? false).map((r) => r.slice(5));
  const objectiveIds = new Set(inPlan.flatMap((id) => milestonesOf(goals.get(id) ?? ({} as Goal)).map((r) => r.slice(5))));
  const activityIds = new Set((plan.activity ?? []).map((a) => localReference(a.reference)).filter((r): r is string => r !== undefined));
  const interventions = requests.filter((sr) => activityIds.has(`ServiceRequest/${sr.id}`));
  const interventionView = (sr: ServiceRequest & { id: string }) => ({
    id: sr.id,
    service: conceptText(sr.code),
    provider: text(sr.performer?.[0]),
    frequency: sr.occurrenceTiming?.code?.text,
    status: sr.status,
  });
  const goalOf = (sr: ServiceRequest) => localReference(sr.extension?.find((e) => e.url === PERTAINS_TO_GOAL)?.valueReference)?.slice(5);
  const statusOf = (g: Goal) => ({ lifecycleStatus: g.lifecycleStatus, achievementStatus: achievementCode(g), statusDate: g.statusDate });
  return {
    id: plan.id,
    title: plan.title,
    status: plan.status,
    period: plan.period,
    created: plan.created,
    ...(plan.replaces ? { replaces: plan.replaces.map((r) => text(r)) } : {}),
    goals: inPlan
      .filter((id) => !objectiveIds.has(id))
      .map((id) => goals.get(id))
      .filter((g): g is Goal & { id: string } => g !== undefined)
      .map((g) => ({
        id: g.id,
        description: g.description.text,
        ...(g.priority ? { priority: g.priority.coding?.[0]?.code } : {}),
        ...statusOf(g),
        objectives: milestonesOf(g)
          .map((r) => goals.get(r.slice(5)))
          .filter((o): o is Goal & { id: string } => o !== undefined && inPlan.includes(o.id))
          .map((o) => {
            const target = o.target?.[0];
            return {
              id: o.id,
              description: o.description.text,
              measure: conceptText(target?.measure),
              target: target?.detailQuantity
                ? { value: target.detailQuantity.value, unit: target.detailQuantity.unit, comparator: target.detailQuantity.comparator ?? '>=' }
                : { text: target?.detailString },
              due: target?.dueDate,
              ...statusOf(o),
              progress: progressOf(o, observations),
            };
          }),
        interventions: interventions.filter((sr) => goalOf(sr) === g.id).map(interventionView),
      })),
    otherInterventions: interventions.filter((sr) => !goalOf(sr) || !inPlan.includes(goalOf(sr) as string)).map(interventionView),
  };
}

/** The objective's measurements: its outcomeReference and the case's Observations focused on it, by date. */
function progressOf(objective: Goal & { id: string }, observations: readonly (Observation & { id: string })[]) {
  const outcomes = new Set((objective.outcomeReference ?? []).map((r) => localReference(r)));
  return observations
    .filter((o) => outcomes.has(`Observation/${o.id}`) || (o.focus ?? []).some((f) => localReference(f) === `Goal/${objective.id}`))
    .filter((o) => o.status !== 'entered-in-error')
    .sort((a, b) => compareDates(a.effectiveDateTime, b.effectiveDateTime))
    .map((o) => ({
      id: o.id,
      date: o.effectiveDateTime,
      ...(o.valueQuantity ? { value: o.valueQuantity.value, unit: o.valueQuantity.unit } : { text: o.valueString }),
      ...(o.note?.[0]?.text ? { note: o.note[0].text } : {}),
    }));
}

function screeningView(qr: QuestionnaireResponse & { id: string }, observations: readonly (Observation & { id: string })[]) {
  const score = observations.find((o) => (o.derivedFrom ?? []).some((d) => localReference(d) === `QuestionnaireResponse/${qr.id}`));
  return {
    id: qr.id,
    instrument: instrumentFor(qr.questionnaire)?.title ?? qr.questionnaire,
    authored: qr.authored,
    status: qr.status,
    ...(score ? { score: score.valueInteger, band: conceptText(score.interpretation?.[0]), scoreObservation: score.id } : {}),
  };
}

/**
 * The current risk (safety.ts): the case manager's latest judgement, raised — never lowered — by a
 * newer score; with the scores since the judgement and the earlier assessments.
 */
function riskView(assessments: readonly (RiskAssessment & { id: string })[]) {
  const all = assessments.filter((r) => r.status !== 'entered-in-error');
  const view = (r: RiskAssessment & { id: string }) => ({
    id: r.id,
    level: r.prediction?.[0]?.qualitativeRisk?.coding?.[0]?.code,
    assessed: r.occurrenceDateTime,
    method: conceptText(r.method),
    source: isScoreDerived(r) ? ('score' as const) : ('judgement' as const),
    ...(r.prediction?.[0]?.rationale ? { rationale: r.prediction[0].rationale } : {}),
  });
  const current = currentRisk(all);
  if (!current) return null;
  return {
    ...view(current.assessment),
    source: current.source,
    reviewNeeded: current.reviewNeeded,
    ...(current.judgement ? { judgement: view(current.judgement) } : {}),
    newerScores: current.newerScores.map(view),
    history: all.filter((r) => r.id !== current.assessment.id).slice(0, 10).map(view),
  };
}

/** Flags of the client, open first, each with its latest review (a case note whose context.related names it). */
function flagsView(flags: readonly (Flag & { id: string })[], notes: readonly (DocumentReference & { id: string })[]) {
  return flagsOpenFirst(flags).map((f) => {
    const reviews = notes
      .filter((n) => (n.context?.related ?? []).some((r) => localReference(r) === `Flag/${f.id}`))
      .sort((a, b) => compareDates(b.date, a.date));
    const review = reviews.map(flagReviewOf).find((r) => r !== undefined);
    return {
      id: f.id,
      status: f.status,
      alert: conceptText(f.code),
      category: f.category?.[0]?.coding?.[0]?.code,
      since: f.period?.start,
      ...(f.period?.end ? { until: f.period.end } : {}),
      ...(review ? { lastReview: review } : {}),
    };
  });
}

interface TimelineEntry {
  readonly date: string | undefined;
  readonly kind: string;
  readonly [key: string]: unknown;
}

/** Contacts (with their notes), notes and events, screenings, referrals and progress, oldest first. */
function timeline(args: {
  encounters: readonly (Encounter & { id: string })[];
  notes: readonly (DocumentReference & { id: string })[];
  responses: readonly (QuestionnaireResponse & { id: string })[];
  observations: readonly (Observation & { id: string })[];
  requests: readonly (ServiceRequest & { id: string })[];
}): TimelineEntry[] {
  const notesOf = (encounterId: string) => args.notes.filter((n) => (n.context?.encounter ?? []).some((e) => localReference(e) === `Encounter/${encounterId}`));
  const onContact = new Set(args.encounters.flatMap((e) => notesOf(e.id).map((n) => n.id)));
  const entries: TimelineEntry[] = [
    ...args.encounters.map((e) => ({
      date: e.period?.start,
      kind: 'contact',
      id: e.id,
      type: conceptText(e.type?.[0]),
      ...(e.type?.[1] ? { service: conceptText(e.type[1]) } : {}),
      ...(e.length?.value !== undefined ? { minutes: e.length.value } : {}),
      ...(e.appointment?.[0] ? { appointment: text(e.appointment[0]) } : {}),
      setting: e.class?.code,
      ...(e.period?.end ? { end: e.period.end } : {}),
      ...(e.location?.[0]?.location.display ? { location: e.location[0].location.display } : {}),
      participants: (e.participant ?? []).map((p) => text(p.individual)),
      notes: notesOf(e.id).map(noteView),
    })),
    ...args.notes
      .filter((n) => !onContact.has(n.id))
      .map((n) => {
        const event = n.category?.find((c) => c.coding?.some((x) => x.system === 'http://casebridge.org/fhir/CodeSystem/case-management'));
        const kind = event ? 'event' : n.type?.coding?.some((c) => c.code === '57133-1' || c.code === '18842-5') ? 'transition-summary' : 'note';
        return { date: n.context?.period?.start ?? n.date, kind, ...(event ? { category: event.coding?.[0]?.code } : {}), ...noteView(n) };
      }),
    ...args.responses.map((qr) => ({ date: qr.authored, kind: 'screening', id: qr.id, instrument: instrumentFor(qr.questionnaire)?.title ?? qr.questionnaire })),
    ...args.requests
      .filter((sr) => sr.intent === 'order')
      .map((sr) => ({ date: sr.authoredOn, kind: 'referral', id: sr.id, service: conceptText(sr.code), to: text(sr.performer?.[0]) })),
    ...args.observations
      .filter((o) => (o.focus ?? []).some((f) => localReference(f)?.startsWith('Goal/')))
      .map((o) => ({ date: o.effectiveDateTime, kind: 'progress', id: o.id, objective: text(o.focus?.[0]), ...(o.valueQuantity ? { value: o.valueQuantity.value } : { text: o.valueString }) })),
  ];
  return entries.sort((a, b) => compareDates(a.date, b.date));
}

/**
 * Messages between agencies about the client (Communication, docs/mapping.md) sent since the case
 * opened — post-transition messages included —, oldest first.
 */
function messagesView(communications: readonly (Communication & { id: string })[], episode: EpisodeOfCare) {
  const opened = episode.period?.start ?? '';
  return communications
    .filter((c) => c.status !== 'entered-in-error' && (c.sent ?? c.received ?? '').slice(0, 10) >= opened.slice(0, 10))
    .sort((a, b) => compareDates(a.sent ?? a.received, b.sent ?? b.received))
    .map((c) => ({
      id: c.id,
      status: c.status,
      sent: c.sent,
      ...(c.received ? { received: c.received } : {}),
      from: text(c.sender),
      to: (c.recipient ?? []).map((r) => text(r)).filter((r): r is string => r !== undefined),
      text: (c.payload ?? []).map((p) => p.contentString).filter((t): t is string => t !== undefined).join('\n\n'),
      attachments: (c.payload ?? []).map((p) => text(p.contentReference) ?? p.contentAttachment?.title).filter((r): r is string => r !== undefined),
      about: [...(c.basedOn ?? []), ...(c.about ?? []), ...(c.inResponseTo ?? [])].map((r) => text(r)).filter((r): r is string => r !== undefined),
    }));
}

function appointmentView(a: Appointment & { id: string }) {
  return {
    id: a.id,
    status: a.status,
    start: a.start,
    end: a.end,
    type: conceptText(a.serviceType?.[0]),
    ...(a.serviceType?.[1] ? { service: conceptText(a.serviceType[1]) } : {}),
    with: a.participant.map((p) => text(p.actor)).filter((r): r is string => r !== undefined && !r.startsWith('Patient/')),
    ...(a.description ? { description: a.description } : {}),
    ...(a.cancelationReason ? { cancellation: conceptText(a.cancelationReason) } : {}),
    ...(a.comment ? { comment: a.comment } : {}),
  };
}

function noteView(n: DocumentReference & { id: string }) {
  const attachment = n.content?.[0]?.attachment;
  const isText = attachment?.contentType?.startsWith('text/plain') && attachment.data !== undefined;
  return {
    id: n.id,
    type: conceptText(n.type),
    written: n.date,
    author: text(n.author?.[0]),
    ...(n.description ? { title: n.description } : {}),
    ...(isText ? { text: Buffer.from(attachment?.data as string, 'base64').toString('utf8') } : {}),
  };
}

function isOfCase(resource: { extension?: { url: string; valueReference?: Reference }[] }, caseId: string): boolean {
  return (resource.extension ?? []).some((e) => e.url === WORKFLOW_EPISODE && localReference(e.valueReference) === `EpisodeOfCare/${caseId}`);
}

function newestFirst(a: CarePlan, b: CarePlan): number {
  return compareDates(b.created ?? b.meta?.lastUpdated, a.created ?? a.meta?.lastUpdated);
}

/** FHIR dates of any precision, in time order; absent last. */
function compareDates(a: string | undefined, b: string | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return Date.parse(a) - Date.parse(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * GET /cm/v1/cases?caseManager=…&status=…&sort=…: a caseload (caseload.ts), or a client's cases
 * (`client`). An unknown client is 404.
 */
export async function caseList(services: FhirServices, ctx: RequestContext, query: Record<string, unknown>) {
  assertAllowed(services, ctx);
  const parsed = parseCaseloadQuery(query);
  const client = parsed.search.patient;
  if (client !== undefined && !(await readOrUndefined(services, 'Patient', idOf(client)))) {
    throw new FhirError('NOT_FOUND', `There is no client ${idOf(client)} (${client})`, { expression: ['client'] });
  }
  const { total, rows } = await caseload(services, parsed);
  const pages = Math.max(1, Math.ceil(total / parsed.count));
  const link = (page: number) => `/cm/v1/cases?${new URLSearchParams({ ...(query as Record<string, string>), page: String(page), count: String(parsed.count) }).toString()}`;
  return {
    total,
    page: parsed.page,
    pages,
    count: parsed.count,
    sort: parsed.sort,
    ...(client !== undefined ? { client: idOf(client) } : {}),
    fhirSearch: `EpisodeOfCare?${new URLSearchParams(parsed.search).toString()}`,
    links: { self: link(parsed.page), ...(parsed.page < pages ? { next: link(parsed.page + 1) } : {}), ...(parsed.page > 1 ? { previous: link(Math.min(parsed.page - 1, pages)) } : {}) },
    cases: rows,
  };
}

/** The view reads many types: the caller must be allowed to search each (deny by default). */
export function assertAllowed(services: FhirServices, ctx: RequestContext): void {
  const denied = READ_TYPES.filter((resourceType) => !services.access.allows(ctx.caller, { interaction: 'search-type', resourceType }));
  if (denied.length > 0) {
    throw new FhirError('FORBIDDEN', `Not allowed: reading a case needs search access to ${denied.join(', ')}`);
  }
}
