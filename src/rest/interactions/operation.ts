/**
 * $operations: the one registered under the name, if it applies at this level and type, with
 * POST (or GET when it does not change state). See: https://hl7.org/fhir/R4/operations.html
 */
import type { RequestContext } from '../../core/context';
import type { FhirRequest, FhirResponse } from '../../core/exchange';
import type { FhirServices, OperationTarget } from '../../core/services';
import { FhirError } from '../../fhir/outcomes';

/** `target.name` is the operation's name without `$`. */
export async function invokeOperation(
  services: FhirServices,
  ctx: RequestContext,
  request: FhirRequest,
  target: OperationTarget & { readonly name: string },
): Promise<FhirResponse> {
  const { name } = target;
  const operation = services.operations.get(name);
  const where = target.resourceType ? `${target.resourceType}${target.id ? '/[id]' : ''}` : 'the system level';
  if (!operation || !operation.levels.includes(target.level)) {
    throw new FhirError('UNKNOWN_ROUTE', `The operation $${name} is not supported at ${where}`);
  }
  if (target.resourceType && operation.resourceTypes && !operation.resourceTypes.includes(target.resourceType)) {
    throw new FhirError('UNKNOWN_ROUTE', `The operation $${name} is not supported on ${target.resourceType}`);
  }
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  if (method !== 'POST' && !(method === 'GET' && !operation.affectsState)) {
    throw new FhirError('METHOD_NOT_ALLOWED', `$${name} must be invoked with POST${operation.affectsState ? '' : ' or GET'}`);
  }
  return operation.invoke(services, ctx, target, request);
}
