/**
 * The access policy CaseBridge runs with: SMART scopes decide which interactions a caller may
 * perform on which types (allows), and the caller's kind and organisation decide what of the
 * data it sees (storeAccess, access-scope.ts). Deny by default.
 *
 * A caller's store access takes a few index lookups (its cases, referrals, consents); it is kept
 * for a few seconds per organisation, kind and purposes, and dropped at once when this process
 * writes anything it depends on (a case opened, a consent revoked). Another process sharing the
 * database sees such a change within the same few seconds (ACCESS_CACHE_SECONDS).
 */
import type { SearchParameterRegistry } from '../search/registry';
import type { FhirRepository, StoreAccess } from '../store/repository';
import { storeAccessFor } from './access-scope';
import type { AccessPolicy, AccessRequest, Caller } from './caller';
import { scopesAllow } from './scopes';

/** Writes to these types can change what a caller sees. */
const ACCESS_SOURCES: ReadonlySet<string> = new Set(['Patient', 'EpisodeOfCare', 'CareTeam', 'PractitionerRole', 'Coverage', 'Task', 'ServiceRequest', 'Consent']);

export interface AccessPolicyOptions {
  readonly registry: SearchParameterRegistry;
  readonly baseUrl: string;
  /** Real time: consent periods and cache ages. */
  readonly now: () => Date;
  readonly cacheMs: number;
}

export function accessPolicy(options: AccessPolicyOptions): AccessPolicy {
  const cache = new Map<string, { readonly at: number; readonly generation: number; readonly access: Promise<StoreAccess> }>();
  let generation = 0;
  return {
    allows(caller: Caller, request: AccessRequest): boolean {
      return scopesAllow(caller.scopes, request);
    },
    storeAccess(caller: Caller, repo: FhirRepository): Promise<StoreAccess> {
      const key = JSON.stringify([caller.role, caller.organization, caller.purposes ?? []]);
      const now = options.now();
      const cached = cache.get(key);
      if (cached && cached.generation === generation && now.getTime() - cached.at < options.cacheMs) {
        return cached.access;
      }
      const access = storeAccessFor(caller, { repo, registry: options.registry, baseUrl: options.baseUrl, now });
      cache.set(key, { at: now.getTime(), generation, access });
      // A failed computation is not kept.
      access.catch(() => cache.delete(key));
      return access;
    },
    written(resourceTypes: readonly string[]): void {
      if (resourceTypes.some((t) => ACCESS_SOURCES.has(t))) generation++;
    },
  };
}
