/**
 * Who is calling and what they may do. Every interaction receives a Caller through the
 * RequestContext; the security work (SMART scopes, agency isolation, consent) fills it in from
 * the access token without touching the handlers.
 */
import type { FhirRepository, StoreAccess } from '../store/repository';

/** The kinds of client a registration gives; access-scope.ts says what each may see. */
export type Role = 'agency' | 'ehr' | 'payer' | 'auditor' | 'administrator';
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

export interface Caller {
  readonly kind: 'anonymous' | 'user' | 'system';
  /** Stable identifier used in logs, Provenance and AuditEvent. */
  readonly id: string;
  readonly display: string;
  /** SMART v2 style scopes, e.g. "system/*.cruds". */
  readonly scopes: readonly string[];
  /** The organisation the client acts for (`Organization/<id>`), from its registration. */
  readonly organization?: string;
  /** The kind of client (access-scope.ts): what of the data it may see. */
  readonly role?: Role;
  /** Purposes of use stated when the token was requested (v3 ActReason codes: TREAT, HPAYMT…). */
  readonly purposes?: readonly string[];
}

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

/** Until SMART lands every caller is anonymous with full access (issue: security). */
export const ANONYMOUS_FULL_ACCESS: Caller = Object.freeze({
  kind: 'anonymous',
  id: 'anonymous',
  display: 'Anonymous caller (no authentication configured)',
  scopes: Object.freeze(['system/*.cruds']),
  role: 'administrator',
});
