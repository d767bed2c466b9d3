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
  // Several operations may share a name on different types (Patient and EpisodeOfCare $everything).
  const named = [...services.operations.values()].filter((o) => o.name === name);
  const where = target.resourceType ? `${target.resourceType}${target.id ? '/[id]' : ''}` : 'the system level';
  const atLevel = named.filter((o) => o.levels.includes(target.level));
  if (atLevel.length === 0) {
    throw new FhirError('UNKNOWN_ROUTE', `The operation $${name} is not supported at ${where}`);
  }
  const operation = atLevel.find((o) => !target.resourceType || !o.resourceTypes || o.resourceTypes.includes(target.resourceType));
  if (!operation) {
    throw new FhirError('UNKNOWN_ROUTE', `The operation $${name} is not supported on ${target.resourceType}`);
  }
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  if (method !== 'POST' && !(method === 'GET' && !operation.affectsState)) {
    throw new FhirError('METHOD_NOT_ALLOWED', `$${name} must be invoked with POST${operation.affectsState ? '' : ' or GET'}`);
  }
  return operation.invoke(services, ctx, target, request);
}
