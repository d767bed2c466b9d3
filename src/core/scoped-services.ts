/**
 * The services one request works with: the same as everyone's, but with a repository that sees
 * only what the caller may see (store/repository.ts `scoped`). The route table's dispatcher and
 * the case API both take their services from here, so every read, search, include, history,
 * operation, derivation and write of a request is scoped, without a handler having to ask.
 */
import type { RequestContext } from './context';
import type { FhirServices } from './services';

const computed = new WeakMap<FhirServices, WeakMap<RequestContext, Promise<FhirServices>>>();

/** Computed once per request (a Bundle's entries share their request's). */
export function servicesFor(services: FhirServices, ctx: RequestContext): Promise<FhirServices> {
  let perRequest = computed.get(services);
  if (!perRequest) computed.set(services, (perRequest = new WeakMap()));
  let scoped = perRequest.get(ctx);
  if (!scoped) {
    scoped = services.access.storeAccess(ctx.caller, services.repo).then((storeAccess) => ({ ...services, repo: services.repo.scoped(storeAccess), storeAccess }));
    perRequest.set(ctx, scoped);
  }
  return scoped;
}
