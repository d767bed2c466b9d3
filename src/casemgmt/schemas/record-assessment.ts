import { DOMAIN_KEYS, type DomainKey, NEED_LEVELS, type NeedLevel } from '../needs-assessment';
import { type JsonSchema, coding, dateTime, enumOf, object, recordedBy, reference, text } from './common';

const domain = object(
  {
    need: enumOf(Object.keys(NEED_LEVELS), 'no-need, need or urgent-need'),
    note: text('What the client said and the case manager observed', 4000),
    code: coding('A standard code for the need, e.g. ICD-10-CM Z59.811 or SNOMED CT (the Condition’s code)'),
  },
  { required: ['need'] },
);

/** POST /cm/v1/cases/{caseId}/assessments — the comprehensive needs and psychosocial assessment. */
export const recordAssessmentSchema: JsonSchema = object(
  {
    authored: dateTime('When it was done'),
    domains: {
      type: 'object',
      description: `The domains assessed (at least one): ${DOMAIN_KEYS.join(', ')}`,
      properties: Object.fromEntries(DOMAIN_KEYS.map((k) => [k, domain])),
      additionalProperties: false,
      minProperties: 1,
    },
    performer: reference(['Practitioner', 'PractitionerRole'], 'Who assessed (default: recordedBy, else the case manager)'),
    contact: reference(['Encounter'], 'The contact during which it was done'),
    recordedBy,
  },
  { required: ['authored', 'domains'] },
);

export interface RecordAssessmentPayload {
  authored: string;
  domains: Partial<Record<DomainKey, { need: NeedLevel; note?: string; code?: { system: string; code: string; display?: string } }>>;
  performer?: string;
  contact?: string;
  recordedBy?: string;
}
