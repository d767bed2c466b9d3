/**
 * The caller as the audit names it: its client id and name, the organisation it acts for, its
 * kind, the purposes of use in force (auth/access-scope.ts: what its data access is granted
 * for) and, for a token-bearing client, the token's id.
 */
import { purposesOf } from '../auth/access-scope';
import type { Caller } from '../auth/caller';
import type { AuditedCaller } from './audit-event';

export function auditedCaller(caller: Caller): AuditedCaller {
  // Optional fields read alike from every kind of caller (an anonymous one has none of them).
  const fields = caller as Caller & { readonly organization?: string; readonly role?: string; readonly tokenId?: string };
  return {
    id: caller.id,
    display: caller.display,
    ...(fields.organization ? { organization: fields.organization } : {}),
    ...(fields.role ? { role: fields.role } : {}),
    purposes: purposesOf(caller),
    ...(fields.tokenId ? { tokenId: fields.tokenId } : {}),
  };
}
