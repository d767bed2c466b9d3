/**
 * Building FhirResponses: version headers, Location, and the Prefer return preference.
 * See: https://hl7.org/fhir/R4/http.html#ops (Prefer) and #versioning (ETag, Last-Modified)
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { informational, operationOutcome } from '../fhir/outcomes';
import { etag, httpDate } from '../fhir/versioning';
import type { FhirResponse, Prefer } from '../core/exchange';
import type { ResourceVersion } from '../store/repository';

export function versionUrl(baseUrl: string, version: Pick<ResourceVersion, 'resourceType' | 'id' | 'versionId'>): string {
  return `${baseUrl}/${version.resourceType}/${version.id}/_history/${version.versionId}`;
}

/** A response carrying one stored version with its ETag and Last-Modified. */
export function versionResponse(version: ResourceVersion, status = 200): FhirResponse {
  return {
    status,
    ...(version.resource ? { body: version.resource } : {}),
    headers: { etag: etag(version.versionId), lastModified: httpDate(version.lastUpdated) },
  };
}

/** The answer to a create or update, with Location, shaped by Prefer: return. */
export function writeResponse(options: {
  baseUrl: string;
  version: ResourceVersion;
  created: boolean;
  prefer: Prefer;
  warnings?: readonly OperationOutcomeIssue[];
}): FhirResponse {
  const { version, created } = options;
  const response = versionResponse(version, created ? 201 : 200);
  response.headers.location = versionUrl(options.baseUrl, version);
  return applyPreferReturn(response, options.prefer, options.warnings);
}

/** Prefer: return=minimal drops the body; return=OperationOutcome replaces it with an outcome. */
export function applyPreferReturn(response: FhirResponse, prefer: Prefer, warnings: readonly OperationOutcomeIssue[] = []): FhirResponse {
  switch (prefer.return) {
    case 'minimal': {
      const { body: _body, ...rest } = response;
      return rest;
    }
    case 'OperationOutcome':
      return {
        ...response,
        body:
          warnings.length > 0
            ? operationOutcome([...warnings])
            : informational(`${response.status === 201 ? 'Created' : 'Done'} ${response.headers.location ?? ''}`.trim()),
      };
    case 'representation':
    case undefined:
      return response;
  }
}
