/**
 * Contacts and notes (CASE-MANAGEMENT-FHIR.md §5): a contact is an Encounter (cb-contact: class
 * HH home, AMB office, FLD field, VR phone or video; type from CodeSystem case-management;
 * episodeOfCare → the case) and its note a DocumentReference (cb-case-note: LOINC 28656-7 or
 * 11506-3, category clinical-note, the text as a text/plain attachment, context.encounter → the
 * contact and the case). A significant event is a case note with the event's category (the
 * EventType slice), and a safety Flag (cb-risk-flag, flag-detail → the note) when it is a safety
 * concern. Both may be recorded on a closed case: post-transition follow-up is part of the work.
 */
import type { ChargeItem, CodeableConcept, Coverage, DocumentReference, Encounter, Reference, ServiceRequest } from '@medplum/fhirtypes';
import type { FhirServices } from '../../core/services';
import { FhirError } from '../../fhir/outcomes';
import type { PlannedWrite } from '../../store/repository';
import { type CaseRecord, loadCase, readVersioned } from '../case-record';
import { type CaseCommand, type PlanInput, created } from '../command';
import { HCPCS_SYSTEM, SERVICES, SERVICE_SYSTEM, type ServiceDefinition, UNIT_MINUTES, minutesBetween, unitsFor } from '../service-units';
import { type LogContactPayload, logContactSchema } from '../schemas/log-contact';
import { type RecordSignificantEventPayload, recordSignificantEventSchema } from '../schemas/record-significant-event';
import { CASE_MANAGEMENT_SYSTEM, PROGRAMMES, type Programme, SYSTEMS, WORKFLOW_EPISODE, claiming, coded, coding, idOf, localReference, ref, safetyFlag } from '../vocabulary';

export const CONTACT_DISPLAYS: Record<LogContactPayload['type'], string> = {
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
  async plan(input) {
    const caseRecord = await loadCase(input.services, input.params.caseId as string);
    return { caseId: caseRecord.resource.id, writes: await contactWrites(input, caseRecord, input.payload) };
  },
};

/**
 * The writes of a contact: the Encounter (with its service, minutes, programme and the
 * intervention it delivers), its case note, and — when the service is billable and the minutes
 * make at least one unit — a ChargeItem (service-units.ts). `appointment`: the Appointment it
 * fulfils (Encounter.appointment).
 */
export async function contactWrites(
  input: PlanInput<unknown>,
  caseRecord: CaseRecord,
  payload: LogContactPayload,
  options: { appointment?: string; at?: string } = {},
): Promise<PlannedWrite[]> {
  const { services, ids, now, agent } = input;
  const at = options.at ?? '';
  const setting = payload.setting ?? CONTACT_CLASS[payload.type];
  const period = { start: payload.start, ...(payload.end ? { end: payload.end } : {}) };
  const billing = await serviceUnits(services, caseRecord, payload, at);
  const encounter: Encounter & { id: string } = {
    resourceType: 'Encounter',
    id: ids.next('contact'),
    ...claiming('cb-contact'),
    status: 'finished',
    class: { system: SYSTEMS.actCode, code: setting, display: CLASS_DISPLAYS[setting] },
    type: [coded(CASE_MANAGEMENT_SYSTEM, payload.type, CONTACT_DISPLAYS[payload.type]), ...(billing && payload.service ? [billing.serviceConcept] : [])],
    ...(billing?.programme ? { serviceType: billing.programme } : {}),
    subject: ref(caseRecord.client),
    episodeOfCare: [ref(`EpisodeOfCare/${caseRecord.resource.id}`)],
    ...(payload.intervention ? { basedOn: [ref(payload.intervention)] } : {}),
    ...(payload.participants
      ? {
          participant: payload.participants.map((p) => ({
            ...(p.role ? { type: [{ text: p.role }] } : {}),
            individual: p.who ? ref(p.who, p.name) : { display: p.name as string },
          })),
        }
      : {}),
    ...(options.appointment ? { appointment: [ref(options.appointment)] } : {}),
    period,
    ...(billing?.minutes !== undefined ? { length: { value: billing.minutes, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' } } : {}),
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
  const writes: PlannedWrite[] = [created(encounter), created(note)];
  if (billing?.hcpcs && billing.units > 0) {
    const performer = payload.recordedBy ?? localReference(caseRecord.resource.careManager);
    const charge: ChargeItem & { id: string } = {
      resourceType: 'ChargeItem',
      id: ids.next('charge'),
      status: 'billable',
      code: billing.serviceConcept,
      subject: ref(caseRecord.client),
      context: ref(`Encounter/${encounter.id}`),
      occurrencePeriod: period,
      ...(performer ? { performer: [{ actor: ref(performer) }] } : {}),
      ...(caseRecord.resource.managingOrganization ? { performingOrganization: caseRecord.resource.managingOrganization } : {}),
      quantity: { value: billing.units, unit: `${UNIT_MINUTES}-minute unit` },
      enteredDate: now.toISOString(),
      ...(payload.recordedBy ? { enterer: ref(payload.recordedBy) } : {}),
      supportingInformation: [...(payload.coverage ? [ref(payload.coverage)] : []), ...(payload.intervention ? [ref(payload.intervention)] : []), ref(`DocumentReference/${note.id}`)],
      ...(billing.programme ? { note: [{ text: `Programme: ${billing.programme.coding?.[0]?.display ?? ''}; ${billing.minutes} minutes = ${billing.units} unit(s) (15-minute units, 8-minute midpoint)` }] } : {}),
    };
    writes.push(created(charge));
  }
  return writes;
}

interface Billing {
  readonly serviceConcept: CodeableConcept;
  readonly hcpcs: boolean;
  readonly minutes: number | undefined;
  readonly units: number;
  readonly programme: CodeableConcept | undefined;
}

/** The service, its minutes and units; checks that the coverage and the intervention belong to the client and the case (422). */
async function serviceUnits(services: FhirServices, caseRecord: CaseRecord, payload: LogContactPayload, at: string): Promise<Billing | undefined> {
  if (payload.coverage) {
    const coverage = await readVersioned<Coverage>(services, 'Coverage', idOf(payload.coverage));
    if (!coverage || localReference(coverage.resource.beneficiary) !== caseRecord.client) {
      throw new FhirError('BUSINESS_RULE', `${payload.coverage} is not a coverage of the client (${caseRecord.client})`, { expression: [`${at}coverage`] });
    }
    if (coverage.resource.status !== 'active') {
      throw new FhirError('BUSINESS_RULE', `${payload.coverage} is ${coverage.resource.status}: a contact is funded by an active coverage`, { expression: [`${at}coverage`] });
    }
  }
  if (payload.intervention) {
    const sr = await readVersioned<ServiceRequest>(services, 'ServiceRequest', idOf(payload.intervention));
    const ofCase = (sr?.resource.extension ?? []).some((e) => e.url === WORKFLOW_EPISODE && localReference(e.valueReference) === `EpisodeOfCare/${caseRecord.resource.id}`);
    if (!sr || !ofCase) {
      throw new FhirError('BUSINESS_RULE', `${payload.intervention} is not an intervention of case ${caseRecord.resource.id}`, { expression: [`${at}intervention`] });
    }
  }
  const programmeCode = payload.programme ?? caseProgramme(caseRecord);
  const programme = programmeCode ? coded(CASE_MANAGEMENT_SYSTEM, programmeCode, PROGRAMMES[programmeCode]) : undefined;
  if (!payload.service) return programme ? { serviceConcept: {}, hcpcs: false, minutes: minutesBetween(payload.start, payload.end), units: 0, programme } : undefined;
  const definition: ServiceDefinition = SERVICES[payload.service];
  const minutes = minutesBetween(payload.start, payload.end);
  if (minutes === undefined || minutes <= 0) {
    throw new FhirError('BUSINESS_RULE', 'A contact with a service needs a start and an end with times, the end after the start: its units come from the minutes', { expression: [`${at}end`] });
  }
  return {
    serviceConcept: {
      coding: [coding(SERVICE_SYSTEM, payload.service, definition.display), ...(definition.hcpcs ? [coding(HCPCS_SYSTEM, definition.hcpcs.code, definition.hcpcs.display)] : [])],
      text: definition.display,
    },
    hcpcs: definition.hcpcs !== undefined,
    minutes,
    units: unitsFor(minutes),
    programme,
  };
}

/** The programme the case is enrolled in (EpisodeOfCare.type), if any. */
function caseProgramme(caseRecord: CaseRecord): Programme | undefined {
  const codes = (caseRecord.resource.type ?? []).flatMap((t) => t.coding ?? []).filter((c) => c.system === CASE_MANAGEMENT_SYSTEM).map((c) => c.code);
  return codes.find((c): c is Programme => c !== undefined && c in PROGRAMMES);
}

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
