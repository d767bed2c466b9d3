/**
 * The FHIR RESTful API as one table: each interaction is registered once, with its method, its
 * path below [base] and its interaction name, so that authorization, audit and metrics hook onto
 * the table (dispatcher.ts) rather than onto handlers. HTTP requests and Bundle entries are
 * routed through the same table.
 * See: https://hl7.org/fhir/R4/http.html#summary
 */
import type { Bundle } from '@medplum/fhirtypes';
import type { Interaction } from '../auth/caller';
import type { Dispatch, RequestContext } from '../core/context';
import type { FhirRequest, FhirResponse, HttpMethod } from '../core/exchange';
import type { FhirServices } from '../core/services';
import { isResourceType } from '../fhir/definitions';
import { FhirError } from '../fhir/outcomes';
import { processBundle } from './bundle/bundle-processor';
import { capabilities } from './interactions/capabilities';
import { conditionalCreate, conditionalDelete, conditionalPatch, conditionalUpdate } from './interactions/conditional';
import { history } from './interactions/history';
import { invokeOperation } from './interactions/operation';
import { patch } from './interactions/patch';
import { read, vread } from './interactions/read';
import { compartmentSearch, search } from './interactions/search';
import { create, remove, update } from './interactions/write';

/** What a path's parameters captured: `:type`, `:id`, `:version`, `:compartment`, `$operation`. */
export interface RouteParams {
  /** The type acted on (for a compartment search, the type searched; absent for `*`). */
  readonly resourceType?: string;
  readonly id?: string;
  readonly version?: string;
  readonly operation?: string;
  /** Patient/[id]/…: the compartment searched. */
  readonly compartment?: { readonly resourceType: string; readonly id: string };
}

/** One call of a route's handler. */
export interface RouteCall {
  readonly services: FhirServices;
  readonly ctx: RequestContext;
  readonly request: FhirRequest;
  readonly params: RouteParams;
  /** The dispatcher itself, for handlers that route further requests (Bundle entries). */
  readonly dispatch: Dispatch;
}

export interface Route {
  readonly method: HttpMethod | 'any';
  /**
   * Segments below [base]: a literal, `:type` (an R4 resource type, else 404), `:id`, `:version`,
   * `:compartment` and `:compartmentId`, or `$operation` (any segment starting with `$`).
   */
  readonly path: string;
  /** The interaction, or how to tell which of several it is (a Bundle is a batch or a transaction). */
  readonly interaction: Interaction | { readonly choices: readonly Interaction[]; readonly of: (request: FhirRequest) => Interaction };
  readonly handle: (call: RouteCall) => Promise<FhirResponse>;
}

const type = (params: RouteParams) => params.resourceType as string;
const target = (params: RouteParams) => ({ resourceType: params.resourceType as string, id: params.id as string });

/**
 * The table. Within one path, routes are listed in the order a 405 names their methods; a literal
 * path comes before the parameter it would also match (`:type/_history` before `:type/:id`).
 */
export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '', interaction: 'search-system', handle: ({ services, ctx, request }) => search(services, ctx, request, undefined) },
  { method: 'POST', path: '', interaction: { choices: ['batch', 'transaction'], of: bundleInteraction }, handle: ({ services, ctx, request, dispatch }) => processBundle(services, ctx, request, dispatch) },
  { method: 'GET', path: 'metadata', interaction: 'capabilities', handle: ({ services, request }) => capabilities(services, request, servedInteractions()) },
  { method: 'GET', path: '_history', interaction: 'history-system', handle: ({ services, request }) => history(services, request, { level: 'system' }) },
  { method: 'any', path: '$operation', interaction: 'operation', handle: ({ services, ctx, request, params }) => invokeOperation(services, ctx, request, { level: 'system', name: params.operation as string }) },
  { method: 'GET', path: ':type', interaction: 'search-type', handle: ({ services, ctx, request, params }) => search(services, ctx, request, type(params)) },
  {
    method: 'POST',
    path: ':type',
    interaction: 'create',
    handle: ({ services, ctx, request, params }) => (request.headers.ifNoneExist === undefined ? create : conditionalCreate)(services, ctx, request, type(params)),
  },
  { method: 'PUT', path: ':type', interaction: 'update', handle: ({ services, ctx, request, params }) => conditionalUpdate(services, ctx, request, type(params)) },
  { method: 'DELETE', path: ':type', interaction: 'delete', handle: ({ services, ctx, request, params }) => conditionalDelete(services, ctx, request, type(params)) },
  { method: 'PATCH', path: ':type', interaction: 'patch', handle: ({ services, ctx, request, params }) => conditionalPatch(services, ctx, request, type(params)) },
  { method: 'POST', path: ':type/_search', interaction: 'search-type', handle: ({ services, ctx, request, params }) => search(services, ctx, request, type(params)) },
  { method: 'GET', path: ':type/_history', interaction: 'history-type', handle: ({ services, request, params }) => history(services, request, { level: 'type', resourceType: type(params) }) },
  {
    method: 'any',
    path: ':type/$operation',
    interaction: 'operation',
    handle: ({ services, ctx, request, params }) => invokeOperation(services, ctx, request, { level: 'type', resourceType: type(params), name: params.operation as string }),
  },
  { method: 'GET', path: ':type/:id', interaction: 'read', handle: ({ services, request, params }) => read(services, request, target(params)) },
  { method: 'PUT', path: ':type/:id', interaction: 'update', handle: ({ services, ctx, request, params }) => update(services, ctx, request, target(params)) },
  { method: 'PATCH', path: ':type/:id', interaction: 'patch', handle: ({ services, ctx, request, params }) => patch(services, ctx, request, target(params)) },
  { method: 'DELETE', path: ':type/:id', interaction: 'delete', handle: ({ services, ctx, request, params }) => remove(services, ctx, request, target(params)) },
  {
    method: 'GET',
    path: ':type/:id/_history',
    interaction: 'history-instance',
    handle: ({ services, request, params }) => history(services, request, { level: 'instance', ...target(params) }),
  },
  {
    method: 'any',
    path: ':type/:id/$operation',
    interaction: 'operation',
    handle: ({ services, ctx, request, params }) => invokeOperation(services, ctx, request, { level: 'instance', ...target(params), name: params.operation as string }),
  },
  // Patient/[id]/* searches every type of the compartment. See: https://hl7.org/fhir/R4/http.html#search
  {
    method: 'GET',
    path: ':compartment/:compartmentId/*',
    interaction: 'search-system',
    handle: ({ services, ctx, request, params }) => compartmentSearch(services, ctx, request, { ...compartmentOf(params), resourceType: '*' }),
  },
  {
    method: 'GET',
    path: ':compartment/:compartmentId/:type',
    interaction: 'search-type',
    handle: ({ services, ctx, request, params }) => compartmentSearch(services, ctx, request, { ...compartmentOf(params), resourceType: type(params) }),
  },
  {
    method: 'GET',
    path: ':type/:id/_history/:version',
    interaction: 'vread',
    handle: ({ services, request, params }) => vread(services, request, { ...target(params), versionSegment: params.version as string }),
  },
];

/** The route a request takes, with the interaction it is and what its path captured. */
export interface RouteMatch {
  readonly route: Route;
  readonly interaction: Interaction;
  readonly params: RouteParams;
}

/**
 * Finds the route of `request`: the first path in the table that fits, then the route of that
 * path for the method (HEAD is answered as GET). A path that fits with another method is 405; a
 * segment in a `:type` place that is not a resource type is 404 (UNKNOWN_TYPE), as is any path
 * below an unknown type; nothing else matching is 404 (UNKNOWN_ROUTE).
 */
export function matchRoute(request: Pick<FhirRequest, 'method' | 'path' | 'body'>, routes: readonly Route[] = ROUTES): RouteMatch {
  const segments = request.path === '' ? [] : request.path.split('/');
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  for (const [path, candidates] of byPath(routes)) {
    const params = matchPath(path, segments);
    if (params === undefined) continue;
    const route = candidates.find((r) => r.method === method || r.method === 'any');
    if (!route) {
      throw new FhirError('METHOD_NOT_ALLOWED', `${method} is not allowed here (allowed: ${candidates.map((r) => r.method).join(', ')})`);
    }
    const interaction = typeof route.interaction === 'string' ? route.interaction : route.interaction.of(request as FhirRequest);
    return { route, interaction, params };
  }
  if (segments.length >= 2) {
    knownType(segments[0] as string);
  }
  throw new FhirError('UNKNOWN_ROUTE', `No FHIR interaction matches ${request.method} ${request.path}`);
}

/** Every interaction the table serves (for the CapabilityStatement). */
export function servedInteractions(routes: readonly Route[] = ROUTES): ReadonlySet<Interaction> {
  const served = new Set<Interaction>();
  for (const route of routes) {
    for (const interaction of typeof route.interaction === 'string' ? [route.interaction] : route.interaction.choices) served.add(interaction);
  }
  return served;
}

function bundleInteraction(request: FhirRequest): Interaction {
  return (request.body as Bundle | undefined)?.type === 'transaction' ? 'transaction' : 'batch';
}

function compartmentOf(params: RouteParams): { compartment: string; id: string } {
  const compartment = params.compartment as { resourceType: string; id: string };
  return { compartment: compartment.resourceType, id: compartment.id };
}

/** Routes grouped by path, in table order. */
function byPath(routes: readonly Route[]): Map<string, Route[]> {
  const groups = new Map<string, Route[]>();
  for (const route of routes) {
    groups.set(route.path, [...(groups.get(route.path) ?? []), route]);
  }
  return groups;
}

/** The parameters `path` captures from `segments`, or undefined when it does not fit. */
function matchPath(path: string, segments: readonly string[]): RouteParams | undefined {
  const pattern = path === '' ? [] : path.split('/');
  if (pattern.length !== segments.length) return undefined;
  const captured: { resourceType?: string; id?: string; version?: string; operation?: string; compartment?: string; compartmentId?: string } = {};
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i] as string;
    if (part === '$operation') {
      if (!segment.startsWith('$')) return undefined;
      captured.operation = segment.slice(1);
    } else if (part.startsWith(':')) {
      const name = part.slice(1) as 'type' | 'id' | 'version' | 'compartment' | 'compartmentId';
      if (name === 'type') captured.resourceType = segment;
      else captured[name] = segment;
    } else if (part !== segment) {
      return undefined;
    }
  }
  // Types are checked once the path fits, from the left: the first unknown type is the 404.
  if (captured.compartment !== undefined) knownType(captured.compartment);
  if (captured.resourceType !== undefined) knownType(captured.resourceType);
  const { compartment, compartmentId, ...rest } = captured;
  return compartment !== undefined ? { ...rest, compartment: { resourceType: compartment, id: compartmentId as string } } : rest;
}

function knownType(name: string): string {
  if (!isResourceType(name)) {
    throw new FhirError('UNKNOWN_TYPE', `"${name}" is not a FHIR R4 resource type supported here`);
  }
  return name;
}
