/**
 * The referral Task's state machine as a rule of the write pipeline (core/services.ts WriteRule):
 * every write of a referral Task — FHIR API, transaction Bundle, case command — moves its status
 * only as the writer's part in the referral allows (task-status.ts). An invalid move is a 422
 * whose OperationOutcome names the statuses allowed next; a rejection, cancellation, hold or
 * failure without `statusReason.text` is a 422 at `Task.statusReason`.
 *
 * The writer's part is read from the version the write replaces (so a write cannot make its
 * writer the owner): its organisation, or one of that organisation's PractitionerRoles, is the
 * Task's requester or owner. An administrator (the hosting agency's own integration) is no party:
 * it may set any status (a migration, a reloaded case), with a reason where one is due. Creating a referral is the requester's, as a draft or as sent (requested). The case API's
 * update-referral-status records, for the referring organisation, what the receiving one
 * reported out of band: it may record the owner's moves (RequestContext.recordsForReferralOwner).
 * See: http://hl7.org/fhir/us/sdoh-clinicalcare/referral_workflow.html
 */
import type { PractitionerRole, Reference, Task } from '@medplum/fhirtypes';
import type { Caller } from '../../auth/caller';
import type { RequestContext } from '../../core/context';
import type { FhirServices, WriteRule } from '../../core/services';
import { FhirError } from '../../fhir/outcomes';
import { readIfPresent } from '../../store/repository';
import { type ReferralRole, STATUSES_NEEDING_REASON, checkTransition } from './task-status';

export const TASK_CODE_SYSTEM = 'http://hl7.org/fhir/CodeSystem/task-code';

/** An SDOHCC referral Task: intent order, code task-code#fulfill. */
export function isReferralTask(task: Task): boolean {
  return (task.code?.coding ?? []).some((c) => c.system === TASK_CODE_SYSTEM && c.code === 'fulfill');
}

export const referralTaskRule: WriteRule = {
  resourceTypes: ['Task'],
  async check(services, ctx, write) {
    const task = write.resource as Task & { id: string };
    if (!isReferralTask(task)) return;
    const hasReason = (task.statusReason?.text ?? '').trim() !== '';
    // An administrator is no party to the referral: the hosting agency's integration may migrate or
    // reload a referral's history (npm run seed rewinds a case it reloads). A reason is still due.
    if (ctx.caller.role === 'administrator') {
      if (STATUSES_NEEDING_REASON.has(task.status) && !hasReason) throw reasonRequired(task);
      return;
    }
    const current = write.kind === 'update' ? await readIfPresent(services.repo, 'Task', task.id) : undefined;
    const before = current && isReferralTask(current.resource as Task) ? (current.resource as Task) : undefined;
    // The parties are those of the referral as it stands; a new one names its own.
    const roles = await rolesOf(services, ctx, before ?? task);
    if (before === undefined && !roles.includes('requester')) {
      throw new FhirError('FORBIDDEN', 'A referral is created by its requester: this client acts for neither the Task’s requester nor an administrator', {
        expression: ['Task.requester'],
      });
    }
    if (before !== undefined && before.status !== task.status && roles.length === 0) {
      throw new FhirError('FORBIDDEN', 'Only the referral’s requester or owner may change its status', { expression: ['Task.status'] });
    }
    const outcome = checkTransition({ from: before?.status, to: task.status, roles, hasReason });
    if (outcome.ok) return;
    if (outcome.problem === 'reason-required') throw reasonRequired(task);
    const allowed = outcome.allowed.length > 0 ? outcome.allowed.join(', ') : 'none';
    const as = roles.length === 2 ? 'requester or owner' : (roles[0] ?? 'neither party');
    throw new FhirError(
      'BUSINESS_RULE',
      before === undefined
        ? `A new referral is ${allowed}, not ${task.status}`
        : `The referral is ${before.status}: as its ${as} this client may move it to ${allowed}, not ${task.status}`,
      { expression: ['Task.status'] },
    );
  },
};

function reasonRequired(task: Task): FhirError {
  return new FhirError('BUSINESS_RULE', `A referral that becomes ${task.status} says why: statusReason.text is required`, { expression: ['Task.statusReason'] });
}

/** The caller's parts in the referral `task`: requester, owner, both, or none. */
async function rolesOf(services: FhirServices, ctx: RequestContext, task: Task): Promise<ReferralRole[]> {
  const caller = ctx.caller;
  const roles: ReferralRole[] = [];
  if (await actsFor(services, caller, task.requester)) roles.push('requester');
  if (await actsFor(services, caller, task.owner)) roles.push('owner');
  // The referring case manager recording what the receiving organisation reported (case API).
  if (ctx.recordsForReferralOwner === true && roles.includes('requester') && !roles.includes('owner')) roles.push('owner');
  return roles;
}

/** True when `party` is the caller's organisation or one of its PractitionerRoles. */
async function actsFor(services: FhirServices, caller: Caller, party: Reference | undefined): Promise<boolean> {
  const organization = caller.organization;
  const reference = party?.reference;
  if (organization === undefined || reference === undefined) return false;
  if (reference === organization || reference === `${services.settings.baseUrl}/${organization}`) return true;
  const role = /^(?:.*\/)?PractitionerRole\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  if (!role || (reference.includes('://') && !reference.startsWith(`${services.settings.baseUrl}/`))) return false;
  const found = await readIfPresent(services.repo, 'PractitionerRole', role[1] as string);
  return (found?.resource as PractitionerRole | undefined)?.organization?.reference === organization;
}
