/**
 * Referrals (Gravity SDOHCC referral management, CASE-MANAGEMENT-FHIR.md §1): a ServiceRequest
 * (cb-referral: intent order, linked to the case, performer = the receiving organization,
 * supportingInfo → the consent) and a Task (cb-referral-task: status requested, code fulfill,
 * focus → the ServiceRequest, owner = the receiving organization). The receiving organization
 * may move the Task itself through the FHIR API; a case manager told by phone records it here.
 * Either way the case view reads the Task, and the same state machine applies
 * (workflows/referrals/task-status.ts: 422 naming the statuses allowed next).
 */
import type { ServiceRequest, Task } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/outcomes';
import type { FhirServices } from '../../core/services';
import { type CaseRecord, loadCase, readVersioned, searchAll } from '../case-record';
import { assertCommandAllowed } from '../lifecycle';
import { withoutServerMeta } from '../../fhir/resource-body';
import { allowedNext } from '../../workflows/referrals/task-status';
import { type CaseCommand, created, updated } from '../command';
import { type MakeReferralPayload, makeReferralSchema } from '../schemas/make-referral';
import { type UpdateReferralStatusPayload, updateReferralStatusSchema } from '../schemas/update-referral-status';
import { PERTAINS_TO_GOAL, SYSTEMS, WORKFLOW_EPISODE, caseLink, claiming, coded, concept, localReference, ref } from '../vocabulary';

export interface ReferralInput {
  readonly caseRecord: CaseRecord;
  readonly service: MakeReferralPayload['service'];
  readonly to: string;
  readonly reason: string;
  readonly priority?: MakeReferralPayload['priority'];
  readonly consent?: string;
  readonly goal?: string;
  readonly requestedBy?: string;
  readonly authored: string;
  readonly note?: string;
  readonly ids: { readonly referral: string; readonly task: string };
  /** Documents sent with the referral (Task.input), e.g. a transition summary. */
  readonly attachments?: readonly string[];
}

/** The ServiceRequest and Task of a referral. */
export function referralResources(input: ReferralInput): [ServiceRequest & { id: string }, Task & { id: string }] {
  const { caseRecord } = input;
  const episode = caseRecord.resource;
  const manager = localReference(episode.careManager);
  const requester = input.requestedBy ?? (manager?.startsWith('PractitionerRole/') ? manager : (localReference(episode.managingOrganization) as string));
  const referral: ServiceRequest & { id: string } = {
    resourceType: 'ServiceRequest',
    id: input.ids.referral,
    ...claiming('cb-referral'),
    extension: [caseLink(episode.id), ...(input.goal ? [{ url: PERTAINS_TO_GOAL, valueReference: ref(input.goal) }] : [])],
    status: 'active',
    intent: 'order',
    priority: input.priority ?? 'routine',
    code: concept(input.service),
    subject: ref(caseRecord.client),
    authoredOn: input.authored,
    requester: ref(requester),
    performer: [ref(input.to)],
    reasonCode: [{ text: input.reason }],
    ...(input.consent ? { supportingInfo: [ref(input.consent)] } : {}),
    ...(input.note ? { note: [{ text: input.note }] } : {}),
  };
  const task: Task & { id: string } = {
    resourceType: 'Task',
    id: input.ids.task,
    ...claiming('cb-referral-task'),
    status: 'requested',
    intent: 'order',
    priority: input.priority ?? 'routine',
    code: coded(SYSTEMS.taskCode, 'fulfill', 'Fulfill the focal request'),
    description: input.service.text,
    focus: ref(`ServiceRequest/${referral.id}`),
    for: ref(caseRecord.client),
    authoredOn: input.authored,
    lastModified: input.authored,
    requester: ref(requester),
    owner: ref(input.to),
    ...(input.attachments && input.attachments.length > 0
      ? { input: input.attachments.map((a) => ({ type: { text: 'Transition summary' }, valueReference: ref(a) })) }
      : {}),
  };
  return [referral, task];
}

export const makeReferral: CaseCommand<MakeReferralPayload> = {
  name: 'make-referral',
  schema: makeReferralSchema,
  async plan({ services, payload, params, ids, now }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertCommandAllowed(caseRecord.resource, 'make-referral', 'make a referral');
    const [referral, task] = referralResources({
      caseRecord,
      ...payload,
      authored: payload.authored ?? now.toISOString(),
      ids: { referral: ids.next('referral'), task: ids.next('referral-task') },
    });
    return { caseId: caseRecord.resource.id, writes: [created(referral), created(task)] };
  },
};

/** The ServiceRequest's status that follows its Task's. */
const REQUEST_STATUS: Readonly<Record<string, ServiceRequest['status']>> = {
  accepted: 'active',
  'in-progress': 'active',
  'on-hold': 'on-hold',
  completed: 'completed',
  rejected: 'revoked',
  cancelled: 'revoked',
  failed: 'revoked',
};

export const updateReferralStatus: CaseCommand<UpdateReferralStatusPayload> = {
  name: 'update-referral-status',
  schema: updateReferralStatusSchema,
  async plan({ services, payload, params, now }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    const { referral, task } = await referralOfCase(services, caseRecord, params.referralId as string);
    const from = task.resource.status;
    // The case manager records what either party did (the receiving organisation's moves as it reported them).
    const allowed = allowedNext(from, ['requester', 'owner']);
    if (!allowed.includes(payload.status)) {
      throw new FhirError('BUSINESS_RULE', `The referral is ${from}: it may become ${allowed.join(', ') || 'nothing further'}, not ${payload.status}`, {
        expression: ['status'],
      });
    }
    const at = payload.date ?? now.toISOString();
    const { statusReason: _reason, ...current } = withoutServerMeta(task.resource);
    const nextTask: Task & { id: string } = {
      ...current,
      status: payload.status,
      ...(payload.reason ? { statusReason: { text: payload.reason } } : {}),
      lastModified: at,
      ...(payload.note ? { note: [...(task.resource.note ?? []), { text: payload.note, time: at }] } : {}),
    };
    const writes = [updated(nextTask, task.versionId)];
    const requestStatus = REQUEST_STATUS[payload.status];
    if (requestStatus && requestStatus !== referral.resource.status) {
      writes.push(updated({ ...withoutServerMeta(referral.resource), status: requestStatus }, referral.versionId));
    }
    return { caseId: caseRecord.resource.id, writes, recordsForReferralOwner: true };
  },
};

/** The referral (ServiceRequest of this case) and its Task, or 404. */
async function referralOfCase(services: FhirServices, caseRecord: CaseRecord, referralId: string) {
  const referral = await readVersioned<ServiceRequest>(services, 'ServiceRequest', referralId);
  const link = referral?.resource.extension?.find((e) => e.url === WORKFLOW_EPISODE)?.valueReference;
  if (!referral || referral.resource.intent !== 'order' || localReference(link) !== `EpisodeOfCare/${caseRecord.resource.id}`) {
    throw new FhirError('NOT_FOUND', `There is no referral ${referralId} in case ${caseRecord.resource.id}`);
  }
  const tasks = await searchAll(services, 'Task', { focus: `ServiceRequest/${referralId}`, code: `${SYSTEMS.taskCode}|fulfill` });
  const [found] = tasks.matches.sort((a, b) => (a.lastUpdated < b.lastUpdated ? 1 : -1));
  if (!found) {
    throw new FhirError('NOT_FOUND', `Referral ${referralId} has no Task to update`);
  }
  return { referral, task: { resource: found.resource as Task & { id: string }, versionId: found.versionId } };
}
