import { type JsonSchema, date, enumOf, object, recordedBy, reference, text } from './common';

export const STATUS_MOVES = ['waitlist', 'active', 'onhold', 'cancelled'] as const;
const WITH_REASON = ['onhold', 'cancelled'] as const;

/** POST /cm/v1/cases/{caseId}/status — put on the waitlist, activate, hold, resume or cancel the case. */
export const changeCaseStatusSchema: JsonSchema = object(
  {
    status: enumOf(STATUS_MOVES, 'The new status: waitlist, active (activate a planned or waitlisted case, or resume one on hold), onhold, cancelled (a case that never started)'),
    date: date('The day it changes (default: today)'),
    reason: text('Why (required for onhold and cancelled)', 2000),
    recordedBy,
  },
  {
    required: ['status'],
    allOf: [
      {
        if: { type: 'object', properties: { status: { enum: [...WITH_REASON] } }, required: ['status'] },
        then: { type: 'object', properties: { reason: true }, required: ['reason'] },
      },
    ],
  },
);

/** POST /cm/v1/cases/{caseId}/reopen — a finished or cancelled case becomes active again. */
export const reopenCaseSchema: JsonSchema = object(
  {
    date: date('The day it reopens (default: today)'),
    reason: text('Why the case reopens', 2000),
    recordedBy,
  },
  { required: ['reason'] },
);

/** POST /cm/v1/cases/{caseId}/reassign — another case manager takes the case. */
export const reassignCaseSchema: JsonSchema = object(
  {
    caseManager: reference(['PractitionerRole', 'Practitioner'], 'The new case manager'),
    date: date('The day they take over (default: today)'),
    reason: text('Why, e.g. "Caseload balancing"', 2000),
    recordedBy,
  },
  { required: ['caseManager', 'reason'] },
);

export interface ChangeCaseStatusPayload {
  status: (typeof STATUS_MOVES)[number];
  date?: string;
  reason?: string;
  recordedBy?: string;
}

export interface ReopenCasePayload {
  date?: string;
  reason: string;
  recordedBy?: string;
}

export interface ReassignCasePayload {
  caseManager: string;
  date?: string;
  reason: string;
  recordedBy?: string;
}
