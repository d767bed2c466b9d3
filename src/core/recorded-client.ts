import type { Caller } from '../auth/caller';
import type { RecordedClient } from '../store/records';

/**
 * What a caller is recorded as, for work done later on its behalf (an export job, a
 * subscription's deliveries): a registered client only, with its organisation, role, scopes and
 * purposes as they were when it asked.
 */
export function recordCaller(caller: Caller): RecordedClient | undefined {
  if (caller.kind !== 'system' || caller.role === undefined) return undefined;
  return {
    clientId: caller.clientId ?? caller.id,
    display: caller.display,
    ...(caller.organization !== undefined ? { organization: caller.organization } : {}),
    role: caller.role,
    scopes: [...caller.scopes],
    purposes: [...(caller.purposes ?? [])],
  };
}
