import { type JsonSchema, arrayOf, date, enumOf, object, recordedBy, reference, text } from './common';

export const ATTACHABLE_TYPES = ['DocumentReference', 'QuestionnaireResponse', 'DiagnosticReport', 'Observation'] as const;

const identifier = (description: string): JsonSchema =>
  object(
    {
      system: { type: 'string', pattern: '^[a-z][a-z0-9+.-]*:\\S+$', maxLength: 1000, description: 'The namespace of the value (a URI)' },
      value: text('The identifier', 256),
    },
    { required: ['value'], description },
  );

/** POST /cm/v1/cases/{caseId}/attachments — send documents of the client to a payer for a claim (Da Vinci CDex unsolicited attachments). */
export const sendAttachmentsSchema: JsonSchema = {
  ...object(
    {
      payer: reference(['Organization'], 'The payer: a registered partner whose coverage the client has'),
      attachTo: enumOf(['claim', 'preauthorization'], 'What the documents support: a claim, or a prior authorization request'),
      trackingId: identifier('The tracking control number the provider put on the claim (or prior authorization): how the payer attaches the documents to it'),
      serviceDate: date('The date of service (or its first day) of the claim: required for a claim'),
      payerId: identifier('The payer’s identifier at its endpoint, when the endpoint serves several payers'),
      documents: arrayOf(
        object(
          {
            document: reference(ATTACHABLE_TYPES, 'A document of the client'),
            lineItems: arrayOf(text('A claim line item number', 64), 'The claim lines it supports (none: the whole claim)', { maxItems: 50 }),
          },
          { required: ['document'] },
        ),
        'The documents to send, each once',
        { minItems: 1, maxItems: 50 },
      ),
      note: text('A note kept with the record of what was sent', 2000),
      recordedBy,
    },
    { required: ['payer', 'attachTo', 'trackingId', 'documents'] },
  ),
  // The operation: ServiceDate SHALL be present for a claim.
  if: { properties: { attachTo: { const: 'claim' } }, required: ['attachTo'] },
  then: { properties: { serviceDate: true }, required: ['serviceDate'] },
};

export interface SendAttachmentsPayload {
  payer: string;
  attachTo: 'claim' | 'preauthorization';
  trackingId: { system?: string; value: string };
  serviceDate?: string;
  payerId?: { system?: string; value: string };
  documents: { document: string; lineItems?: string[] }[];
  note?: string;
  recordedBy?: string;
}
