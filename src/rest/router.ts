/**
 * FHIR RESTful API routing: a FhirRequest's method and path select one interaction.
 * HTTP requests and Bundle entries both come through here.
 * See: https://hl7.org/fhir/R4/http.html#summary
 */
import type { Interaction } from '../auth/caller';
import { isResourceType } from '../fhir/definitions';
import { FhirError } from '../fhir/outcomes';
import { processBundle } from './bundle';
import { capabilities } from './capabilities';
import { history } from './history';
import { invokeOperation } from './operation-dispatch';
import { patch } from './patch';
import { read, vread } from './read';
import { compartmentSearch, conditionalDelete, conditionalPatch, conditionalUpdate, create as conditionalAwareCreate, search } from './search-interactions';
import type { FhirServices } from './services';
import type { FhirRequest, FhirResponse, HttpMethod, RequestContext } from './types';
import { remove, update } from './write';

export async function route(services: FhirServices, ctx: RequestContext, request: FhirRequest): Promise<FhirResponse> {
  const segments = request.path === '' ? [] : request.path.split('/');
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  const [first, second, third, fourth] = segments;

  if (first === undefined) {
    if (method === 'POST') {
      return processBundle(services, ctx, request);
    }
    return only(method, ['GET', 'POST'], () => guarded(services, ctx, { interaction: 'search-system' }, () => search(services, ctx, request, undefined)));
  }
  if (segments.length === 1) {
    if (first === 'metadata') {
      return only(method, ['GET'], () => capabilities(services, request));
    }
    if (first === '_history') {
      return only(method, ['GET'], () => guarded(services, ctx, { interaction: 'history-system' }, () => history(services, request, { level: 'system' })));
    }
    if (first.startsWith('$')) {
      return invokeOperation(services, ctx, request, { level: 'system', name: first.slice(1) });
    }
    const resourceType = knownType(first);
    switch (method) {
      case 'GET':
        return guarded(services, ctx, { interaction: 'search-type', resourceType: resourceType }, () => search(services, ctx, request, resourceType));
      case 'POST':
        return guarded(services, ctx, { interaction: 'create', resourceType: resourceType }, () => conditionalAwareCreate(services, ctx, request, resourceType));
      case 'PUT':
        return guarded(services, ctx, { interaction: 'update', resourceType: resourceType }, () => conditionalUpdate(services, ctx, request, resourceType));
      case 'DELETE':
        return guarded(services, ctx, { interaction: 'delete', resourceType: resourceType }, () => conditionalDelete(services, ctx, request, resourceType));
      case 'PATCH':
        return guarded(services, ctx, { interaction: 'patch', resourceType: resourceType }, () => conditionalPatch(services, ctx, request, resourceType));
    }
  }
  const resourceType = knownType(first);
  if (segments.length === 2 && second !== undefined) {
    if (second === '_search') {
      return only(method, ['POST'], () => guarded(services, ctx, { interaction: 'search-type', resourceType: resourceType }, () => search(services, ctx, request, resourceType)));
    }
    if (second === '_history') {
      return only(method, ['GET'], () =>
        guarded(services, ctx, { interaction: 'history-type', resourceType: resourceType }, () => history(services, request, { level: 'type', resourceType })),
      );
    }
    if (second.startsWith('$')) {
      return invokeOperation(services, ctx, request, { level: 'type', resourceType, name: second.slice(1) });
    }
    const target = { resourceType, id: second };
    switch (method) {
      case 'GET':
        return guarded(services, ctx, { interaction: 'read', resourceType: resourceType }, () => read(services, request, target));
      case 'PUT':
        return guarded(services, ctx, { interaction: 'update', resourceType: resourceType }, () => update(services, ctx, request, target));
      case 'PATCH':
        return guarded(services, ctx, { interaction: 'patch', resourceType: resourceType }, () => patch(services, ctx, request, target));
      case 'DELETE':
        return guarded(services, ctx, { interaction: 'delete', resourceType: resourceType }, () => remove(services, request, target));
      case 'POST':
        throw methodNotAllowed('POST', 'GET, PUT, PATCH, DELETE');
    }
  }
  if (segments.length === 3 && second !== undefined && third !== undefined) {
    if (third === '_history') {
      return only(method, ['GET'], () =>
        guarded(services, ctx, { interaction: 'history-instance', resourceType: resourceType }, () =>
          history(services, request, { level: 'instance', resourceType, id: second }),
        ),
      );
    }
    if (third.startsWith('$')) {
      return invokeOperation(services, ctx, request, { level: 'instance', resourceType, id: second, name: third.slice(1) });
    }
    // Patient/[id]/* searches every type of the compartment. See: https://hl7.org/fhir/R4/http.html#search
    const compartmentType = third === '*' ? '*' : knownType(third);
    const access = compartmentType === '*' ? { interaction: 'search-system' as const } : { interaction: 'search-type' as const, resourceType: compartmentType };
    return only(method, ['GET'], () =>
      guarded(services, ctx, access, () =>
        compartmentSearch(services, ctx, request, { compartment: resourceType, id: second, resourceType: compartmentType }),
      ),
    );
  }
  if (segments.length === 4 && second !== undefined && third === '_history' && fourth !== undefined) {
    return only(method, ['GET'], () =>
      guarded(services, ctx, { interaction: 'vread', resourceType: resourceType }, () => vread(services, request, { resourceType, id: second, versionSegment: fourth })),
    );
  }
  throw new FhirError('UNKNOWN_ROUTE', `No FHIR interaction matches ${request.method} ${request.path}`);
}

/** Checks the caller's access before running an interaction. Deny by default. */
export async function guarded(
  services: FhirServices,
  ctx: RequestContext,
  access: { readonly interaction: Interaction; readonly resourceType?: string | undefined },
  run: () => Promise<FhirResponse>,
): Promise<FhirResponse> {
  const { interaction, resourceType } = access;
  if (!services.access.allows(ctx.caller, { interaction, ...(resourceType ? { resourceType } : {}) })) {
    throw new FhirError('FORBIDDEN', `Not allowed: ${interaction}${resourceType ? ` on ${resourceType}` : ''}`);
  }
  return run();
}

function knownType(name: string): string {
  if (!isResourceType(name)) {
    throw new FhirError('UNKNOWN_TYPE', `"${name}" is not a FHIR R4 resource type supported here`);
  }
  return name;
}

function only(method: HttpMethod, allowed: HttpMethod[], run: () => Promise<FhirResponse>): Promise<FhirResponse> {
  if (!allowed.includes(method)) {
    throw methodNotAllowed(method, allowed.join(', '));
  }
  return run();
}

function methodNotAllowed(method: string, allowed: string): FhirError {
  return new FhirError('METHOD_NOT_ALLOWED', `${method} is not allowed here (allowed: ${allowed})`);
}
