import { type JsonSchema, concept, dateTime, enumOf, object, recordedBy, reference, text } from './common';

export const REFERRAL_PRIORITIES = ['routine', 'urgent', 'asap', 'stat'] as const;

/** POST /cm/v1/cases/{caseId}/referrals — refer the client to another organization. */
export const makeReferralSchema: JsonSchema = object(
  {
    service: concept('The service asked for, e.g. "Housing search assistance"'),
    to: reference(['Organization', 'HealthcareService'], 'The receiving organization'),
    reason: text('Why the client is referred', 2000),
    priority: enumOf(REFERRAL_PRIORITIES, 'routine (default), urgent, asap or stat'),
    consent: reference(['Consent'], 'The client’s consent to share their information with the receiving organization'),
    goal: reference(['Goal'], 'The goal of the service plan the referral serves'),
    requestedBy: reference(['PractitionerRole', 'Organization'], 'Who requests the service (default: the case manager when a PractitionerRole, else the agency)'),
    authored: dateTime('When the referral is made (default: now)'),
    note: text('A note for the receiving organization', 4000),
    recordedBy,
  },
  { required: ['service', 'to', 'reason'] },
);

export interface MakeReferralPayload {
  service: { text: string; code?: { system: string; code: string; display?: string } };
  to: string;
  reason: string;
  priority?: (typeof REFERRAL_PRIORITIES)[number];
  consent?: string;
  goal?: string;
  requestedBy?: string;
  authored?: string;
  note?: string;
  recordedBy?: string;
}
