/**
 * $validate: would this resource be accepted (generally, as a create, update or delete)?
 * At the system level (`POST [base]/$validate`) the resource's own type is taken; at the type and
 * instance levels it must be that type. Issues are located in the validated resource
 * (`Patient.birthDate`), never in the Parameters that may carry it.
 * The answer is an OperationOutcome with 200 whether or not the resource is valid; a 4xx means
 * the validation itself could not be done. What a write would also refuse is reported too: a
 * derivation (scoring of a completed questionnaire) that cannot derive from the resource. The
 * profiles the resource claims in meta.profile are
 * checked as on a write; the `profile` parameter names one more, which must be one of ours ("if
 * the server cannot validate against the nominated profile, it SHALL return an error").
 * See: https://hl7.org/fhir/R4/resource-operation-validate.html
 */
import type { OperationOutcomeIssue, Parameters, Resource } from '@medplum/fhirtypes';
import { FhirError, operationOutcome } from '../fhir/outcomes';
import { hasErrors } from '../fhir/outcomes';
import { validateResource } from '../fhir/validation';
import { derivedWrites } from '../core/write-pipeline';
import type { FhirOperation, FhirServices, OperationTarget } from '../core/services';
import type { FhirRequest, FhirResponse } from '../core/exchange';

type Mode = 'general' | 'create' | 'update' | 'delete';

export const validateOperation: FhirOperation = {
  name: 'validate',
  definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  levels: ['system', 'type', 'instance'],
  affectsState: false,
  async invoke(services: FhirServices, _ctx, target: OperationTarget, request: FhirRequest): Promise<FhirResponse> {
    const { resource, mode, profile } = readInput(request);
    const resourceType = target.resourceType;
    if ((mode === 'update' || mode === 'delete') && target.level !== 'instance') {
      throw new FhirError('INVALID_REQUEST', `mode=${mode} needs the instance level: ${resourceType ?? '[type]'}/[id]/$validate`, { expression: ['mode'] });
    }
    const issues: OperationOutcomeIssue[] = [];
    if (mode === 'delete') {
      await services.repo.read(resourceType as string, target.id as string);
    } else {
      if (!resource) {
        throw new FhirError('INVALID_REQUEST', 'A resource to validate is required (the body, or the "resource" parameter)', { expression: ['resource'] });
      }
      if (profile !== undefined && !services.profiles.profile(profile)) {
        throw new FhirError('INVALID_REQUEST', `Profile ${profile} is not one this server can validate against`, { expression: ['profile'] });
      }
      // Includes the profiles the resource claims (profile failures are errors here, 422 on a write).
      issues.push(...validateResource(resource, { ...(resourceType ? { expectedType: resourceType } : {}), profiles: services.profiles }));
      if (profile !== undefined && !hasErrors(issues) && !claims(resource, profile)) {
        issues.push(...services.profiles.checkClaim(resource, profile, 'profile'));
      }
      if (!hasErrors(issues)) {
        issues.push(...(await derivationIssues(services, resource, target.id)));
      }
      if (mode === 'update' && resource.id !== target.id) {
        issues.push({ severity: 'error', code: 'invalid', diagnostics: `The resource id must be "${target.id}" for mode=update`, expression: [`${resourceType as string}.id`] });
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

/** The issues a write would meet in the derivations (computed, never written). */
async function derivationIssues(services: FhirServices, resource: Resource, id: string | undefined): Promise<OperationOutcomeIssue[]> {
  try {
    await derivedWrites(services, { ...resource, id: resource.id ?? id ?? 'validate' });
    return [];
  } catch (err) {
    if (err instanceof FhirError && err.status < 500) {
      return err.outcome.issue;
    }
    throw err;
  }
}

function readInput(request: FhirRequest): { resource?: Resource; mode: Mode; profile?: string } {
  const queryMode = request.query.mode?.[0];
  const queryProfile = request.query.profile?.[0];
  const body = request.body as Resource | undefined;
  if (body?.resourceType === 'Parameters') {
    const parameters = (body as Parameters).parameter ?? [];
    const resource = parameters.find((p) => p.name === 'resource')?.resource;
    const mode = parameters.find((p) => p.name === 'mode')?.valueCode ?? queryMode;
    const profile = parameters.find((p) => p.name === 'profile')?.valueUri ?? queryProfile;
    return { ...(resource ? { resource } : {}), mode: parseMode(mode), ...(profile !== undefined ? { profile } : {}) };
  }
  if (body !== undefined && (typeof body !== 'object' || Array.isArray(body))) {
    throw new FhirError('INVALID_REQUEST', 'The body of $validate must be a resource or a Parameters resource');
  }
  return { ...(body ? { resource: body } : {}), mode: parseMode(queryMode), ...(queryProfile !== undefined ? { profile: queryProfile } : {}) };
}

/** True when the resource already claims the profile (it was checked with the claims). */
function claims(resource: Resource, profile: string): boolean {
  return Array.isArray(resource.meta?.profile) && resource.meta.profile.includes(profile);
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
