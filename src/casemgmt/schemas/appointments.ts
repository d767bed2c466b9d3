import { SERVICE_CODES, type ServiceCode } from '../service-units';
import { type JsonSchema, arrayOf, dateTime, enumOf, object, recordedBy, reference, text } from './common';
import { CONTACT_TYPES, type LogContactPayload, NOTE_TYPES, serviceUnitFields } from './log-contact';

const instant = (description: string): JsonSchema => ({ ...dateTime(description), pattern: 'T[0-9]{2}:[0-9]{2}' });

/** POST /cm/v1/cases/{caseId}/appointments — book an appointment for the case. */
export const bookAppointmentSchema: JsonSchema = object(
  {
    start: instant('When it starts: a date-time with a time zone'),
    end: instant('When it ends: a date-time with a time zone'),
    type: enumOf(CONTACT_TYPES, 'The kind of contact planned (default office-visit)'),
    service: enumOf(SERVICE_CODES, 'The service to be delivered (CodeSystem case-management-service)'),
    with: arrayOf(reference(['Practitioner', 'PractitionerRole', 'RelatedPerson', 'Location', 'HealthcareService'], 'A participant or place'), 'Who (besides the client) takes part, and where; default: the case manager', { maxItems: 20 }),
    description: text('What it is for, as the client is told', 1000),
    intervention: reference(['ServiceRequest'], 'The planned intervention it delivers (Appointment.basedOn)'),
    recordedBy,
  },
  { required: ['start', 'end'] },
);

/** POST /cm/v1/cases/{caseId}/appointments/{appointmentId}/reschedule */
export const rescheduleAppointmentSchema: JsonSchema = object(
  {
    start: instant('The new start: a date-time with a time zone'),
    end: instant('The new end: a date-time with a time zone'),
    reason: text('Why it moves', 1000),
    recordedBy,
  },
  { required: ['start', 'end', 'reason'] },
);

export const CANCELLED_BY = ['client', 'provider', 'other'] as const;

/** POST /cm/v1/cases/{caseId}/appointments/{appointmentId}/cancel */
export const cancelAppointmentSchema: JsonSchema = object(
  {
    by: enumOf(CANCELLED_BY, 'Who cancelled it (appointment-cancellation-reason pat, prov or other)'),
    reason: text('Why', 1000),
    recordedBy,
  },
  { required: ['by', 'reason'] },
);

/** POST /cm/v1/cases/{caseId}/appointments/{appointmentId}/no-show */
export const recordNoShowSchema: JsonSchema = object(
  {
    note: text('What was tried (a call, a letter)', 4000),
    recordedBy,
  },
  {},
);

/** POST /cm/v1/cases/{caseId}/appointments/{appointmentId}/attended — the contact it became. */
export const recordAttendanceSchema: JsonSchema = object(
  {
    ...serviceUnitFields,
    type: enumOf(CONTACT_TYPES, 'The kind of contact (default: the appointment’s)'),
    start: dateTime('When it actually started (default: the appointment’s start)'),
    end: dateTime('When it actually ended (default: the appointment’s end)'),
    setting: enumOf(['AMB', 'HH', 'FLD', 'VR'], 'Encounter class when the default for the type does not fit'),
    location: text('Where, in words', 512),
    note: text('The case note: a factual, concise summary', 100_000),
    noteType: enumOf(NOTE_TYPES, 'social-work-note (default) or progress-note'),
    recordedBy,
  },
  { required: ['note'] },
);

export interface BookAppointmentPayload {
  start: string;
  end: string;
  type?: LogContactPayload['type'];
  service?: ServiceCode;
  with?: string[];
  description?: string;
  intervention?: string;
  recordedBy?: string;
}

export interface RescheduleAppointmentPayload {
  start: string;
  end: string;
  reason: string;
  recordedBy?: string;
}

export interface CancelAppointmentPayload {
  by: (typeof CANCELLED_BY)[number];
  reason: string;
  recordedBy?: string;
}

export interface RecordNoShowPayload {
  note?: string;
  recordedBy?: string;
}

export type RecordAttendancePayload = Omit<LogContactPayload, 'type' | 'start' | 'participants'> & { type?: LogContactPayload['type']; start?: string };
