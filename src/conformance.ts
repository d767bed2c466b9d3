/**
 * Publishes CaseBridge's conformance resources (profiles/: StructureDefinitions, ValueSets,
 * CodeSystems, Questionnaires, SearchParameters) through the FHIR API by storing them at
 * start-up, so that `GET [base]/StructureDefinition?url=…`, `Questionnaire?url=…` and reads by id
 * work like for any resource, and `_include`, history and Bulk export see them.
 *
 * Each resource is written as a conditional update by url would be, and only when needed:
 * - no stored resource has its url: it is created under the file's id (or a new id when that id
 *   is taken by another resource);
 * - one has: it is replaced when its content differs from the file (a new version, so the
 *   history shows when CaseBridge's definitions changed), left alone when equal — restarting
 *   writes nothing;
 * - several have: left alone and reported; the API answers what is stored.
 * Every resource is validated first: an invalid definition stops the start-up.
 * See: https://hl7.org/fhir/R4/http.html#cond-update
 */
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from './fhir/outcomes';
import { equalsFixed } from './fhir/profiles';
import { assertValid } from './fhir/validation';
import type { Logger } from './platform/logger';
import { newId } from './platform/ids';
import { parseSearch } from './search/parse';
import type { SearchParameterRegistry } from './search/registry';
import type { FhirRepository } from './store/repository';

export interface SeedReport {
  readonly created: string[];
  readonly updated: string[];
  readonly unchanged: string[];
  /** url → ids, when several stored resources share a url. */
  readonly ambiguous: string[];
}

export async function seedConformanceResources(args: {
  repo: FhirRepository;
  registry: SearchParameterRegistry;
  resources: readonly Resource[];
  logger: Logger;
}): Promise<SeedReport> {
  const { repo, registry, resources, logger } = args;
  const report: SeedReport = { created: [], updated: [], unchanged: [], ambiguous: [] };
  for (const resource of resources) {
    const { resourceType } = resource;
    const url = (resource as { url?: string }).url as string;
    assertValid(resource, resourceType);
    const request = parseSearch(resourceType, { url }, registry, { strict: true, defaultCount: 2, maxCount: 2, baseUrl: registry.baseUrl });
    const ids = await repo.matchingIds(request, 2);
    const label = `${resourceType}/${resource.id} (${url})`;
    if (ids.length > 1) {
      logger.warn({ url, ids }, 'several stored resources have the url of a CaseBridge definition: left as they are');
      report.ambiguous.push(label);
      continue;
    }
    const matched = ids[0];
    if (matched !== undefined) {
      const stored = (await repo.read(resourceType, matched)).resource;
      const wanted = { ...resource, id: matched };
      if (equalsFixed(withoutMeta(stored), withoutMeta(wanted))) {
        report.unchanged.push(label);
      } else {
        await repo.update(wanted as Resource & { id: string });
        report.updated.push(label);
      }
      continue;
    }
    const id = (await isFree(repo, resourceType, resource.id as string)) ? (resource.id as string) : newId();
    await repo.update({ ...resource, id } as Resource & { id: string });
    report.created.push(label);
  }
  return report;
}

/** True when no current resource has this id (never written, or deleted). */
async function isFree(repo: FhirRepository, resourceType: string, id: string): Promise<boolean> {
  try {
    await repo.read(resourceType, id);
    return false;
  } catch (err) {
    if (err instanceof FhirError && (err.code === 'NOT_FOUND' || err.code === 'GONE')) {
      return true;
    }
    throw err;
  }
}

function withoutMeta(resource: Resource): Record<string, unknown> {
  const { meta: _meta, ...rest } = resource;
  return rest;
}
