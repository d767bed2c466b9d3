/**
 * The case API's endpoints, in one table that the HTTP router (src/http/case-api.ts) mounts and
 * the OpenAPI document (openapi.ts) describes, so the two cannot drift apart.
 */
import type { CaseCommand } from './command';
import { openCase } from './commands/open-case';
import { recordProgress } from './commands/record-progress';
import { recordScreening } from './commands/record-screening';
import { createServicePlan, reviseServicePlan } from './commands/service-plan';
import { setRiskLevel } from './commands/set-risk-level';

export interface CommandEndpoint {
  readonly kind: 'command';
  readonly method: 'POST' | 'PUT';
  /** Below /cm/v1, with `{caseId}`-style parameters. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each endpoint has its own payload type
  readonly command: CaseCommand<any>;
}

export const COMMAND_ENDPOINTS: readonly CommandEndpoint[] = [
  {
    kind: 'command',
    method: 'POST',
    path: '/cases',
    operationId: 'openCase',
    summary: 'Open a case for a client (intake)',
    description:
      'Writes the client (Patient cb-client, when new: matched by identifier first), the case (EpisodeOfCare cb-case), its CareTeam and the presenting problems (Condition), with a Provenance.',
    command: openCase,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/screenings',
    operationId: 'recordScreening',
    summary: 'Record a screening or assessment (PHQ-9, PHQ-2, GAD-7)',
    description:
      'Writes a completed QuestionnaireResponse (cb-screening-response) linked to the case, and what scoring derives from it in the same unit: the total score Observation, a RiskAssessment and, when PHQ-9 item 9 is positive, a safety Flag. Answers that cannot be scored are 422, located at the answer.',
    command: recordScreening,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/risk',
    operationId: 'setRiskLevel',
    summary: 'Set the risk level',
    description:
      'Writes a RiskAssessment (cb-risk-assessment) of the case manager’s judgement. High: also an active safety Flag (cb-risk-flag, code high-risk). Low or moderate: ends the client’s active high-risk Flags.',
    command: setRiskLevel,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/plan',
    operationId: 'createServicePlan',
    summary: 'Create the service plan',
    description:
      'Writes the plan (CarePlan cb-service-plan: assess-plan + service-plan), its goals (Goal cb-goal, naming their objectives with goal-relationship milestone extensions), the objectives (Goal cb-objective) and the interventions (ServiceRequest cb-planned-intervention, referenced from CarePlan.activity). 409 when the case already has an active plan; 422 for an objective without a goal.',
    command: createServicePlan,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/plan/revisions',
    operationId: 'reviseServicePlan',
    summary: 'Revise the service plan',
    description:
      'Writes a new plan that replaces the active one (which becomes revoked, its period ended). Entries with id carry goals, objectives and interventions forward (updated when changed); what is not carried forward is cancelled (goals, objectives) or revoked (interventions).',
    command: reviseServicePlan,
  },
  {
    kind: 'command',
    method: 'PUT',
    path: '/cases/{caseId}/plan',
    operationId: 'replaceServicePlan',
    summary: 'Revise the service plan (same as POST …/plan/revisions)',
    description: 'The same command as POST /cases/{caseId}/plan/revisions: PUT the whole revised plan.',
    command: reviseServicePlan,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/objectives/{objectiveId}/progress',
    operationId: 'recordProgress',
    summary: 'Record progress on an objective',
    description:
      'Writes an Observation of the measurement (focus and Goal.outcomeReference link it to the objective) and updates the objective’s and its goal’s lifecycleStatus, achievementStatus and statusDate.',
    command: recordProgress,
  },
];

/** Path parameters of a path: `/cases/{caseId}/x/{y}` → [caseId, y]. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1] as string);
}
