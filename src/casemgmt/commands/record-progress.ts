/**
 * Record progress on an objective: an Observation of the objective's measure (code = the
 * target's measure, value, effective date, note), linked to the case, `basedOn` the plan, and
 * referenced from the objective's `Goal.outcomeReference` — R4's element for "what resulted from
 * the goal". The Observation also names the objective in `focus`, so `Observation?focus=Goal/<id>`
 * lists an objective's measurements (R4 Observation.derivedFrom cannot point at a Goal). It
 * claims no CaseBridge profile: none describes a progress measurement. The objective's and its
 * goal's statuses follow (progress.ts).
 */
import type { Goal, Observation } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/outcomes';
import type { PlannedWrite } from '../../store/repository';
import { activePlan, loadCase, searchAll } from '../case-record';
import { assertCommandAllowed } from '../lifecycle';
import { withoutServerMeta } from '../../fhir/resource-body';
import { type CaseCommand, created, updated } from '../command';
import { milestonesOf } from '../plan-mapping';
import { achievementCode, goalAchievement, objectiveAchievement, withAchievement } from '../progress';
import { type RecordProgressPayload, recordProgressSchema } from '../schemas/record-progress';
import { caseLink, idOf, ref } from '../vocabulary';

export const recordProgress: CaseCommand<RecordProgressPayload> = {
  name: 'record-progress',
  schema: recordProgressSchema,
  async plan({ services, payload, params, ids }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertCommandAllowed(caseRecord.resource, 'record-progress', 'record progress');
    const objectiveId = params.objectiveId as string;
    const plan = await activePlan(services, caseRecord.resource.id);
    if (!plan) {
      throw new FhirError('CONFLICT', `Case ${caseRecord.resource.id} has no active service plan: progress is recorded on the objectives of the plan`);
    }
    const parent = [...plan.goals.values()].find((g) => milestonesOf(g.resource).includes(`Goal/${objectiveId}`));
    const objective = plan.goals.get(objectiveId);
    if (!objective || !parent) {
      throw new FhirError('NOT_FOUND', `Goal/${objectiveId} is not an objective of the active service plan of case ${caseRecord.resource.id} (CarePlan/${plan.resource.id})`);
    }
    const target = objective.resource.target?.[0];
    const unit = payload.unit ?? target?.detailQuantity?.unit;
    const observation: Observation & { id: string } = {
      resourceType: 'Observation',
      id: ids.next('progress'),
      extension: [caseLink(caseRecord.resource.id)],
      basedOn: [ref(`CarePlan/${plan.resource.id}`)],
      status: 'final',
      code: target?.measure ?? { text: objective.resource.description.text ?? 'Progress on objective' },
      subject: ref(caseRecord.client),
      focus: [ref(`Goal/${objectiveId}`)],
      effectiveDateTime: payload.date,
      ...(payload.recordedBy ? { performer: [ref(payload.recordedBy)] } : {}),
      ...(payload.value !== undefined ? { valueQuantity: { value: payload.value, ...(unit ? { unit } : {}) } } : { valueString: payload.text as string }),
      ...(payload.note ? { note: [{ text: payload.note }] } : {}),
    };

    const previous = await latestValue(services, objective.resource, payload.date);
    const code = objectiveAchievement({ ...(target?.detailQuantity ? { target: target.detailQuantity } : {}), ...optional('value', payload.value), ...optional('previous', previous), ...optional('achieved', payload.achieved) });
    const nextObjective = withAchievement(
      { ...withoutServerMeta(objective.resource), outcomeReference: [...(objective.resource.outcomeReference ?? []), ref(`Observation/${observation.id}`)] },
      code,
      payload.date,
    ) as Goal & { id: string };

    const siblings = milestonesOf(parent.resource).map(idOf);
    const codes = siblings
      .map((id) => (id === objectiveId ? nextObjective : plan.goals.get(id)?.resource))
      .filter((g): g is Goal & { id: string } => g !== undefined && g.lifecycleStatus !== 'cancelled' && g.lifecycleStatus !== 'entered-in-error')
      .map(achievementCode);
    const nextParent = withAchievement(withoutServerMeta(parent.resource), goalAchievement(codes), payload.date) as Goal & { id: string };

    const writes: PlannedWrite[] = [created(observation), updated(nextObjective, objective.versionId)];
    if (achievementCode(parent.resource) !== achievementCode(nextParent) || parent.resource.lifecycleStatus !== nextParent.lifecycleStatus) {
      writes.push(updated(nextParent, parent.versionId));
    }
    return { caseId: caseRecord.resource.id, writes };
  },
};

const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

/** The numeric value of the objective's latest measurement before `date`, if any. */
async function latestValue(services: Parameters<typeof searchAll>[0], objective: Goal, date: string): Promise<number | undefined> {
  const ids = (objective.outcomeReference ?? []).map((r) => r.reference ?? '').filter((r) => r.startsWith('Observation/')).map(idOf);
  if (ids.length === 0) return undefined;
  const found = await searchAll(services, 'Observation', { _id: ids.join(',') });
  const measured = found.matches
    .map((m) => m.resource as Observation)
    .filter((o) => o.status !== 'entered-in-error' && o.valueQuantity?.value !== undefined && (o.effectiveDateTime ?? '') <= date)
    .sort((a, b) => ((a.effectiveDateTime ?? '') < (b.effectiveDateTime ?? '') ? -1 : 1));
  return measured.at(-1)?.valueQuantity?.value;
}
