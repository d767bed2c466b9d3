/**
 * $validate: would this resource be accepted (generally, as a create, update or delete)?
 * The answer is an OperationOutcome with 200 whether or not the resource is valid; a 4xx means
 * the validation itself could not be done.
 * See: https://hl7.org/fhir/R4/resource-operation-validate.html
 */
import type { OperationOutcomeIssue, Parameters, Resource } from '@medplum/fhirtypes';
import { FhirError, operationOutcome } from '../fhir/outcomes';
import { validateResource } from '../fhir/validation';
import type { FhirOperation, FhirServices, OperationTarget } from '../rest/services';
import type { FhirRequest, FhirResponse } from '../rest/types';

type Mode = 'general' | 'create' | 'update' | 'delete';

export const validateOperation: FhirOperation = {
  name: 'validate',
  definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  levels: ['type', 'instance'],
  affectsState: false,
  async invoke(services: FhirServices, _ctx, target: OperationTarget, request: FhirRequest): Promise<FhirResponse> {
    const { resource, mode } = readInput(request);
    const resourceType = target.resourceType as string;
    if ((mode === 'update' || mode === 'delete') && target.level !== 'instance') {
      throw new FhirError('INVALID_REQUEST', `mode=${mode} needs the instance level: ${resourceType}/[id]/$validate`, { expression: ['mode'] });
    }
    const issues: OperationOutcomeIssue[] = [];
    if (mode === 'delete') {
      await services.repo.read(resourceType, target.id as string);
    } else {
      if (!resource) {
        throw new FhirError('INVALID_REQUEST', 'A resource to validate is required (the body, or the "resource" parameter)', { expression: ['resource'] });
      }
      issues.push(...validateResource(resource, { expectedType: resourceType }));
      if (mode === 'update' && resource.id !== target.id) {
        issues.push({ severity: 'error', code: 'invalid', diagnostics: `The resource id must be "${target.id}" for mode=update`, expression: [`${resourceType}.id`] });
      }
      if (mode === 'create' && target.level === 'instance') {
        issues.push({ severity: 'warning', code: 'informational', diagnostics: 'mode=create at the instance level: the server would assign a new id' });
      }
    }
    const outcome = issues.length > 0
      ? operationOutcome(issues)
      : operationOutcome([{ severity: 'information', code: 'informational', diagnostics: 'Validation successful: no issues found' }]);
    return { status: 200, body: outcome, headers: {} };
  },
};

function readInput(request: FhirRequest): { resource?: Resource; mode: Mode } {
  const queryMode = request.query.mode?.[0];
  const body = request.body as Resource | undefined;
  if (body?.resourceType === 'Parameters') {
    const parameters = (body as Parameters).parameter ?? [];
    const resource = parameters.find((p) => p.name === 'resource')?.resource;
    const mode = parameters.find((p) => p.name === 'mode')?.valueCode ?? queryMode;
    return { ...(resource ? { resource } : {}), mode: parseMode(mode) };
  }
  if (body !== undefined && (typeof body !== 'object' || Array.isArray(body))) {
    throw new FhirError('INVALID_REQUEST', 'The body of $validate must be a resource or a Parameters resource');
  }
  return { ...(body ? { resource: body } : {}), mode: parseMode(queryMode) };
}

function parseMode(mode: string | undefined): Mode {
  if (mode === undefined) {
    return 'general';
  }
  if (mode === 'create' || mode === 'update' || mode === 'delete') {
    return mode;
  }
  throw new FhirError('INVALID_REQUEST', `mode must be create, update or delete; got "${mode}"`, { expression: ['mode'] });
}
