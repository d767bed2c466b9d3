/**
 * Service plans in FHIR (docs/profiles.md, CASE-MANAGEMENT-FHIR.md §3):
 * - the plan: CarePlan cb-service-plan, categories assess-plan + service-plan, intent plan, the
 *   case link, goals and objectives in `goal`, interventions by `activity.reference` (never
 *   inline detail), `replaces` → the plan it revises;
 * - a goal: Goal cb-goal, whose goal-relationship extensions (type milestone) name its objectives;
 * - an objective: Goal cb-objective with one target (measure, detail, due date);
 * - an intervention: ServiceRequest cb-planned-intervention (intent plan), pertainsToGoal → its goal.
 * Goals start active / in-progress; recorded progress moves them (progress.ts).
 */
import type { CarePlan, Extension, Goal, GoalTarget, ServiceRequest } from '@medplum/fhirtypes';
import type { PlanPayload } from './schemas/plan-parts';
import { GOAL_RELATIONSHIP, PERTAINS_TO_GOAL, SYSTEMS, caseLink, claiming, coded, concept, escapeXhtml, narrative, ref } from './vocabulary';

export type GoalInput = PlanPayload['goals'][number];
export type ObjectiveInput = NonNullable<PlanPayload['objectives']>[number];
export type InterventionInput = NonNullable<PlanPayload['interventions']>[number];

const PRIORITY = { high: 'High Priority', medium: 'Medium Priority', low: 'Low Priority' } as const;

export const achievement = (code: string, display: string) => coded(SYSTEMS.goalAchievement, code, display);
export const IN_PROGRESS = achievement('in-progress', 'In Progress');

/** The objectives (milestone targets) a goal names, as `Goal/<id>`. */
export function milestonesOf(goal: Goal): string[] {
  return (goal.extension ?? [])
    .filter((e) => e.url === GOAL_RELATIONSHIP && e.extension?.some((x) => x.url === 'type' && x.valueCodeableConcept?.coding?.some((c) => c.code === 'milestone')))
    .flatMap((e) => e.extension?.filter((x) => x.url === 'target').map((x) => x.valueReference?.reference ?? '') ?? [])
    .filter((r) => r.startsWith('Goal/'));
}

export function milestone(objectiveId: string): Extension {
  return {
    url: GOAL_RELATIONSHIP,
    extension: [
      { url: 'type', valueCodeableConcept: coded(SYSTEMS.goalRelationshipType, 'milestone', 'Milestone') },
      { url: 'target', valueReference: ref(`Goal/${objectiveId}`) },
    ],
  };
}

/** A goal with `objectiveIds` as its milestones; `base` is the stored goal when carried forward. */
export function goalResource(args: { id: string; input: GoalInput; base?: Goal; client: string; start: string; objectiveIds: readonly string[] }): Goal & { id: string } {
  const { input, base } = args;
  const others = (base?.extension ?? []).filter((e) => e.url !== GOAL_RELATIONSHIP);
  const extension = [...others, ...args.objectiveIds.map(milestone)];
  const { extension: _old, ...rest } = base ?? ({} as Goal);
  return {
    ...rest,
    resourceType: 'Goal',
    id: args.id,
    ...claiming('cb-goal'),
    ...(extension.length > 0 ? { extension } : {}),
    lifecycleStatus: base?.lifecycleStatus ?? 'active',
    achievementStatus: base?.achievementStatus ?? IN_PROGRESS,
    ...(input.priority ? { priority: coded(SYSTEMS.goalPriority, `${input.priority}-priority`, PRIORITY[input.priority]) } : {}),
    description: input.description ? { text: input.description } : (base?.description ?? { text: '' }),
    subject: ref(args.client),
    startDate: base?.startDate ?? input.start ?? args.start,
    ...(base ? {} : { statusDate: input.start ?? args.start }),
    ...(input.addresses ? { addresses: input.addresses.map((r) => ref(r)) } : {}),
  };
}

export function objectiveResource(args: { id: string; input: ObjectiveInput; base?: Goal; client: string; start: string }): Goal & { id: string } {
  const { input, base } = args;
  const previous = base?.target?.[0];
  const target: GoalTarget = {
    ...(input.measure ? { measure: concept(input.measure) } : previous?.measure ? { measure: previous.measure } : {}),
    ...(input.target ? detail(input.target) : detailOf(previous)),
    ...(input.due ? { dueDate: input.due } : previous?.dueDate ? { dueDate: previous.dueDate } : {}),
  };
  return {
    ...(base ?? {}),
    resourceType: 'Goal',
    id: args.id,
    ...claiming('cb-objective'),
    lifecycleStatus: base?.lifecycleStatus ?? 'active',
    achievementStatus: base?.achievementStatus ?? IN_PROGRESS,
    description: input.description ? { text: input.description } : (base?.description ?? { text: '' }),
    subject: ref(args.client),
    startDate: base?.startDate ?? args.start,
    ...(base ? {} : { statusDate: args.start }),
    target: [target],
  };
}

function detail(target: NonNullable<ObjectiveInput['target']>): Partial<GoalTarget> {
  if (target.value !== undefined) {
    return { detailQuantity: { value: target.value, ...(target.comparator ? { comparator: target.comparator } : {}), ...(target.unit ? { unit: target.unit } : {}) } };
  }
  return { detailString: target.text as string };
}

function detailOf(previous: GoalTarget | undefined): Partial<GoalTarget> {
  if (previous?.detailQuantity) return { detailQuantity: previous.detailQuantity };
  if (previous?.detailString !== undefined) return { detailString: previous.detailString };
  return {};
}

export function interventionResource(args: {
  id: string;
  input: InterventionInput;
  base?: ServiceRequest;
  caseId: string;
  client: string;
  goalId?: string;
  authoredOn: string;
}): ServiceRequest & { id: string } {
  const { input, base } = args;
  const others = (base?.extension ?? []).filter((e) => e.url !== PERTAINS_TO_GOAL && e.url !== caseLink(args.caseId).url);
  const goalId = args.goalId;
  const { occurrenceTiming: _t, performer: _p, ...rest } = base ?? ({} as ServiceRequest);
  const performer = input.provider ? [ref(input.provider)] : base?.performer;
  const timing = input.frequency ? { code: { text: input.frequency } } : base?.occurrenceTiming;
  return {
    ...rest,
    resourceType: 'ServiceRequest',
    id: args.id,
    ...claiming('cb-planned-intervention'),
    extension: [caseLink(args.caseId), ...others, ...(goalId ? [{ url: PERTAINS_TO_GOAL, valueReference: ref(`Goal/${goalId}`) }] : [])],
    status: base?.status ?? 'active',
    intent: 'plan',
    code: input.service ? concept(input.service) : (base?.code ?? { text: '' }),
    subject: ref(args.client),
    ...(timing ? { occurrenceTiming: timing } : {}),
    authoredOn: base?.authoredOn ?? args.authoredOn,
    ...(performer ? { performer } : {}),
  };
}

export function carePlanResource(args: {
  id: string;
  caseId: string;
  client: string;
  title?: string;
  start: string;
  end?: string;
  created: string;
  author?: string;
  careTeam?: readonly string[];
  addresses?: readonly string[];
  goals: readonly (Goal & { id: string })[];
  objectivesOf: ReadonlyMap<string, readonly (Goal & { id: string })[]>;
  interventions: readonly (ServiceRequest & { id: string })[];
  replaces?: string;
  reason?: string;
}): CarePlan & { id: string } {
  const goalIds = args.goals.flatMap((g) => [g.id, ...(args.objectivesOf.get(g.id) ?? []).map((o) => o.id)]);
  return {
    resourceType: 'CarePlan',
    id: args.id,
    ...claiming('cb-service-plan'),
    extension: [caseLink(args.caseId)],
    text: narrative(planNarrative(args)),
    ...(args.replaces ? { replaces: [ref(`CarePlan/${args.replaces}`)] } : {}),
    status: 'active',
    intent: 'plan',
    category: [
      coded('http://hl7.org/fhir/us/core/CodeSystem/careplan-category', 'assess-plan', 'Assessment and Plan of Treatment'),
      coded('http://casebridge.org/fhir/CodeSystem/case-management', 'service-plan', 'Service plan'),
    ],
    title: args.title ?? 'Service plan',
    ...(args.reason ? { description: `Revision: ${args.reason}` } : {}),
    subject: ref(args.client),
    period: { start: args.start, ...(args.end ? { end: args.end } : {}) },
    created: args.created,
    ...(args.author ? { author: ref(args.author) } : {}),
    ...(args.careTeam && args.careTeam.length > 0 ? { careTeam: args.careTeam.map((r) => ref(r)) } : {}),
    ...(args.addresses && args.addresses.length > 0 ? { addresses: args.addresses.map((r) => ref(r)) } : {}),
    goal: goalIds.map((id) => ref(`Goal/${id}`)),
    ...(args.interventions.length > 0 ? { activity: args.interventions.map((sr) => ({ reference: ref(`ServiceRequest/${sr.id}`) })) } : {}),
  };
}

function planNarrative(args: Parameters<typeof carePlanResource>[0]): string {
  const goals = args.goals
    .map((g) => {
      const objectives = (args.objectivesOf.get(g.id) ?? []).map((o) => `<li>${escapeXhtml(o.description.text ?? '')}${targetText(o)}</li>`).join('');
      return `<li>${escapeXhtml(g.description.text ?? '')}${objectives ? `<ul>${objectives}</ul>` : ''}</li>`;
    })
    .join('');
  const interventions = args.interventions.map((sr) => `<li>${escapeXhtml(sr.code?.text ?? '')}${sr.occurrenceTiming?.code?.text ? ` (${escapeXhtml(sr.occurrenceTiming.code.text)})` : ''}</li>`).join('');
  return `<p><b>${escapeXhtml(args.title ?? 'Service plan')}</b> from ${escapeXhtml(args.start)}</p><p>Goals and objectives:</p><ul>${goals}</ul>${interventions ? `<p>Interventions:</p><ul>${interventions}</ul>` : ''}`;
}

function targetText(objective: Goal): string {
  const target = objective.target?.[0];
  if (!target) return '';
  const q = target.detailQuantity;
  const what = q ? `${q.comparator ?? '≥'} ${q.value}${q.unit ? ` ${q.unit}` : ''}` : (target.detailString ?? '');
  return escapeXhtml(`: ${target.measure?.text ?? ''} ${what}${target.dueDate ? ` by ${target.dueDate}` : ''}`.replace(/ +/g, ' '));
}
