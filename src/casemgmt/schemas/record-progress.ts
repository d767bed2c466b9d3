import { type JsonSchema, dateTime, object, recordedBy, text } from './common';

/** POST /cm/v1/cases/{caseId}/objectives/{objectiveId}/progress — a measurement of progress on an objective. */
export const recordProgressSchema: JsonSchema = object(
  {
    date: dateTime('When it was measured'),
    value: { type: 'number', description: 'The measured value, in the unit of the objective’s target' },
    unit: text('Its unit (default: the target’s)', 64),
    text: text('The measurement in words, when it is not a number', 1000),
    achieved: { type: 'boolean', description: 'The case manager’s judgement whether the objective is met; when absent, a number is compared with the target' },
    note: text('A note on the progress', 4000),
    recordedBy,
  },
  { required: ['date'], anyOf: [['value'], ['text']] },
);

export interface RecordProgressPayload {
  date: string;
  value?: number;
  unit?: string;
  text?: string;
  achieved?: boolean;
  note?: string;
  recordedBy?: string;
}
