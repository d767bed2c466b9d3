import { type JsonSchema, arrayOf, dateTime, enumOf, object, recordedBy, reference, text } from './common';

/** POST /cm/v1/cases/{caseId}/risk — the case manager sets the client's risk level. */
export const setRiskLevelSchema: JsonSchema = object(
  {
    level: enumOf(['low', 'moderate', 'high'], 'The risk level'),
    rationale: text('Why: what the case manager weighed', 4000),
    concern: text('Risk of what (default: "Risk of harm to self or others")', 256),
    basis: arrayOf(
      reference(['Observation', 'QuestionnaireResponse', 'RiskAssessment', 'DocumentReference', 'Condition', 'Encounter'], 'Information the judgement rests on'),
      'What the level is based on (scores, screenings, notes)',
      { maxItems: 20 },
    ),
    assessed: dateTime('When it was assessed (default: now)'),
    assessedBy: reference(['Practitioner', 'PractitionerRole'], 'Who assessed it (default: recordedBy)'),
    recordedBy,
  },
  { required: ['level', 'rationale'] },
);

export interface SetRiskLevelPayload {
  level: 'low' | 'moderate' | 'high';
  rationale: string;
  concern?: string;
  basis?: string[];
  assessed?: string;
  assessedBy?: string;
  recordedBy?: string;
}
