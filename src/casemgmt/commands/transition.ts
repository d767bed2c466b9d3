/**
 * Transitions: transfer and close. Both finish the case — EpisodeOfCare `finished`, period.end,
 * the open statusHistory entry ended and a `finished` entry added — and wind up what belongs to
 * it (wind-up.ts: plan, goals, interventions, CareTeam, open referrals, future appointments). A
 * transfer also refers the client to the receiving agency (ServiceRequest cb-referral + Task
 * cb-referral-task, as make-referral does) with a transition summary (DocumentReference, LOINC
 * 57133-1 Referral note or 18842-5 Discharge summary; not a cb-case-note) as the Task's input.
 * Both are moves of the case's state machine (lifecycle.ts): from a case that is not active or on
 * hold they are refused (422 naming the moves allowed) and nothing is written.
 */
import type { DocumentReference } from '@medplum/fhirtypes';
import { loadCase } from '../case-record';
import { type CaseCommand, created } from '../command';
import { assertMove } from '../lifecycle';
import { type CloseCasePayload, type TransferCasePayload, closeCaseSchema, transferCaseSchema } from '../schemas/transition';
import { SYSTEMS, coded, ref, today } from '../vocabulary';
import { authorOf, caseNote } from './contact';

/** The description of the case note that keeps the reason for closure. */
export const CLOSING_NOTE_TITLE = 'Case closed';
import { referralResources } from './referral';
import { closingWrites } from './wind-up';

export const SUMMARY_TYPES = {
  'referral-note': coded(SYSTEMS.loinc, '57133-1', 'Referral note'),
  'discharge-summary': coded(SYSTEMS.loinc, '18842-5', 'Discharge summary'),
} as const;

export const closeCase: CaseCommand<CloseCasePayload> = {
  name: 'close-case',
  schema: closeCaseSchema,
  async plan({ services, payload, params, now, ids, agent }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertMove(caseRecord.resource, 'finished', 'close-case');
    const date = payload.date ?? today(now);
    const writes = await closingWrites({ services, caseRecord, status: 'finished', date, why: `Case closed: ${payload.reason}`, keepReferrals: new Set(payload.keepReferrals ?? []) });
    // The reason for closure, kept for the evaluation (EpisodeOfCare has no element for it).
    writes.push(
      created(
        caseNote({
          id: ids.next('closing-note'),
          caseRecord,
          type: 'social-work-note',
          text: payload.reason,
          date: now.toISOString(),
          author: authorOf(agent, caseRecord),
          context: [],
          period: { start: date },
          description: CLOSING_NOTE_TITLE,
        }),
      ),
    );
    return { caseId: caseRecord.resource.id, writes };
  },
};

export const transferCase: CaseCommand<TransferCasePayload> = {
  name: 'transfer-case',
  schema: transferCaseSchema,
  async plan({ services, payload, params, ids, now, agent }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertMove(caseRecord.resource, 'finished', 'transfer-case');
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
    const why = `Case transferred to ${payload.to}: ${payload.reason}`;
    const finishing = await closingWrites({ services, caseRecord, status: 'finished', date, why, keepReferrals: new Set(payload.keepReferrals ?? []) });
    return { caseId: caseRecord.resource.id, writes: [created(summary), created(referral), created(task), ...finishing] };
  },
};
