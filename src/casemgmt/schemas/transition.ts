import { type JsonSchema, arrayOf, concept, date, enumOf, object, recordedBy, reference, text } from './common';
import { REFERRAL_PRIORITIES } from './make-referral';

/** POST /cm/v1/cases/{caseId}/transfer — transfer the case to another agency. */
export const transferCaseSchema: JsonSchema = object(
  {
    to: reference(['Organization', 'HealthcareService'], 'The receiving agency'),
    reason: text('Why the case is transferred', 2000),
    summary: text('The transition summary for the receiving agency', 200_000),
    summaryType: enumOf(['referral-note', 'discharge-summary'], 'referral-note (LOINC 57133-1, default) or discharge-summary (18842-5)'),
    date: date('The day the case is transferred (default: today)'),
    service: concept('The service asked of the receiving agency (default: "Transfer of case management")'),
    priority: enumOf(REFERRAL_PRIORITIES, 'routine (default), urgent, asap or stat'),
    consent: reference(['Consent'], 'The client’s consent to share their information with the receiving agency'),
    requestedBy: reference(['PractitionerRole', 'Organization'], 'Who requests the transfer (default: the case manager when a PractitionerRole, else the agency)'),
    keepReferrals: arrayOf(
      reference(['ServiceRequest'], 'A referral of the case'),
      'Referrals the receiving organizations go on with after the case closes; every other open referral is cancelled with the case',
      { maxItems: 50 },
    ),
    recordedBy,
  },
  { required: ['to', 'reason', 'summary'] },
);

/** POST /cm/v1/cases/{caseId}/close — close the case. */
export const closeCaseSchema: JsonSchema = object(
  {
    date: date('The day the case closes (default: today)'),
    reason: text('Why the case closes, e.g. "Goals met"', 2000),
    keepReferrals: arrayOf(
      reference(['ServiceRequest'], 'A referral of the case'),
      'Referrals the receiving organizations go on with after the case closes; every other open referral is cancelled with the case',
      { maxItems: 50 },
    ),
    recordedBy,
  },
  { required: ['reason'] },
);

export interface TransferCasePayload {
  to: string;
  reason: string;
  summary: string;
  summaryType?: 'referral-note' | 'discharge-summary';
  date?: string;
  service?: { text: string; code?: { system: string; code: string; display?: string } };
  priority?: (typeof REFERRAL_PRIORITIES)[number];
  consent?: string;
  requestedBy?: string;
  keepReferrals?: string[];
  recordedBy?: string;
}

export interface CloseCasePayload {
  date?: string;
  reason: string;
  keepReferrals?: string[];
  recordedBy?: string;
}
