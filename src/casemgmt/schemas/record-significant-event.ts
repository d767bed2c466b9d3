import { type JsonSchema, dateTime, enumOf, object, recordedBy, reference, text } from './common';

export const EVENT_CATEGORIES = ['crisis', 'hospitalization', 'mandated-report', 'legal-involvement', 'housing-loss'] as const;

/** POST /cm/v1/cases/{caseId}/events — record a significant event. */
export const recordSignificantEventSchema: JsonSchema = object(
  {
    category: enumOf(EVENT_CATEGORIES, 'What happened'),
    occurred: dateTime('When it happened'),
    note: text('The account of the event', 100_000),
    safetyConcern: { type: 'boolean', description: 'True when it is a safety concern: a safety Flag is raised' },
    alert: text('The wording of the safety Flag (default: the category and the note’s first line)', 512),
    contact: reference(['Encounter'], 'The contact during which it came to light'),
    recordedBy,
  },
  { required: ['category', 'occurred', 'note'] },
);

export interface RecordSignificantEventPayload {
  category: (typeof EVENT_CATEGORIES)[number];
  occurred: string;
  note: string;
  safetyConcern?: boolean;
  alert?: string;
  contact?: string;
  recordedBy?: string;
}
