/**
 * patch: JSON Patch or FHIRPath Patch (fhir/patch-document) applied to the current version and
 * written through the pipeline as a compare-and-set on the version it was applied to.
 * See: https://hl7.org/fhir/R4/http.html#patch
 */
import type { RequestContext } from '../../core/context';
import { type FhirRequest, type FhirResponse, ifMatchVersion } from '../../core/exchange';
import type { FhirServices } from '../../core/services';
import { writeOne } from '../../core/write-pipeline';
import { FhirError } from '../../fhir/outcomes';
import { applyPatchDocument, parsePatchDocument } from '../../fhir/patch-document';
import { assertId } from '../../fhir/resource-body';
import { versionConflict } from '../../fhir/versioning';
import { writeResponse } from '../responses';

/** Retries when another writer changed the resource between our read and our write. */
const MAX_PATCH_ATTEMPTS = 10;

export async function patch(services: FhirServices, ctx: RequestContext, request: FhirRequest, target: { resourceType: string; id: string }): Promise<FhirResponse> {
  assertId(target.resourceType, target.id);
  const document = parsePatchDocument(request.body, request.headers.contentType);
  const expected = ifMatchVersion(request);
  for (let attempt = 1; ; attempt++) {
    const current = await services.repo.read(target.resourceType, target.id);
    if (expected !== undefined && current.versionId !== expected) {
      throw versionConflict({ expected, actual: current.versionId });
    }
    const resource = applyPatchDocument({ ...current.resource, id: current.id }, document);
    try {
      const { result, warnings } = await writeOne(services, ctx, { kind: 'update', resource, method: 'PATCH', ifMatchVersion: current.versionId });
      return writeResponse({ baseUrl: services.settings.baseUrl, ...result, prefer: ctx.prefer, warnings });
    } catch (err) {
      // Without If-Match the client asked for "apply to the latest": re-read and re-apply.
      if (!(err instanceof FhirError && err.code === 'VERSION_CONFLICT') || expected !== undefined || attempt >= MAX_PATCH_ATTEMPTS) {
        throw err;
      }
    }
  }
}
