import { SERVICE_CODES, type ServiceCode } from '../service-units';
import { PROGRAMMES, type Programme } from '../vocabulary';
import { type JsonSchema, arrayOf, dateTime, enumOf, object, recordedBy, reference, text } from './common';

export const CONTACT_TYPES = ['intake', 'office-visit', 'home-visit', 'phone-call', 'video-visit', 'outreach', 'crisis-contact', 'collateral-contact'] as const;
export const NOTE_TYPES = ['social-work-note', 'progress-note'] as const;

/** What a contact records for payers: the service, its programme and funding, the intervention it serves. */
export const serviceUnitFields: Record<string, JsonSchema> = {
  service: enumOf(SERVICE_CODES, 'The service delivered (CodeSystem case-management-service; mapped to HCPCS where billable). With a service, `end` is required: units come from the duration'),
  programme: enumOf(Object.keys(PROGRAMMES), 'The programme it is delivered under (default: the case’s programme)'),
  coverage: reference(['Coverage'], 'The funding source: the client’s Coverage that pays for it'),
  intervention: reference(['ServiceRequest'], 'The planned intervention of the service plan this contact delivers (and through it the goal it serves)'),
};

/** `service` needs `end`: the units are counted from the minutes. */
export const SERVICE_NEEDS_END: JsonSchema = {
  if: { type: 'object', properties: { service: true }, required: ['service'] },
  then: { type: 'object', properties: { end: true }, required: ['end'] },
};

/** POST /cm/v1/cases/{caseId}/contacts — log a contact (home visit, call…) with its note. */
export const logContactSchema: JsonSchema = object(
  {
    ...serviceUnitFields,
    type: enumOf(CONTACT_TYPES, 'The kind of contact'),
    start: dateTime('When it started'),
    end: dateTime('When it ended'),
    setting: enumOf(['AMB', 'HH', 'FLD', 'VR'], 'Encounter class when the default for the type does not fit: AMB office, HH home, FLD field, VR phone or video'),
    participants: arrayOf(
      object(
        {
          who: reference(['Practitioner', 'PractitionerRole', 'RelatedPerson'], 'A participant known to the system'),
          name: text('A participant named in words', 256),
          role: text('Their part in the contact', 256),
        },
        { anyOf: [['who'], ['name']] },
      ),
      'Who took part besides the client',
      { maxItems: 30 },
    ),
    location: text('Where, in words (e.g. "client’s home")', 512),
    note: text('The case note: a factual, concise summary', 100_000),
    noteType: enumOf(NOTE_TYPES, 'social-work-note (LOINC 28656-7, default) or progress-note (11506-3)'),
    recordedBy,
  },
  { required: ['type', 'start', 'note'], allOf: [SERVICE_NEEDS_END] },
);

export interface ServiceUnitFields {
  service?: ServiceCode;
  programme?: Programme;
  coverage?: string;
  intervention?: string;
}

export interface LogContactPayload extends ServiceUnitFields {
  type: (typeof CONTACT_TYPES)[number];
  start: string;
  end?: string;
  setting?: 'AMB' | 'HH' | 'FLD' | 'VR';
  participants?: { who?: string; name?: string; role?: string }[];
  location?: string;
  note: string;
  noteType?: (typeof NOTE_TYPES)[number];
  recordedBy?: string;
}
