/**
 * Who is calling and what they may do. Every interaction receives a Caller through the
 * RequestContext; the security work (SMART scopes, agency isolation, consent) fills it in from
 * the access token without touching the handlers.
 */
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

export interface Caller {
  readonly kind: 'anonymous' | 'user' | 'system';
  /** Stable identifier used in logs, Provenance and AuditEvent. */
  readonly id: string;
  readonly display: string;
  /** SMART v2 style scopes, e.g. "system/*.cruds". */
  readonly scopes: readonly string[];
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
}

/** Until SMART lands every caller is anonymous with full access (issue: security). */
export const ANONYMOUS_FULL_ACCESS: Caller = Object.freeze({
  kind: 'anonymous',
  id: 'anonymous',
  display: 'Anonymous caller (no authentication configured)',
  scopes: Object.freeze(['system/*.cruds']),
});

/** Grants what the caller's scopes grant. Scopes: (patient|user|system)/(Type|*).(c|r|u|d|s)+ */
export const scopeAccessPolicy: AccessPolicy = {
  async storeAccess() {
    return {};
  },
  allows(caller, request) {
    const needed = permissionFor(request.interaction);
    if (needed === undefined) {
      return true;
    }
    return caller.scopes.some((scope) => grants(scope, request.resourceType, needed));
  },
};

function permissionFor(interaction: Interaction): 'c' | 'r' | 'u' | 'd' | 's' | undefined {
  switch (interaction) {
    case 'read':
    case 'vread':
    case 'history-instance':
    case 'history-type':
    case 'history-system':
      return 'r';
    case 'create':
      return 'c';
    case 'update':
    case 'patch':
      return 'u';
    case 'delete':
      return 'd';
    case 'search-type':
    case 'search-system':
      return 's';
    case 'capabilities':
    case 'batch':
    case 'transaction':
    case 'operation':
      // Bundles are checked entry by entry; operations check what they touch.
      return undefined;
  }
}

function grants(scope: string, resourceType: string | undefined, needed: string): boolean {
  const match = /^(patient|user|system)\/([A-Za-z]+|\*)\.([cruds]+|read|write|\*)$/.exec(scope);
  if (!match) {
    return false;
  }
  const [, , type, perms] = match as unknown as [string, string, string, string];
  if (type !== '*' && type !== resourceType) {
    return false;
  }
  // SMART v1 "read"/"write"/"*" map onto v2 letters.
  const letters = perms === '*' ? 'cruds' : perms === 'read' ? 'rs' : perms === 'write' ? 'cud' : perms;
  return letters.includes(needed);
}
