/**
 * The services one request works with: the same as everyone's, but with a repository that sees
 * only what the caller may see (store/repository.ts `scoped`). The route table's dispatcher and
 * the case API both take their services from here, so every read, search, include, history,
 * operation, derivation and write of a request is scoped, without a handler having to ask. Its
 * scope also tells the request's Disclosures what it shows outside the owning organisation.
 */
import type { Disclosure } from '../store/repository';
import type { RequestContext } from './context';
import { Disclosures } from './disclosures';
import type { FhirServices } from './services';

const computed = new WeakMap<FhirServices, WeakMap<RequestContext, Promise<FhirServices>>>();

/** Computed once per request (a Bundle's entries share their request's). */
export function servicesFor(services: FhirServices, ctx: RequestContext): Promise<FhirServices> {
  let perRequest = computed.get(services);
  if (!perRequest) computed.set(services, (perRequest = new WeakMap()));
  let scoped = perRequest.get(ctx);
  if (!scoped) {
    scoped = services.access.storeAccess(ctx.caller, services.repo).then((storeAccess) => {
      // The caller's scope is shared by its requests (cached); what one request discloses is its own.
      const disclosures = new Disclosures();
      const reporting = storeAccess.scope ? { ...storeAccess, scope: { ...storeAccess.scope, onDisclosure: (d: Disclosure) => disclosures.add(d) } } : storeAccess;
      return { ...services, repo: services.repo.scoped(reporting), storeAccess, disclosures };
    });
    perRequest.set(ctx, scoped);
  }
  return scoped;
}
