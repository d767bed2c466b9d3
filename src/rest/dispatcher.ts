/**
 * dispatch: a FhirRequest → its route in the table → the hooks → the route's handler. Hooks see
 * every interaction by name before and after it runs, whoever sent it (HTTP, or an entry of a
 * batch or transaction Bundle): the access check is one, audit and metrics are others.
 */
import type { Interaction } from '../auth/caller';
import { authorize } from '../auth/authorize';
import type { Dispatch, RequestContext } from '../core/context';
import type { FhirRequest, FhirResponse } from '../core/exchange';
import { servicesFor } from '../core/scoped-services';
import type { FhirServices } from '../core/services';
import { type RouteParams, type Route, ROUTES, matchRoute } from './route-table';

/** One interaction about to run, as the hooks see it. */
export interface Invocation {
  readonly services: FhirServices;
  readonly ctx: RequestContext;
  readonly request: FhirRequest;
  readonly interaction: Interaction;
  readonly params: RouteParams;
}

/** Runs around an interaction: may refuse it (throw), observe it, or change its answer. */
export type Hook = (invocation: Invocation, next: () => Promise<FhirResponse>) => Promise<FhirResponse>;

/** Deny by default: the caller needs the access the interaction asks for (auth/authorize). */
export const authorizeInteraction: Hook = (invocation, next) => {
  const { services, ctx, interaction, params } = invocation;
  authorize(services.access, ctx.caller, { interaction, ...(params.resourceType ? { resourceType: params.resourceType } : {}) });
  return next();
};

export interface DispatcherOptions {
  readonly services: FhirServices;
  /** Outermost first; default: the access check alone. */
  readonly hooks?: readonly Hook[];
  readonly routes?: readonly Route[];
}

export function createDispatcher(options: DispatcherOptions): Dispatch {
  const { services, hooks = [authorizeInteraction], routes = ROUTES } = options;
  const dispatch: Dispatch = async (ctx, request) => {
    const { route, interaction, params } = matchRoute(request, routes);
    // The handler sees the store as the caller may (core/scoped-services).
    const scoped = await servicesFor(services, ctx);
    const invocation: Invocation = { services: scoped, ctx, request, interaction, params };
    const run = (i: number): Promise<FhirResponse> => {
      const hook = hooks[i];
      return hook ? hook(invocation, () => run(i + 1)) : route.handle({ services: scoped, ctx, request, params, dispatch });
    };
    return run(0);
  };
  return dispatch;
}
