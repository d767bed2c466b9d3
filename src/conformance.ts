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
 * The stored ones are found with one search per resource type. What is written is validated
 * first: an invalid definition stops the start-up.
 * See: https://hl7.org/fhir/R4/http.html#cond-update
 */
import type { Resource } from '@medplum/fhirtypes';
import { equalsFixed } from './fhir/profiles';
import { assertValid } from './fhir/validation';
import type { Logger } from './platform/logger';
import { newId } from './platform/ids';
import { parseSearch } from './search/parse';
import type { SearchParameterRegistry } from './search/registry';
import { type FhirRepository, readIfPresent } from './store/repository';

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
  const { repo, logger } = args;
  const report: SeedReport = { created: [], updated: [], unchanged: [], ambiguous: [] };
  const stored = await storedByUrl(args);
  for (const resource of args.resources) {
    const { resourceType } = resource;
    const url = urlOf(resource);
    const label = `${resourceType}/${resource.id} (${url})`;
    const matches = stored.get(`${resourceType} ${url}`) ?? [];
    if (matches.length > 1) {
      logger.warn({ url, ids: matches.map((m) => m.id) }, 'several stored resources have the url of a CaseBridge definition: left as they are');
      report.ambiguous.push(label);
      continue;
    }
    const match = matches[0];
    if (match && equalsFixed(withoutMeta(match), withoutMeta({ ...resource, id: match.id }))) {
      report.unchanged.push(label);
      continue;
    }
    // Only what is written is validated (what is stored was, when it was written).
    assertValid(resource, resourceType);
    const id = match?.id ?? ((await isFree(repo, resourceType, resource.id as string)) ? (resource.id as string) : newId());
    await repo.update({ ...resource, id } as Resource & { id: string });
    (match ? report.updated : report.created).push(label);
  }
  return report;
}

/** The stored resources that have the url of one of ours, by `type url`: one search per type. */
async function storedByUrl(args: { repo: FhirRepository; registry: SearchParameterRegistry; resources: readonly Resource[] }): Promise<Map<string, Resource[]>> {
  const urlsByType = new Map<string, string[]>();
  for (const r of args.resources) {
    urlsByType.set(r.resourceType, [...(urlsByType.get(r.resourceType) ?? []), urlOf(r)]);
  }
  const found = new Map<string, Resource[]>();
  for (const [type, urls] of urlsByType) {
    // Our canonicals hold no comma (profiles-files.test.ts): they can be OR-ed in one value.
    const count = urls.length + 1; // one more than ours: a duplicate shows on the first page
    const request = parseSearch(type, { url: urls.join(','), _count: String(count) }, args.registry, {
      strict: true,
      defaultCount: count,
      maxCount: count,
      baseUrl: args.registry.baseUrl,
    });
    let cursor: string | undefined;
    do {
      const page = await args.repo.search(request, cursor !== undefined ? { cursor } : {});
      for (const m of page.matches) {
        const key = `${type} ${urlOf(m.resource)}`;
        found.set(key, [...(found.get(key) ?? []), m.resource]);
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }
  return found;
}

function urlOf(resource: Resource): string {
  return (resource as { url?: string }).url as string;
}

/** True when no current resource has this id (never written, or deleted). */
async function isFree(repo: FhirRepository, resourceType: string, id: string): Promise<boolean> {
  return (await readIfPresent(repo, resourceType, id)) === undefined;
}

function withoutMeta(resource: Resource): Record<string, unknown> {
  const { meta: _meta, ...rest } = resource;
  return rest;
}
