/**
 * Contacts and notes (CASE-MANAGEMENT-FHIR.md §5): a contact is an Encounter (cb-contact: class
 * HH home, AMB office, FLD field, VR phone or video; type from CodeSystem case-management;
 * episodeOfCare → the case) and its note a DocumentReference (cb-case-note: LOINC 28656-7 or
 * 11506-3, category clinical-note, the text as a text/plain attachment, context.encounter → the
 * contact and the case). A significant event is a case note with the event's category (the
 * EventType slice), and a safety Flag (cb-risk-flag, flag-detail → the note) when it is a safety
 * concern. Both may be recorded on a closed case: post-transition follow-up is part of the work.
 */
import type { DocumentReference, Encounter, Reference } from '@medplum/fhirtypes';
import type { PlannedWrite } from '../../store/repository';
import { type CaseRecord, loadCase } from '../case-record';
import { type CaseCommand, created } from '../command';
import { type LogContactPayload, logContactSchema } from '../schemas/log-contact';
import { type RecordSignificantEventPayload, recordSignificantEventSchema } from '../schemas/record-significant-event';
import { CASE_MANAGEMENT_SYSTEM, SYSTEMS, claiming, coded, coding, ref, safetyFlag } from '../vocabulary';

const CONTACT_DISPLAYS: Record<LogContactPayload['type'], string> = {
  intake: 'Intake',
  'office-visit': 'Office visit',
  'home-visit': 'Home visit',
  'phone-call': 'Telephone contact',
  'video-visit': 'Video visit',
  outreach: 'Outreach contact',
  'crisis-contact': 'Crisis contact',
  'collateral-contact': 'Collateral contact',
};

/** Encounter class by contact type (v3 ActCode): where the contact took place. */
export const CONTACT_CLASS: Record<LogContactPayload['type'], 'AMB' | 'HH' | 'FLD' | 'VR'> = {
  intake: 'AMB',
  'office-visit': 'AMB',
  'home-visit': 'HH',
  'phone-call': 'VR',
  'video-visit': 'VR',
  outreach: 'FLD',
  'crisis-contact': 'FLD',
  'collateral-contact': 'AMB',
};
const CLASS_DISPLAYS = { AMB: 'ambulatory', HH: 'home health', FLD: 'field', VR: 'virtual' } as const;

const NOTE_TYPES = {
  'social-work-note': coded(SYSTEMS.loinc, '28656-7', 'Social worker Progress note'),
  'progress-note': coded(SYSTEMS.loinc, '11506-3', 'Progress note'),
} as const;

const EVENT_DISPLAYS: Record<RecordSignificantEventPayload['category'], string> = {
  crisis: 'Crisis',
  hospitalization: 'Hospitalization',
  'mandated-report': 'Mandated report',
  'legal-involvement': 'Legal involvement',
  'housing-loss': 'Housing loss',
};

export const logContact: CaseCommand<LogContactPayload> = {
  name: 'log-contact',
  schema: logContactSchema,
  async plan({ services, payload, params, ids, now, agent }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    const setting = payload.setting ?? CONTACT_CLASS[payload.type];
    const period = { start: payload.start, ...(payload.end ? { end: payload.end } : {}) };
    const encounter: Encounter & { id: string } = {
      resourceType: 'Encounter',
      id: ids.next('contact'),
      ...claiming('cb-contact'),
      status: 'finished',
      class: { system: SYSTEMS.actCode, code: setting, display: CLASS_DISPLAYS[setting] },
      type: [coded(CASE_MANAGEMENT_SYSTEM, payload.type, CONTACT_DISPLAYS[payload.type])],
      subject: ref(caseRecord.client),
      episodeOfCare: [ref(`EpisodeOfCare/${caseRecord.resource.id}`)],
      ...(payload.participants
        ? {
            participant: payload.participants.map((p) => ({
              ...(p.role ? { type: [{ text: p.role }] } : {}),
              individual: p.who ? ref(p.who, p.name) : { display: p.name as string },
            })),
          }
        : {}),
      period,
      ...(payload.location ? { location: [{ location: { display: payload.location } }] } : {}),
      ...(caseRecord.resource.managingOrganization ? { serviceProvider: caseRecord.resource.managingOrganization } : {}),
    };
    const note = caseNote({
      id: ids.next('note'),
      caseRecord,
      type: payload.noteType ?? 'social-work-note',
      text: payload.note,
      date: now.toISOString(),
      author: authorOf(agent, caseRecord),
      context: [`Encounter/${encounter.id}`],
      period,
      description: `${CONTACT_DISPLAYS[payload.type]} note`,
    });
    return { caseId: caseRecord.resource.id, writes: [created(encounter), created(note)] };
  },
};

export const recordSignificantEvent: CaseCommand<RecordSignificantEventPayload> = {
  name: 'record-significant-event',
  schema: recordSignificantEventSchema,
  async plan({ services, payload, params, ids, now, agent }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    const author = authorOf(agent, caseRecord);
    const display = EVENT_DISPLAYS[payload.category];
    const note = caseNote({
      id: ids.next('event'),
      caseRecord,
      type: 'social-work-note',
      text: payload.note,
      date: now.toISOString(),
      author,
      context: payload.contact ? [payload.contact] : [],
      period: { start: payload.occurred },
      description: `Significant event: ${display}`,
      event: coded(CASE_MANAGEMENT_SYSTEM, payload.category, display),
    });
    const writes: PlannedWrite[] = [created(note)];
    if (payload.safetyConcern) {
      const firstLine = payload.note.split('\n')[0]?.slice(0, 200) ?? '';
      const flag = safetyFlag({
        id: ids.next('event-flag'),
        detail: `DocumentReference/${note.id}`,
        code: { coding: [coding(CASE_MANAGEMENT_SYSTEM, payload.category, display)], text: payload.alert ?? `${display}: ${firstLine}` },
        subject: caseRecord.client,
        start: payload.occurred,
        ...(author.reference && !author.reference.startsWith('CareTeam/') ? { author } : {}),
      });
      writes.push(created(flag));
    }
    return { caseId: caseRecord.resource.id, writes };
  },
};

/** The author of a note: the case manager who records it, else the case's care manager. */
export function authorOf(agent: Reference<never>, caseRecord: CaseRecord): Reference<never> {
  return agent.reference ? agent : ((caseRecord.resource.careManager ?? caseRecord.resource.managingOrganization) as Reference<never>);
}

/** A cb-case-note: the text as a UTF-8 attachment, its context the given resources and the case. */
export function caseNote(args: {
  id: string;
  caseRecord: CaseRecord;
  type: keyof typeof NOTE_TYPES;
  text: string;
  date: string;
  author: Reference<never>;
  context: readonly string[];
  period: { start: string; end?: string };
  description: string;
  event?: ReturnType<typeof coded>;
  /** What the note is about beside the case (context.related), e.g. the Flag a review settles. */
  related?: readonly string[];
}): DocumentReference & { id: string } {
  return {
    resourceType: 'DocumentReference',
    id: args.id,
    ...claiming('cb-case-note'),
    status: 'current',
    docStatus: 'final',
    type: NOTE_TYPES[args.type],
    category: [coded(SYSTEMS.usCoreDocumentCategory, 'clinical-note', 'Clinical Note'), ...(args.event ? [args.event] : [])],
    subject: ref(args.caseRecord.client),
    date: args.date,
    author: [args.author],
    description: args.description,
    content: [{ attachment: { contentType: 'text/plain; charset=utf-8', data: Buffer.from(args.text, 'utf8').toString('base64'), title: args.description } }],
    context: {
      encounter: [...args.context.map((r) => ref(r)), ref(`EpisodeOfCare/${args.caseRecord.resource.id}`)],
      period: args.period,
      ...(args.related && args.related.length > 0 ? { related: args.related.map((r) => ref(r)) } : {}),
    },
  };
}
