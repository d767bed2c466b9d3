import { type JsonSchema, arrayOf, dateTime, enumOf, object, recordedBy, reference, text } from './common';

export const CONTACT_TYPES = ['intake', 'office-visit', 'home-visit', 'phone-call', 'video-visit', 'outreach', 'crisis-contact', 'collateral-contact'] as const;
export const NOTE_TYPES = ['social-work-note', 'progress-note'] as const;

/** POST /cm/v1/cases/{caseId}/contacts — log a contact (home visit, call…) with its note. */
export const logContactSchema: JsonSchema = object(
  {
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
  { required: ['type', 'start', 'note'] },
);

export interface LogContactPayload {
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
