import { PROGRAMMES, type Programme } from '../vocabulary';
import { type JsonSchema, arrayOf, coding, date, enumOf, id, object, recordedBy, reference, text } from './common';

/** POST /cm/v1/cases — open a case for a client (intake). */
export const openCaseSchema: JsonSchema = object(
  {
    clientId: id('An existing client: the id of their Patient record'),
    client: object(
      {
        identifier: object(
          {
            system: { type: 'string', pattern: '^[a-z][a-z0-9+.-]*:\\S+$', description: 'Namespace of the identifier, e.g. urn:agency:clients' },
            value: text('The client number', 256),
          },
          { required: ['system', 'value'], description: 'The client number the client is known (and matched) by' },
        ),
        name: object(
          { family: text('Family name', 256), given: arrayOf(text('Given name', 256), 'Given names', { minItems: 1, maxItems: 5 }), text: text('Full name as written', 512) },
          { anyOf: [['family'], ['given'], ['text']], description: 'The client’s name' },
        ),
        gender: enumOf(['male', 'female', 'other', 'unknown'], 'Administrative gender'),
        birthDate: date('Date of birth'),
        phone: text('Telephone number', 64),
      },
      { required: ['identifier', 'name', 'gender'], description: 'A new client, matched by identifier: an existing client with this identifier is used as they are' },
    ),
    caseManager: reference(['PractitionerRole', 'Practitioner'], 'The case manager responsible for the case'),
    agency: reference(['Organization'], 'The agency managing the case'),
    opened: date('The day the case opens (default: today)'),
    programme: enumOf(Object.keys(PROGRAMMES), 'The programme the case is enrolled in (EpisodeOfCare.type, CodeSystem case-management)'),
    status: enumOf(['active', 'waitlist', 'planned'], 'active (default), waitlist, or planned (a referral received: eligibility is being assessed)'),
    team: arrayOf(
      object(
        { member: reference(['Practitioner', 'PractitionerRole', 'RelatedPerson', 'Organization'], 'Team member'), role: text('Their role on the team', 256) },
        { required: ['member', 'role'] },
      ),
      'Other members of the care team (the case manager is always on it)',
      { maxItems: 50 },
    ),
    presentingProblems: arrayOf(
      object(
        {
          description: text('The problem or need in words', 1000),
          code: coding('A standard code (SNOMED CT, ICD-10-CM)'),
          category: enumOf(['health-concern', 'problem-list-item'], 'health-concern (default) or problem-list-item'),
          onset: date('Since when'),
        },
        { required: ['description'] },
      ),
      'Problems and needs presented at intake',
      { maxItems: 50 },
    ),
    recordedBy,
  },
  {
    required: ['caseManager', 'agency'],
    oneOf: [['clientId'], ['client']],
    description: 'Open a case: give clientId (an existing client) or client (a new one, matched by identifier)',
  },
);

export interface OpenCasePayload {
  clientId?: string;
  client?: {
    identifier: { system: string; value: string };
    name: { family?: string; given?: string[]; text?: string };
    gender: 'male' | 'female' | 'other' | 'unknown';
    birthDate?: string;
    phone?: string;
  };
  caseManager: string;
  agency: string;
  opened?: string;
  programme?: Programme;
  status?: 'active' | 'waitlist' | 'planned';
  team?: { member: string; role: string }[];
  presentingProblems?: { description: string; code?: { system: string; code: string; display?: string }; category?: 'health-concern' | 'problem-list-item'; onset?: string }[];
  recordedBy?: string;
}
