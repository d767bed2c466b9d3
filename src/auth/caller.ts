/**
 * Who is calling and what they may do. Every interaction receives a Caller through the
 * RequestContext. The authentication middleware (http/authentication.ts) is the one place that
 * makes one: from a valid access token (a registered client), or the unauthenticated caller for
 * the few public endpoints (the CapabilityStatement), which holds no scope and so is granted
 * nothing the policy guards.
 */
import type { ClientRole } from '../store/records';
import type { FhirRepository, StoreAccess } from '../store/repository';

export type Interaction =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'create'
  | 'search-type'
  | 'search-system'
  | 'capabilities'
  | 'batch'
  | 'transaction'
  | 'operation';

/** What a registered client is (agency, ehr, payer, auditor, administrator), which the access
 *  policy reads beside its scopes; the client record (store/records) holds it. */
export { CLIENT_ROLES, type ClientRole } from '../store/records';

/** Same as ClientRole: the name the access policy uses. */
export type Role = ClientRole;

export interface Caller {
  /** 'system': a registered client (SMART Backend Services) with a valid token; 'anonymous': no
   *  token, which only public endpoints (the CapabilityStatement) let through. */
  readonly kind: 'anonymous' | 'system';
  /** Stable identifier used in logs, Provenance and AuditEvent: the client_id for a client. */
  readonly id: string;
  readonly display: string;
  /** The scopes granted in the access token, as written there (SMART v1 or v2, e.g.
   *  "system/*.cruds", "system/Observation.rs?category=…"); auth/scopes.ts reads them. None
   *  without a token. */
  readonly scopes: readonly string[];
  /** The fields below are a client's (kind 'system'), from its access token; absent otherwise. */
  readonly clientId?: string;
  /** The organisation it acts for, `Organization/<id>`; absent also for an administrator or an
   *  auditor registered for no organisation. */
  readonly organization?: string;
  readonly role?: Role;
  /** Purposes of use the token states (v3-ActReason codes such as TREAT, HPAYMT), each one the
   *  client is registered for; empty when it stated none. */
  readonly purposes?: readonly string[];
  /** The access token's jti: ties an audit record to one token. */
  readonly tokenId?: string;
  /** When the access token expires. */
  readonly expiresAt?: Date;
}

/** A caller the authentication middleware made from a valid access token. */
export type ClientCaller = Caller & {
  readonly kind: 'system';
  readonly clientId: string;
  readonly role: Role;
  readonly purposes: readonly string[];
  readonly tokenId: string;
  readonly expiresAt: Date;
};

/** The caller of a request that presents no token; public endpoints only. */
export const UNAUTHENTICATED: Caller = Object.freeze({
  kind: 'anonymous',
  id: 'anonymous',
  display: 'Unauthenticated caller',
  scopes: Object.freeze([]) as readonly string[],
});

export interface AccessRequest {
  readonly interaction: Interaction;
  readonly resourceType?: string;
}

/** Decides what a caller may do; deny by default. */
export interface AccessPolicy {
  /** Whether the caller may perform the interaction at all (its scopes). */
  allows(caller: Caller, request: AccessRequest): boolean;
  /** What of the data the caller may see, and whom its writes belong to: the store applies it (store/repository.ts). */
  storeAccess(caller: Caller, repo: FhirRepository): Promise<StoreAccess>;
  /** Told of the types each applied unit wrote, so that what depends on them is recomputed. */
  written?(resourceTypes: readonly string[]): void;
}

