import { type JsonSchema, date, enumOf, object, recordedBy, text } from './common';

export const CASE_OUTCOMES = ['goals-met', 'goals-partly-met', 'goals-not-met', 'disengaged'] as const;

/** POST /cm/v1/cases/{caseId}/evaluation — the case manager evaluates the outcomes (phase 9). */
export const evaluateCaseSchema: JsonSchema = object(
  {
    outcome: enumOf(CASE_OUTCOMES, 'The case manager’s overall judgement of the outcome'),
    summary: text('The evaluation: what changed for the client, what helped, what did not', 20_000),
    date: date('The day of the evaluation (default: today)'),
    recordedBy,
  },
  { required: ['outcome', 'summary'] },
);

export interface EvaluateCasePayload {
  outcome: (typeof CASE_OUTCOMES)[number];
  summary: string;
  date?: string;
  recordedBy?: string;
}
