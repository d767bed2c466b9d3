import { type JsonSchema, arrayOf, date, enumOf, object, recordedBy, reference, text } from './common';

export const FLAG_DECISIONS = ['keep', 'resolve'] as const;

/** POST /cm/v1/cases/{caseId}/flags/review — the case manager reviews the client's safety flags. */
export const reviewFlagsSchema: JsonSchema = object(
  {
    reviews: arrayOf(
      object(
        {
          flag: reference(['Flag'], 'A Flag of the client'),
          decision: enumOf(FLAG_DECISIONS, 'keep: the alert still applies; resolve: it no longer does (the Flag becomes inactive)'),
          reason: text('Why: what the case manager weighed', 2000),
        },
        { required: ['flag', 'decision', 'reason'] },
      ),
      'One decision per flag',
      { minItems: 1, maxItems: 50 },
    ),
    date: date('The day of the review (default: today)'),
    recordedBy,
  },
  { required: ['reviews'] },
);

export interface ReviewFlagsPayload {
  reviews: { flag: string; decision: (typeof FLAG_DECISIONS)[number]; reason: string }[];
  date?: string;
  recordedBy?: string;
}
