/**
 * Create and revise the service plan (plan-mapping.ts says how a plan is written in FHIR).
 *
 * Revising keeps the old plan: it becomes `revoked` (R4: "terminated prior to reaching
 * completion (though it may have been replaced by a new plan)"; `completed` is kept for a plan
 * that ran its course, i.e. the case was closed), its period ends where the new one starts, and
 * the new plan `replaces` it. Goals, objectives and interventions named by `id` are carried
 * forward: the new plan references the same resources (changed, as new versions, when the
 * revision changes them). What the revision does not carry forward stays in the old plan only:
 * open goals and objectives become `cancelled` (statusReason says which revision dropped them),
 * achieved ones stay completed; interventions become `revoked`. The plan's history is then the
 * chain of `replaces` links plus each resource's own version history.
 */
import type { CarePlan, Goal, Reference, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../fhir/outcomes';
import type { FhirServices } from '../../core/services';
import type { PlannedWrite } from '../../store/repository';
import { type ActivePlan, type CaseRecord, type Versioned, activePlan, loadCase, readVersioned } from '../case-record';
import { assertCommandAllowed } from '../lifecycle';
import { withoutServerMeta } from '../../fhir/resource-body';
import { type CaseCommand, type CommandPlan, type PlanInput, created, updated } from '../command';
import { canonicalJson } from '../idempotency';
import { carePlanResource, goalResource, interventionResource, milestonesOf, objectiveResource } from '../plan-mapping';
import { createServicePlanSchema } from '../schemas/create-service-plan';
import type { PlanPayload } from '../schemas/plan-parts';
import { reviseServicePlanSchema } from '../schemas/revise-service-plan';
import { PERTAINS_TO_GOAL, idOf, localReference, today } from '../vocabulary';

export const createServicePlan: CaseCommand<PlanPayload> = {
  name: 'create-service-plan',
  schema: createServicePlanSchema,
  async plan(input) {
    const { caseRecord, current } = await openCaseAndPlan(input, 'create-service-plan', 'create a service plan');
    if (current) {
      throw new FhirError('CONFLICT', `Case ${caseRecord.resource.id} already has an active service plan (CarePlan/${current.resource.id}): revise it with POST …/plan/revisions`);
    }
    return writePlan(input, caseRecord, undefined);
  },
};

export const reviseServicePlan: CaseCommand<PlanPayload> = {
  name: 'revise-service-plan',
  schema: reviseServicePlanSchema,
  async plan(input) {
    const { caseRecord, current } = await openCaseAndPlan(input, 'revise-service-plan', 'revise the service plan');
    if (!current) {
      throw new FhirError('CONFLICT', `Case ${caseRecord.resource.id} has no active service plan to revise: create one with POST …/plan`);
    }
    return writePlan(input, caseRecord, current);
  },
};

/** What both plan commands check first: the case is open, the payload's keys hold; then the active plan, if any. */
async function openCaseAndPlan(input: PlanInput<PlanPayload>, command: 'create-service-plan' | 'revise-service-plan', action: string): Promise<{ caseRecord: CaseRecord; current: ActivePlan | undefined }> {
  const caseRecord = await loadCase(input.services, input.params.caseId as string);
  assertCommandAllowed(caseRecord.resource, command, action);
  checkKeys(input.payload);
  // What a goal addresses is the client's: a need of another client is refused at its field.
  for (const [i, goal] of input.payload.goals.entries()) {
    for (const [j, need] of (goal.addresses ?? []).entries()) {
      const found = await readVersioned<Resource>(input.services, need.split('/')[0] as string, need.split('/')[1] as string);
      const subject = found ? localReference((found.resource as { subject?: Reference }).subject) : undefined;
      if (subject !== caseRecord.client) {
        throw new FhirError('BUSINESS_RULE', `${need} is not a need of the case's client (${caseRecord.client})`, { expression: [`goals[${i}].addresses[${j}]`] });
      }
    }
  }
  return { caseRecord, current: await activePlan(input.services, caseRecord.resource.id) };
}

/** Goal keys are unique; every objective names a goal of the command; so does an intervention that names one (422). */
function checkKeys(payload: PlanPayload): void {
  const keys = new Set<string>();
  const issues = [];
  for (const [i, goal] of payload.goals.entries()) {
    if (keys.has(goal.key)) issues.push(issue('BUSINESS_RULE', `goals[${i}].key "${goal.key}" names two goals`, [`goals[${i}].key`]));
    keys.add(goal.key);
  }
  for (const [i, objective] of (payload.objectives ?? []).entries()) {
    if (!keys.has(objective.goal)) {
      issues.push(issue('BUSINESS_RULE', `objectives[${i}] has no goal: "${objective.goal}" is not the key of a goal of this plan (keys: ${[...keys].join(', ')})`, [`objectives[${i}].goal`]));
    }
  }
  for (const [i, intervention] of (payload.interventions ?? []).entries()) {
    if (intervention.goal !== undefined && !keys.has(intervention.goal)) {
      issues.push(issue('BUSINESS_RULE', `interventions[${i}].goal "${intervention.goal}" is not the key of a goal of this plan`, [`interventions[${i}].goal`]));
    }
  }
  if (issues.length > 0) {
    throw new FhirError('BUSINESS_RULE', issues[0]?.diagnostics ?? 'The plan does not hold together', { issues });
  }
}

interface Carried<T extends Goal | ServiceRequest> {
  readonly id: string;
  readonly base?: Versioned<T>;
}

async function writePlan(input: PlanInput<PlanPayload>, caseRecord: CaseRecord, current: ActivePlan | undefined): Promise<CommandPlan> {
  const { services, payload, ids, now, agent } = input;
  const caseId = caseRecord.resource.id;
  const client = caseRecord.client;
  const start = payload.start ?? today(now);
  const currentGoals = current ? [...current.goals.values()] : [];
  const currentObjectiveIds = new Set(currentGoals.flatMap((g) => milestonesOf(g.resource)).map(idOf));
  const currentParentIds = new Set(currentGoals.map((g) => g.resource.id).filter((gid) => !currentObjectiveIds.has(gid)));
  const currentInterventions = new Set((current?.resource.activity ?? []).map((a) => localReference(a.reference)).filter((r) => r?.startsWith('ServiceRequest/')).map((r) => idOf(r as string)));
  const issues = [];

  // Which resource each entry becomes: carried forward (id) or new.
  const goals: Carried<Goal>[] = payload.goals.map((g, i) => {
    if (g.id === undefined) return { id: ids.next(`goal-${i + 1}`) };
    const gid = idOf(g.id);
    if (!currentParentIds.has(gid)) issues.push(issue('BUSINESS_RULE', `goals[${i}].id: ${g.id} is not a goal of the current plan${current ? ` (CarePlan/${current.resource.id})` : ''}`, [`goals[${i}].id`]));
    return { id: gid, base: current?.goals.get(gid) };
  });
  const objectives: Carried<Goal>[] = (payload.objectives ?? []).map((o, i) => {
    if (o.id === undefined) return { id: ids.next(`objective-${i + 1}`) };
    const oid = idOf(o.id);
    if (!currentObjectiveIds.has(oid) || !current?.goals.has(oid)) issues.push(issue('BUSINESS_RULE', `objectives[${i}].id: ${o.id} is not an objective of the current plan`, [`objectives[${i}].id`]));
    return { id: oid, base: current?.goals.get(oid) };
  });
  const interventions: Carried<ServiceRequest>[] = [];
  for (const [i, sr] of (payload.interventions ?? []).entries()) {
    if (sr.id === undefined) {
      interventions.push({ id: ids.next(`intervention-${i + 1}`) });
      continue;
    }
    const sid = idOf(sr.id);
    if (!currentInterventions.has(sid)) issues.push(issue('BUSINESS_RULE', `interventions[${i}].id: ${sr.id} is not an intervention of the current plan`, [`interventions[${i}].id`]));
    interventions.push({ id: sid, base: await readVersioned<ServiceRequest>(services, 'ServiceRequest', sid) });
  }
  for (const [label, list] of [['goals', goals], ['objectives', objectives], ['interventions', interventions]] as const) {
    const seen = new Set<string>();
    list.forEach((c, i) => {
      if (seen.has(c.id)) issues.push(issue('BUSINESS_RULE', `${label}[${i}].id carries the same ${label.slice(0, -1)} forward twice`, [`${label}[${i}].id`]));
      seen.add(c.id);
    });
  }
  if (issues.length > 0) throw new FhirError('BUSINESS_RULE', issues[0]?.diagnostics ?? 'invalid revision', { issues });

  const keyToGoal = new Map(payload.goals.map((g, i) => [g.key, goals[i] as Carried<Goal>]));
  const writes: PlannedWrite[] = [];
  const write = <T extends Goal | ServiceRequest>(resource: T & { id: string }, carried: Carried<T>) => {
    if (!carried.base) writes.push(created(resource));
    else if (changed(carried.base.resource, resource)) writes.push(updated(resource, carried.base.versionId));
  };

  const objectiveResources = (payload.objectives ?? []).map((o, i) => {
    const carried = objectives[i] as Carried<Goal>;
    return objectiveResource({ id: carried.id, input: o, ...(carried.base ? { base: withoutServerMeta(carried.base.resource) } : {}), client, start });
  });
  const objectivesOf = new Map<string, (Goal & { id: string })[]>();
  (payload.objectives ?? []).forEach((o, i) => {
    const goalId = (keyToGoal.get(o.goal) as Carried<Goal>).id;
    objectivesOf.set(goalId, [...(objectivesOf.get(goalId) ?? []), objectiveResources[i] as Goal & { id: string }]);
  });
  const goalResources = payload.goals.map((g, i) => {
    const carried = goals[i] as Carried<Goal>;
    const objectiveIds = (objectivesOf.get(carried.id) ?? []).map((o) => o.id);
    return goalResource({ id: carried.id, input: g, ...(carried.base ? { base: withoutServerMeta(carried.base.resource) } : {}), client, start: g.start ?? start, objectiveIds });
  });
  const interventionResources = (payload.interventions ?? []).map((sr, i) => {
    const carried = interventions[i] as Carried<ServiceRequest>;
    const goalId = sr.goal !== undefined ? keyToGoal.get(sr.goal)?.id : carried.base ? pertainsTo(carried.base.resource) : undefined;
    return interventionResource({
      id: carried.id,
      input: sr,
      ...(carried.base ? { base: withoutServerMeta(carried.base.resource) } : {}),
      caseId,
      client,
      ...(goalId ? { goalId } : {}),
      authoredOn: now.toISOString(),
    });
  });
  goalResources.forEach((g, i) => write(g, goals[i] as Carried<Goal>));
  objectiveResources.forEach((o, i) => write(o, objectives[i] as Carried<Goal>));
  interventionResources.forEach((sr, i) => write(sr, interventions[i] as Carried<ServiceRequest>));

  const planId = ids.next('plan');
  const author = agent.reference ?? caseRecord.resource.careManager?.reference;
  const plan = carePlanResource({
    id: planId,
    caseId,
    client,
    ...(payload.title ? { title: payload.title } : current?.resource.title ? { title: current.resource.title } : {}),
    start,
    ...(payload.end ? { end: payload.end } : {}),
    created: now.toISOString(),
    ...(author ? { author } : {}),
    careTeam: (caseRecord.resource.team ?? []).map((t) => localReference(t)).filter((r): r is string => r !== undefined),
    addresses: (caseRecord.resource.diagnosis ?? []).map((d) => localReference(d.condition)).filter((r): r is string => r !== undefined),
    goals: goalResources,
    objectivesOf,
    interventions: interventionResources,
    ...(current ? { replaces: current.resource.id } : {}),
    ...(payload.reason ? { reason: payload.reason } : {}),
  });
  writes.push(created(plan));
  if (current) {
    writes.push(...(await retire({ services, current, start, reason: payload.reason ?? 'revised', keep: new Set([...goals, ...objectives].map((c) => c.id)), keepInterventions: new Set(interventions.map((c) => c.id)), planId })));
  }
  return { caseId, writes };
}

/** The old plan revoked, what the revision did not carry forward cancelled or revoked. */
async function retire(args: {
  services: FhirServices;
  current: ActivePlan;
  start: string;
  reason: string;
  keep: ReadonlySet<string>;
  keepInterventions: ReadonlySet<string>;
  planId: string;
}): Promise<PlannedWrite[]> {
  const { current } = args;
  const old = withoutServerMeta(current.resource) as CarePlan & { id: string };
  const end = args.start < (old.period?.start ?? args.start) ? old.period?.start : args.start;
  const writes: PlannedWrite[] = [updated({ ...old, status: 'revoked', period: { ...old.period, ...(end ? { end } : {}) } }, current.versionId)];
  const why = `Not carried forward in the plan revision CarePlan/${args.planId} (${args.start}): ${args.reason}`;
  for (const goal of current.goals.values()) {
    const g = goal.resource;
    if (args.keep.has(g.id) || g.lifecycleStatus === 'completed' || g.lifecycleStatus === 'cancelled' || g.lifecycleStatus === 'entered-in-error') continue;
    writes.push(updated({ ...withoutServerMeta(g), lifecycleStatus: 'cancelled', statusDate: args.start, statusReason: why }, goal.versionId));
  }
  for (const activity of current.resource.activity ?? []) {
    const reference = localReference(activity.reference);
    if (!reference?.startsWith('ServiceRequest/') || args.keepInterventions.has(idOf(reference))) continue;
    const sr = await readVersioned<ServiceRequest>(args.services, 'ServiceRequest', idOf(reference));
    if (sr && (sr.resource.status === 'active' || sr.resource.status === 'on-hold' || sr.resource.status === 'draft')) {
      writes.push(updated({ ...withoutServerMeta(sr.resource), status: 'revoked' }, sr.versionId));
    }
  }
  return writes;
}

function pertainsTo(sr: ServiceRequest): string | undefined {
  const value = sr.extension?.find((e) => e.url === PERTAINS_TO_GOAL)?.valueReference;
  const reference = localReference(value);
  return reference?.startsWith('Goal/') ? idOf(reference) : undefined;
}

/** Whether writing `next` over `stored` would change anything (meta aside). */
function changed(stored: Goal | ServiceRequest, next: Goal | ServiceRequest): boolean {
  const { meta: _a, ...a } = stored;
  const { meta: _b, ...b } = next;
  return canonicalJson(a) !== canonicalJson(b);
}
