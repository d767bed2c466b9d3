/**
 * The one access decision every entry point asks for: the route table before an interaction
 * runs, and the write pipeline before each write (FHIR API, Bundle entries, case commands).
 * Deny by default: what the policy does not grant is refused.
 */
import { FhirError } from '../fhir/outcomes';
import type { AccessPolicy, AccessRequest, Caller } from './caller';
import { scopesAllow } from './scopes';

/** Throws FORBIDDEN (403) unless `policy` lets `caller` make `request`. */
export function authorize(policy: AccessPolicy, caller: Caller, request: AccessRequest): void {
  if (!policy.allows(caller, request)) {
    const { interaction, resourceType } = request;
    throw new FhirError('FORBIDDEN', `Not allowed: ${interaction}${resourceType ? ` on ${resourceType}` : ''}`);
  }
}

/** Grants what the caller's token scopes grant (auth/scopes.ts); nothing without a token. */
export const scopeAccessPolicy: AccessPolicy = {
  allows: (caller, request) => scopesAllow(caller.scopes, request),
};
