import { type JsonSchema, arrayOf, date, enumOf, object, recordedBy, reference, text } from './common';

export const CONSENT_KINDS = ['treatment', 'disclosure', '42cfr-part2'] as const;
export const PURPOSES = ['TREAT', 'HPAYMT', 'CLMATTCH', 'COVAUTH', 'HOPERAT', 'COVERAGE', 'CAREMGT', 'ETREAT', 'HRESCH', 'PATRQT'] as const;

/** POST /cm/v1/cases/{caseId}/consents — record a consent of the client. */
export const recordConsentSchema: JsonSchema = object(
  {
    kind: enumOf(CONSENT_KINDS, 'treatment (sharing among those treating the client), disclosure (release of information to named recipients) or 42cfr-part2 (substance-use disorder records, 42 CFR Part 2)'),
    date: date('When the client gave it (default: today)'),
    expires: date('When it ends (required for 42 CFR Part 2)'),
    recipients: arrayOf(
      reference(['Organization', 'Practitioner', 'PractitionerRole', 'RelatedPerson', 'CareTeam'], 'Who may receive the information'),
      'Recipients (required for disclosure and 42 CFR Part 2)',
      { minItems: 1, maxItems: 20 },
    ),
    purposes: arrayOf(enumOf(PURPOSES, 'A purpose of use (v3 ActReason)'), 'For what purposes (required for 42 CFR Part 2; default TREAT)', { minItems: 1, maxItems: 8 }),
    information: text('What information it covers, in words', 2000),
    form: object({ title: text('Title of the signed form', 256), url: { type: 'string', pattern: '^https?://\\S+$', description: 'Where the signed form is kept' } }, { required: ['title'] }),
    recordedBy,
  },
  {
    required: ['kind'],
    allOf: [
      {
        if: { type: 'object', properties: { kind: { const: '42cfr-part2' } }, required: ['kind'] },
        then: { type: 'object', properties: { expires: true, recipients: true, purposes: true }, required: ['expires', 'recipients', 'purposes'] },
      },
      {
        if: { type: 'object', properties: { kind: { const: 'disclosure' } }, required: ['kind'] },
        then: { type: 'object', properties: { recipients: true }, required: ['recipients'] },
      },
    ],
  },
);

export interface RecordConsentPayload {
  kind: (typeof CONSENT_KINDS)[number];
  date?: string;
  expires?: string;
  recipients?: string[];
  purposes?: (typeof PURPOSES)[number][];
  information?: string;
  form?: { title: string; url?: string };
  recordedBy?: string;
}
