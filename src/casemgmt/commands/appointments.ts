/**
 * Scheduling: an Appointment of the case (supportingInformation → the EpisodeOfCare, so that
 * `Appointment?supporting-info=EpisodeOfCare/[id]` finds them; participants the client, the case
 * manager and whoever else takes part), booked, rescheduled, cancelled, missed (noshow) or
 * attended — which records the contact (Encounter, appointment → the Appointment, with its note
 * and service units) and makes the Appointment `fulfilled`. An EHR's scheduler reads them with
 * the standard searches: Appointment?patient=…&date=ge…&status=booked, Appointment?actor=….
 * See: https://hl7.org/fhir/R4/appointment.html (status state machine)
 */
import type { Appointment, AppointmentParticipant, ServiceRequest } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/outcomes';
import { withoutServerMeta } from '../../fhir/resource-body';
import { type CaseRecord, loadCase, readVersioned } from '../case-record';
import { type CaseCommand, created, updated } from '../command';
import { assertCommandAllowed } from '../lifecycle';
import {
  type BookAppointmentPayload,
  type CancelAppointmentPayload,
  type RecordAttendancePayload,
  type RecordNoShowPayload,
  type RescheduleAppointmentPayload,
  bookAppointmentSchema,
  cancelAppointmentSchema,
  recordAttendanceSchema,
  recordNoShowSchema,
  rescheduleAppointmentSchema,
} from '../schemas/appointments';
import { SERVICES, SERVICE_SYSTEM } from '../service-units';
import { CASE_MANAGEMENT_SYSTEM, WORKFLOW_EPISODE, coded, coding, idOf, localReference, ref } from '../vocabulary';
import { APPOINTMENT_CANCELLATION } from './wind-up';
import { CONTACT_DISPLAYS, contactWrites } from './contact';

/** From which statuses each change may be made. */
const FROM: Readonly<Record<string, readonly Appointment['status'][]>> = {
  reschedule: ['proposed', 'pending', 'booked'],
  cancel: ['proposed', 'pending', 'booked', 'waitlist'],
  'no-show': ['booked', 'pending'],
  attended: ['booked', 'arrived', 'checked-in', 'pending'],
};

export const bookAppointment: CaseCommand<BookAppointmentPayload> = {
  name: 'book-appointment',
  schema: bookAppointmentSchema,
  async plan({ services, payload, params, ids, now }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertCommandAllowed(caseRecord.resource, 'book-appointment', 'book an appointment');
    assertTimes(payload.start, payload.end);
    if (payload.intervention) await assertIntervention(services, caseRecord, payload.intervention);
    const others = payload.with ?? [localReference(caseRecord.resource.careManager)].filter((r): r is string => r !== undefined);
    const type = payload.type ?? 'office-visit';
    const service = payload.service ? SERVICES[payload.service] : undefined;
    const appointment: Appointment & { id: string } = {
      resourceType: 'Appointment',
      id: ids.next('appointment'),
      status: 'booked',
      serviceType: [
        coded(CASE_MANAGEMENT_SYSTEM, type, CONTACT_DISPLAYS[type]),
        ...(payload.service && service ? [{ coding: [coding(SERVICE_SYSTEM, payload.service, service.display)], text: service.display }] : []),
      ],
      ...(payload.description ? { description: payload.description } : {}),
      supportingInformation: [ref(`EpisodeOfCare/${caseRecord.resource.id}`)],
      start: payload.start,
      end: payload.end,
      minutesDuration: Math.round((Date.parse(payload.end) - Date.parse(payload.start)) / 60_000),
      created: now.toISOString().slice(0, 10),
      ...(payload.intervention ? { basedOn: [ref(payload.intervention)] } : {}),
      participant: [
        { actor: ref(caseRecord.client), required: 'required', status: 'accepted' },
        ...others.map((actor): AppointmentParticipant => ({ actor: ref(actor), required: actor.startsWith('Location/') ? 'information-only' : 'required', status: 'accepted' })),
      ],
    };
    return { caseId: caseRecord.resource.id, writes: [created(appointment)] };
  },
};

export const rescheduleAppointment: CaseCommand<RescheduleAppointmentPayload> = {
  name: 'reschedule-appointment',
  schema: rescheduleAppointmentSchema,
  async plan({ services, payload, params }) {
    const { caseRecord, appointment } = await caseAppointment(services, params, 'reschedule');
    assertCommandAllowed(caseRecord.resource, 'reschedule-appointment', 'reschedule an appointment');
    assertTimes(payload.start, payload.end);
    const a = appointment.resource;
    const moved: Appointment & { id: string } = {
      ...withoutServerMeta(a),
      status: 'booked',
      start: payload.start,
      end: payload.end,
      minutesDuration: Math.round((Date.parse(payload.end) - Date.parse(payload.start)) / 60_000),
      // The earlier time stays in the Appointment's history (vread); the comment says why it moved.
      comment: `Rescheduled from ${a.start ?? 'an unknown time'}: ${payload.reason}`,
    };
    return { caseId: caseRecord.resource.id, writes: [updated(moved, appointment.versionId)] };
  },
};

const CANCELLED_BY_CODE = { client: ['pat', 'Patient'], provider: ['prov', 'Provider'], other: ['other', 'Other'] } as const;

export const cancelAppointment: CaseCommand<CancelAppointmentPayload> = {
  name: 'cancel-appointment',
  schema: cancelAppointmentSchema,
  async plan({ services, payload, params }) {
    const { caseRecord, appointment } = await caseAppointment(services, params, 'cancel');
    const [code, display] = CANCELLED_BY_CODE[payload.by];
    const cancelled: Appointment & { id: string } = {
      ...withoutServerMeta(appointment.resource),
      status: 'cancelled',
      cancelationReason: coded(APPOINTMENT_CANCELLATION, code, display, payload.reason),
    };
    return { caseId: caseRecord.resource.id, writes: [updated(cancelled, appointment.versionId)] };
  },
};

export const recordNoShow: CaseCommand<RecordNoShowPayload> = {
  name: 'record-no-show',
  schema: recordNoShowSchema,
  async plan({ services, payload, params }) {
    const { caseRecord, appointment } = await caseAppointment(services, params, 'no-show');
    const a = appointment.resource;
    const missed: Appointment & { id: string } = {
      ...withoutServerMeta(a),
      status: 'noshow',
      participant: a.participant.map((p) => (localReference(p.actor) === caseRecord.client ? { ...p, status: 'declined' as const } : p)),
      ...(payload.note ? { comment: payload.note } : {}),
    };
    return { caseId: caseRecord.resource.id, writes: [updated(missed, appointment.versionId)] };
  },
};

export const recordAttendance: CaseCommand<RecordAttendancePayload> = {
  name: 'record-attendance',
  schema: recordAttendanceSchema,
  async plan(input) {
    const { services, payload, params } = input;
    const { caseRecord, appointment } = await caseAppointment(services, params, 'attended');
    const a = appointment.resource;
    const plannedType = a.serviceType?.flatMap((s) => s.coding ?? []).find((c) => c.system === CASE_MANAGEMENT_SYSTEM)?.code as RecordAttendancePayload['type'];
    const plannedService = a.serviceType?.flatMap((s) => s.coding ?? []).find((c) => c.system === SERVICE_SYSTEM)?.code as RecordAttendancePayload['service'];
    const start = payload.start ?? (a.start as string);
    const end = payload.end ?? a.end;
    const service = payload.service ?? plannedService;
    const intervention = payload.intervention ?? a.basedOn?.map((b) => localReference(b)).find((r) => r?.startsWith('ServiceRequest/'));
    const others = a.participant.map((p) => localReference(p.actor)).filter((r): r is string => r !== undefined && r !== caseRecord.client && /^(Practitioner|PractitionerRole|RelatedPerson)\//.test(r));
    const contact = await contactWrites(
      input,
      caseRecord,
      {
        ...payload,
        type: payload.type ?? plannedType ?? 'office-visit',
        start,
        ...(end ? { end } : {}),
        ...(service ? { service } : {}),
        ...(intervention ? { intervention } : {}),
        ...(others.length > 0 ? { participants: others.map((who) => ({ who })) } : {}),
      },
      { appointment: `Appointment/${a.id}` },
    );
    const fulfilled: Appointment & { id: string } = {
      ...withoutServerMeta(a),
      status: 'fulfilled',
      participant: a.participant.map((p) => ({ ...p, status: 'accepted' as const })),
    };
    return { caseId: caseRecord.resource.id, writes: [updated(fulfilled, appointment.versionId), ...contact] };
  },
};

/** The case and its appointment (404 when the appointment is not the case's); 409 from a status the change does not leave. */
async function caseAppointment(services: Parameters<typeof loadCase>[0], params: Readonly<Record<string, unknown>>, change: keyof typeof FROM) {
  const caseRecord = await loadCase(services, params.caseId as string);
  const id = params.appointmentId as string;
  const appointment = await readVersioned<Appointment>(services, 'Appointment', id);
  if (!appointment || !(appointment.resource.supportingInformation ?? []).some((s) => localReference(s) === `EpisodeOfCare/${caseRecord.resource.id}`)) {
    throw new FhirError('NOT_FOUND', `Case ${caseRecord.resource.id} has no appointment ${id} (Appointment/${id})`);
  }
  const allowed = FROM[change] as readonly string[];
  if (!allowed.includes(appointment.resource.status)) {
    throw new FhirError('CONFLICT', `Appointment/${id} is ${appointment.resource.status}: ${change} is recorded for an appointment that is ${allowed.join(', ')}`, { expression: ['Appointment.status'] });
  }
  return { caseRecord, appointment };
}

function assertTimes(start: string, end: string): void {
  if (!(Date.parse(end) > Date.parse(start))) {
    throw new FhirError('BUSINESS_RULE', `The end (${end}) must be after the start (${start})`, { expression: ['end'] });
  }
}

async function assertIntervention(services: Parameters<typeof loadCase>[0], caseRecord: CaseRecord, intervention: string): Promise<void> {
  const sr = await readVersioned<ServiceRequest>(services, 'ServiceRequest', idOf(intervention));
  if (!(sr?.resource.extension ?? []).some((e) => e.url === WORKFLOW_EPISODE && localReference(e.valueReference) === `EpisodeOfCare/${caseRecord.resource.id}`)) {
    throw new FhirError('BUSINESS_RULE', `${intervention} is not an intervention of case ${caseRecord.resource.id}`, { expression: ['intervention'] });
  }
}
