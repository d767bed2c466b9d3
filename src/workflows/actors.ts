/**
 * Who background work acts as. A notification, an export or a payer's request is worked for the
 * client that asked for it, with what that client may see (its kind, organisation, scopes and
 * purposes, computed again by the access policy, auth/access-scope.ts) — never more; a partner's
 * referral is mirrored as that partner, the organisation our records name for it. The work takes
 * its services from core/scoped-services exactly as a request does, so every read is scoped, every
 * write goes through the write pipeline, and what the store discloses is reported.
 */
import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth/caller';
import type { RequestContext } from '../core/context';
import { servicesFor } from '../core/scoped-services';
import type { FhirServices } from '../core/services';
import type { Logger } from '../platform/logger';
import type { Partner, RecordedClient } from '../store/records';

/** The caller a recorded client's deferred work runs as (`work` names it in the audit: `subscription:<id>`). */
export function recordedCaller(client: RecordedClient, work: string): Caller {
  return {
    kind: 'system',
    id: client.clientId,
    display: client.display,
    clientId: client.clientId,
    scopes: client.scopes,
    role: client.role,
    purposes: client.purposes,
    ...(client.organization !== undefined ? { organization: client.organization } : {}),
    // Not an access token: the audit's policy names the work instead.
    tokenId: work,
  };
}

/** The partner, as the organisation our records name for it: what it did on its server is recorded here as its own. */
export function partnerCaller(partner: Partner): Caller {
  return {
    kind: 'system',
    id: `partner:${partner.id}`,
    display: partner.name,
    // What mirroring needs; what it may see and write is the partner organisation's scope.
    scopes: ['system/*.crus'],
    role: 'agency',
    purposes: ['TREAT'],
    organization: partner.organization,
    tokenId: `partner:${partner.id}`,
  };
}

/**
 * One of our own organisations (the referring agency of a referral sent, the receiving agency of
 * one received), for the work the referral exchange does in its name: reading what it sends,
 * recording what came back. It sees and writes what that organisation may.
 */
export function organizationCaller(organization: string, work: string): Caller {
  return {
    kind: 'system',
    id: `workflow:${organization}`,
    display: `CaseBridge referral exchange for ${organization}`,
    scopes: ['system/*.crus'],
    role: 'agency',
    purposes: ['TREAT'],
    organization,
    tokenId: work,
  };
}

/**
 * A payer, for the fulfilment of a documentation request it posted: what its organisation may see
 * as a payer (the members it covers), read-only, for the one purpose of use the request stated —
 * never more than the token that posted it carried (cdex-request.ts checks that when it is posted).
 */
export function payerCaller(organization: string, purpose: string, work: string): Caller {
  return {
    kind: 'system',
    id: `payer:${organization}`,
    display: `Payer ${organization}`,
    scopes: ['system/*.rs'],
    role: 'payer',
    purposes: [purpose],
    organization,
    tokenId: work,
  };
}

/** A request context for background work, with its own request id (in the audit and the logs). */
export function workContext(caller: Caller, log: Logger, work: string): RequestContext {
  const requestId = `${work}:${randomUUID()}`;
  return { requestId, caller, log: log.child({ requestId }), prefer: {} };
}

/** The services `caller` works with: the store as it may see it. */
export function servicesAs(services: FhirServices, ctx: RequestContext): Promise<FhirServices> {
  return servicesFor(services, ctx);
}
