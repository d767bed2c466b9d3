/**
 * The one access decision every entry point asks for: the route table before an interaction
 * runs, and the write pipeline before each write (FHIR API, Bundle entries, case commands).
 * Deny by default: what the policy does not grant is refused.
 */
import { FhirError } from '../fhir/outcomes';
import { AUDIT_TYPES } from './access-scope';
import type { AccessPolicy, AccessRequest, Caller, Interaction } from './caller';

const WRITES: ReadonlySet<Interaction> = new Set(['create', 'update', 'patch', 'delete']);

/** Throws FORBIDDEN (403) unless `policy` lets `caller` make `request`. */
export function authorize(policy: AccessPolicy, caller: Caller, request: AccessRequest): void {
  // The audit log is append-only: CaseBridge alone writes AuditEvents (src/audit); no client
  // creates, changes or deletes one, whatever its scopes — administrators and auditors included.
  if (request.resourceType !== undefined && AUDIT_TYPES.has(request.resourceType) && WRITES.has(request.interaction)) {
    throw new FhirError('FORBIDDEN', `Not allowed: ${request.interaction} on ${request.resourceType} (the audit log is append-only and written by CaseBridge alone)`);
  }
  if (!policy.allows(caller, request)) {
    const { interaction, resourceType } = request;
    throw new FhirError('FORBIDDEN', `Not allowed: ${interaction}${resourceType ? ` on ${resourceType}` : ''}`);
  }
}
