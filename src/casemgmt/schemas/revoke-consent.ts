import { type JsonSchema, date, object, recordedBy } from './common';

/** POST /cm/v1/cases/{caseId}/consents/{consentId}/revoke — the client withdraws a consent. */
export const revokeConsentSchema: JsonSchema = object(
  {
    date: date('When the client withdrew it (default: today)'),
    recordedBy,
  },
  {},
);

export interface RevokeConsentPayload {
  date?: string;
  recordedBy?: string;
}
