/** Searches for background work: every match of a query, page after page, up to a limit. */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirServices } from '../core/services';
import { parseSearch } from '../search/parse';
import type { CurrentResource } from '../store/repository';

export async function findAll(services: FhirServices, resourceType: string, query: Readonly<Record<string, string | readonly string[]>>, limit = 1000): Promise<CurrentResource[]> {
  const multimap = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, typeof v === 'string' ? [v] : [...v]]));
  const pageSize = Math.min(limit, services.settings.maxPageSize);
  const search = parseSearch(resourceType, { _count: [String(pageSize)], ...multimap }, services.registry, { strict: true, defaultCount: pageSize, maxCount: services.settings.maxPageSize, baseUrl: services.settings.baseUrl });
  const found: CurrentResource[] = [];
  let cursor: string | undefined;
  do {
    const page = await services.repo.search(search, cursor ? { cursor } : {});
    found.push(...page.matches);
    cursor = page.nextCursor;
  } while (cursor !== undefined && found.length < limit);
  return found.slice(0, limit);
}

/** `Type/id` of a resource. */
export const referenceOf = (resource: Resource): string => `${resource.resourceType}/${resource.id as string}`;

/** A token search value with FHIR's search escapes (`\`, `|`, `,`, `$`). See: https://hl7.org/fhir/R4/search.html#escaping */
export function searchToken(value: string): string {
  return value.replace(/[\\|,$]/g, (c) => `\\${c}`);
}
