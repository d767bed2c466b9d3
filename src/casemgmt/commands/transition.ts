/**
 * Transitions: transfer and close. Both finish the case — EpisodeOfCare `finished`, period.end,
 * the open statusHistory entry ended and a `finished` entry added — and wind up its plan: the
 * active plan becomes `completed` (it ran its course; compare a revision, which revokes), its
 * open goals and objectives are completed when achieved and otherwise `cancelled` with the
 * reason in statusReason, its active interventions `completed`. A transfer also refers the client
 * to the receiving agency (ServiceRequest cb-referral + Task cb-referral-task, as make-referral
 * does) with a transition summary (DocumentReference, LOINC 57133-1 Referral note or 18842-5
 * Discharge summary; not a cb-case-note) as the Task's input. On a case that is already
 * finished or cancelled both are refused (409) and nothing is written.
 */
import type { DocumentReference, EpisodeOfCare, Goal, ServiceRequest } from '@medplum/fhirtypes';
import type { FhirServices } from '../../core/services';
import type { PlannedWrite } from '../../store/repository';
import { type CaseRecord, activePlan, assertOpen, loadCase, readVersioned } from '../case-record';
import { withoutServerMeta } from '../../fhir/resource-body';
import { type CaseCommand, created, updated } from '../command';
import { achievementCode } from '../progress';
import { type CloseCasePayload, type TransferCasePayload, closeCaseSchema, transferCaseSchema } from '../schemas/transition';
import { SYSTEMS, coded, idOf, localReference, ref, today } from '../vocabulary';
import { authorOf } from './contact';
import { referralResources } from './referral';

export const SUMMARY_TYPES = {
  'referral-note': coded(SYSTEMS.loinc, '57133-1', 'Referral note'),
  'discharge-summary': coded(SYSTEMS.loinc, '18842-5', 'Discharge summary'),
} as const;

export const closeCase: CaseCommand<CloseCasePayload> = {
  name: 'close-case',
  schema: closeCaseSchema,
  async plan({ services, payload, params, now }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertOpen(caseRecord, 'close it again');
    const date = payload.date ?? today(now);
    return { caseId: caseRecord.resource.id, writes: await finishCase({ services, caseRecord, date, why: `Case closed: ${payload.reason}` }) };
  },
};

export const transferCase: CaseCommand<TransferCasePayload> = {
  name: 'transfer-case',
  schema: transferCaseSchema,
  async plan({ services, payload, params, ids, now, agent }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertOpen(caseRecord, 'transfer it');
    const date = payload.date ?? today(now);
    const summary: DocumentReference & { id: string } = {
      resourceType: 'DocumentReference',
      id: ids.next('transition-summary'),
      status: 'current',
      docStatus: 'final',
      type: SUMMARY_TYPES[payload.summaryType ?? 'referral-note'],
      category: [coded(SYSTEMS.usCoreDocumentCategory, 'clinical-note', 'Clinical Note')],
      subject: ref(caseRecord.client),
      date: now.toISOString(),
      author: [authorOf(agent, caseRecord)],
      description: `Transition summary: transfer to ${payload.to}`,
      content: [{ attachment: { contentType: 'text/plain; charset=utf-8', data: Buffer.from(payload.summary, 'utf8').toString('base64'), title: 'Transition summary' } }],
      context: { encounter: [ref(`EpisodeOfCare/${caseRecord.resource.id}`)], period: { ...(caseRecord.resource.period?.start ? { start: caseRecord.resource.period.start } : {}), end: date } },
    };
    const [referral, task] = referralResources({
      caseRecord,
      service: payload.service ?? { text: 'Transfer of case management' },
      to: payload.to,
      reason: payload.reason,
      ...(payload.priority ? { priority: payload.priority } : {}),
      ...(payload.consent ? { consent: payload.consent } : {}),
      ...(payload.requestedBy ? { requestedBy: payload.requestedBy } : {}),
      authored: now.toISOString(),
      ids: { referral: ids.next('transfer'), task: ids.next('transfer-task') },
      attachments: [`DocumentReference/${summary.id}`],
    });
    const finishing = await finishCase({ services, caseRecord, date, why: `Case transferred to ${payload.to}: ${payload.reason}` });
    return { caseId: caseRecord.resource.id, writes: [created(summary), created(referral), created(task), ...finishing] };
  },
};

/** The case finished, its active plan completed and wound up. */
async function finishCase(args: { services: FhirServices; caseRecord: CaseRecord; date: string; why: string }): Promise<PlannedWrite[]> {
  const { services, caseRecord, date, why } = args;
  const episode = withoutServerMeta(caseRecord.resource);
  const start = episode.period?.start;
  const end = start !== undefined && start > date ? start : date;
  const history = (episode.statusHistory ?? []).map((h) => (h.period.end === undefined ? { ...h, period: { ...h.period, end } } : h));
  const finished: EpisodeOfCare & { id: string } = {
    ...episode,
    status: 'finished',
    statusHistory: [...history, { status: 'finished', period: { start: end } }],
    period: { ...episode.period, end },
  };
  const writes: PlannedWrite[] = [updated(finished, caseRecord.versionId)];
  const plan = await activePlan(services, caseRecord.resource.id);
  if (!plan) return writes;
  const old = withoutServerMeta(plan.resource);
  writes.push(updated({ ...old, status: 'completed', period: { ...old.period, end: old.period?.start && old.period.start > end ? old.period.start : end } }, plan.versionId));
  for (const { resource, versionId } of plan.goals.values()) {
    if (['completed', 'cancelled', 'entered-in-error', 'rejected'].includes(resource.lifecycleStatus)) continue;
    const next: Goal & { id: string } =
      achievementCode(resource) === 'achieved'
        ? { ...withoutServerMeta(resource), lifecycleStatus: 'completed', statusDate: end }
        : { ...withoutServerMeta(resource), lifecycleStatus: 'cancelled', statusDate: end, statusReason: why };
    writes.push(updated(next, versionId));
  }
  for (const activity of plan.resource.activity ?? []) {
    const reference = localReference(activity.reference);
    if (!reference?.startsWith('ServiceRequest/')) continue;
    const sr = await readVersioned<ServiceRequest>(services, 'ServiceRequest', idOf(reference));
    if (sr && (sr.resource.status === 'active' || sr.resource.status === 'on-hold')) {
      writes.push(updated({ ...withoutServerMeta(sr.resource), status: 'completed' }, sr.versionId));
    }
  }
  return writes;
}
