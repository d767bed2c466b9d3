/**
 * A case manager's decision on a payer's documentation request that policy left for review
 * (Da Vinci CDex, documentation-requests.ts lists them):
 *  - approve: the Task becomes `accepted`; the workflows then fulfil it exactly as they fulfil an
 *    automatic one (workflows/cdex/cdex-worker.ts: searched as the payer may see the record, for
 *    the purpose it stated, in the client's record only; Task.output names what was produced; the
 *    disclosure audited; attachments pushed to the payer's $submit-attachment);
 *  - decline: the Task becomes `rejected` with the reason in statusReason, as CDex has a provider
 *    refuse a request.
 * Only a request still `requested` can be decided (409 otherwise); the caller's organisation must
 * own it (404 otherwise: another agency's requests are not seen).
 * See: https://hl7.org/fhir/us/davinci-cdex/task-based-approach.html
 */
import type { Task } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/outcomes';
import { withoutServerMeta } from '../../fhir/resource-body';
import { type CaseCommand, updated } from '../command';
import { documentationRequest } from '../documentation-requests';
import {
  type ApproveDocumentationRequestPayload,
  type DeclineDocumentationRequestPayload,
  approveDocumentationRequestSchema,
  declineDocumentationRequestSchema,
} from '../schemas/documentation-requests';

export const APPROVED = 'Approved by a case manager';

type Decision = { status: 'accepted'; note?: string } | { status: 'rejected'; reason: string; note?: string };

async function decide(input: Parameters<CaseCommand<unknown>['plan']>[0], decision: Decision) {
  const { services, ctx, params, now } = input;
  const { resource: task, versionId } = await documentationRequest(services, ctx, params.requestId as string);
  if (task.status !== 'requested') {
    throw new FhirError('CONFLICT', `Documentation request ${task.id} was already decided: it is ${task.status}`, { expression: ['requestId'] });
  }
  const at = now.toISOString();
  const { businessStatus: _waiting, statusReason: _reason, ...current } = withoutServerMeta(task) as Task & { id: string };
  const next: Task & { id: string } = {
    ...current,
    status: decision.status,
    ...(decision.status === 'accepted' ? { businessStatus: { text: APPROVED } } : { statusReason: { text: decision.reason } }),
    lastModified: at,
    ...(decision.note ? { note: [...(task.note ?? []), { text: decision.note, time: at }] } : {}),
  };
  return { caseId: undefined, writes: [updated(next, versionId)] };
}

export const approveDocumentationRequest: CaseCommand<ApproveDocumentationRequestPayload> = {
  name: 'approve-documentation-request',
  schema: approveDocumentationRequestSchema,
  plan: (input) => decide(input, { status: 'accepted', ...(input.payload.note ? { note: input.payload.note } : {}) }),
};

export const declineDocumentationRequest: CaseCommand<DeclineDocumentationRequestPayload> = {
  name: 'decline-documentation-request',
  schema: declineDocumentationRequestSchema,
  plan: (input) => decide(input, { status: 'rejected', reason: input.payload.reason, ...(input.payload.note ? { note: input.payload.note } : {}) }),
};
