import { type JsonSchema, dateTime, enumOf, object, recordedBy, reference } from './common';

const score = { type: 'integer', description: 'The points of the answer: 0 not at all, 1 several days, 2 more than half the days, 3 nearly every day' };

/** POST /cm/v1/cases/{caseId}/screenings — record a standard instrument. */
export const recordScreeningSchema: JsonSchema = object(
  {
    instrument: enumOf(['phq-9', 'phq-2', 'gad-7'], 'The instrument'),
    answers: {
      description: 'The answer to each item, 0-3: a list in the instrument’s order, or an object keyed by item number ("1"…) or LOINC item code ("44250-9")',
      oneOf: [
        { type: 'array', items: score, maxItems: 20 },
        { type: 'object', patternProperties: { '^([1-9]|[0-9]{4,5}-[0-9])$': score }, additionalProperties: false, maxProperties: 20 },
      ],
    },
    authored: dateTime('When the client answered'),
    performer: reference(['Practitioner', 'PractitionerRole', 'Patient', 'RelatedPerson'], 'Who administered (or answered) it'),
    contact: reference(['Encounter'], 'The contact during which it was administered'),
    recordedBy,
  },
  { required: ['instrument', 'answers', 'authored'] },
);

export interface RecordScreeningPayload {
  instrument: 'phq-9' | 'phq-2' | 'gad-7';
  answers: number[] | Record<string, number>;
  authored: string;
  performer?: string;
  contact?: string;
  recordedBy?: string;
}
