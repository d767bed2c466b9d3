import { type JsonSchema, dateTime, enumOf, object, recordedBy, text } from './common';

export const REFERRAL_STATUSES = ['accepted', 'rejected', 'in-progress', 'on-hold', 'completed', 'cancelled', 'failed'] as const;
/** Statuses that must say why (SDOHCC: statusReason.text for rejected, cancelled, on-hold, failed). */
export const STATUSES_WITH_REASON = ['rejected', 'cancelled', 'on-hold', 'failed'] as const;

/** POST /cm/v1/cases/{caseId}/referrals/{referralId}/status — record what the receiving organization did. */
export const updateReferralStatusSchema: JsonSchema = object(
  {
    status: enumOf(REFERRAL_STATUSES, 'The referral’s new status'),
    reason: text('Why (required when rejected, cancelled, on hold or failed)', 2000),
    date: dateTime('When it changed (default: now)'),
    note: text('A note', 4000),
    recordedBy,
  },
  {
    required: ['status'],
    allOf: [
      {
        if: { type: 'object', properties: { status: { enum: [...STATUSES_WITH_REASON] } }, required: ['status'] },
        then: { type: 'object', properties: { reason: true }, required: ['reason'] },
      },
    ],
  },
);

export interface UpdateReferralStatusPayload {
  status: (typeof REFERRAL_STATUSES)[number];
  reason?: string;
  date?: string;
  note?: string;
  recordedBy?: string;
}
