/**
 * The parts of a service plan, shared by the create and revise commands. A plan is written as
 * three lists: goals, objectives (each names its goal by the goal's `key`), interventions (each
 * may name the goal it serves). In a revision, an entry with `id` carries that goal, objective or
 * intervention of the current plan forward (its other fields, when given, change it).
 */
import { type JsonSchema, arrayOf, concept, date, enumOf, object, recordedBy, reference, text } from './common';

const key = (description: string): JsonSchema => ({ type: 'string', pattern: '^[A-Za-z0-9_-]{1,40}$', description });

export function planSchema(revision: boolean): JsonSchema {
  const carried = (type: string, what: string): Record<string, JsonSchema> => (revision ? { id: reference([type], `The ${what} of the current plan to carry forward`) } : {});
  const goal = object(
    {
      key: key('A name for the goal within this command, that objectives and interventions use'),
      ...carried('Goal', 'goal'),
      description: text('The goal in the client’s words, e.g. "Reduce anxiety"', 1000),
      priority: enumOf(['high', 'medium', 'low'], 'Priority'),
      start: date('When work on the goal starts (default: the plan’s start)'),
      addresses: arrayOf(
        reference(['Condition', 'Observation', 'RiskAssessment'], 'A need or problem of the client'),
        'The needs the goal addresses (Goal.addresses), e.g. the Conditions a needs assessment found',
        { maxItems: 20 },
      ),
    },
    revision ? { required: ['key'], anyOf: [['id'], ['description']] } : { required: ['key', 'description'] },
  );
  const target = object(
    {
      value: { type: 'number', description: 'The number to reach' },
      unit: text('Its unit, e.g. "min/d", "sessions per week"', 64),
      comparator: enumOf(['<', '<=', '>=', '>'], 'How the measurement compares with the value when the objective is met (default >=)'),
      text: text('The target in words, when it is not a number', 1000),
    },
    { anyOf: [['value'], ['text']], description: 'The measurable target' },
  );
  const newObjective = ['description', 'measure', 'target', 'due'];
  const objective = object(
    {
      goal: key('The key of the goal this objective serves'),
      ...carried('Goal', 'objective'),
      description: text('The objective, e.g. "Practise deep breathing 10 minutes a day"', 1000),
      measure: concept('What is measured, e.g. "Minutes of deep breathing per day" (LOINC when there is one)'),
      target,
      due: date('When the target should be reached'),
    },
    revision ? { required: ['goal'], anyOf: [['id'], newObjective] } : { required: ['goal', ...newObjective] },
  );
  const intervention = object(
    {
      ...carried('ServiceRequest', 'intervention'),
      service: concept('The service, e.g. "Cognitive behavioural therapy"'),
      provider: reference(['Organization', 'HealthcareService', 'PractitionerRole', 'Practitioner', 'CareTeam'], 'Who provides it'),
      frequency: text('How often, e.g. "weekly"', 256),
      goal: key('The key of the goal it serves'),
    },
    revision ? { anyOf: [['id'], ['service']] } : { required: ['service'] },
  );
  return object(
    {
      title: text('A title for the plan', 256),
      start: date('When the plan starts (default: today)'),
      end: date('When the plan is to be reviewed or ends'),
      goals: arrayOf(goal, 'The goals of the plan', { minItems: 1, maxItems: 50 }),
      objectives: arrayOf(objective, 'The measurable objectives, each under a goal', { maxItems: 200 }),
      interventions: arrayOf(intervention, 'The planned interventions', { maxItems: 200 }),
      ...(revision ? { reason: text('Why the plan is revised', 2000) } : {}),
      recordedBy,
    },
    { required: revision ? ['goals', 'reason'] : ['goals'] },
  );
}

export interface PlanPayload {
  title?: string;
  start?: string;
  end?: string;
  goals: { key: string; id?: string; description?: string; priority?: 'high' | 'medium' | 'low'; start?: string; addresses?: string[] }[];
  objectives?: {
    goal: string;
    id?: string;
    description?: string;
    measure?: { text: string; code?: { system: string; code: string; display?: string } };
    target?: { value?: number; unit?: string; comparator?: '<' | '<=' | '>=' | '>'; text?: string };
    due?: string;
  }[];
  interventions?: { id?: string; service?: { text: string; code?: { system: string; code: string; display?: string } }; provider?: string; frequency?: string; goal?: string }[];
  reason?: string;
  recordedBy?: string;
}
