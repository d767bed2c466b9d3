import type { Caller } from '../auth/caller';
import type { Logger } from '../platform/logger';
import type { FhirRequest, FhirResponse, Prefer } from './exchange';

/** Everything an interaction or a case command knows about the call besides its request. */
export interface RequestContext {
  readonly requestId: string;
  readonly caller: Caller;
  readonly log: Logger;
  readonly prefer: Prefer;
  /**
   * Set by a case command that records what a referral's receiving organisation reported out of
   * band (a phone call): the referring organisation may then record the owner's status changes
   * (workflows/referrals/referral-rule.ts). Never set from a request.
   */
  readonly recordsForReferralOwner?: boolean;
}

/**
 * Runs one FHIR request through the route table (rest/dispatcher). Bundle processing receives it
 * as a value, so the processor and the table that routes to it never import each other.
 */
export type Dispatch = (ctx: RequestContext, request: FhirRequest) => Promise<FhirResponse>;
