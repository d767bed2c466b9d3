/**
 * Search criteria as every entry point reads them: a search's query string, the criteria of a
 * conditional interaction (If-None-Exist, PUT/PATCH/DELETE [type]?criteria, a conditional
 * reference in a transaction), and what they match.
 * See: https://hl7.org/fhir/R4/search.html and https://hl7.org/fhir/R4/http.html#cond-update
 */
import { FhirError } from '../fhir/outcomes';
import { parseSearch } from '../search/parse';
import type { SearchRequest } from '../search/request';
import { type QueryParams, parseQueryString } from './exchange';
import type { FhirServices } from './services';

/** Query parameters that shape the HTTP exchange, not the search. */
export const TRANSPORT_PARAMETERS: ReadonlySet<string> = new Set(['_format', '_pretty', '_cursor']);

/** Why criteria are being resolved, for the message of a 412. */
export type ConditionPurpose = 'create' | 'update' | 'delete' | 'patch' | 'reference';

/**
 * How much one client search may ask for: every condition becomes index lookups, every value of
 * a `:contains` or prefix match a pattern; beyond these a search is refused (422 too-costly)
 * rather than left to tie up the database.
 */
export const SEARCH_LIMITS = { parameters: 64, valuesPerParameter: 100, valueLength: 1024 } as const;

/** A search's query (transport parameters left out) as a SearchRequest; `strict` makes unknown parameters 400. */
export function searchRequestOf(services: FhirServices, input: { resourceType: string | undefined; query: QueryParams; strict: boolean }): SearchRequest {
  const { resourceType, query, strict } = input;
  const searchQuery: Record<string, readonly string[]> = {};
  let parameters = 0;
  for (const [name, values] of Object.entries(query)) {
    if (!TRANSPORT_PARAMETERS.has(name)) {
      searchQuery[name] = values;
      parameters += values.length;
      assertAffordable(name, values);
    }
  }
  if (parameters > SEARCH_LIMITS.parameters) {
    throw new FhirError('TOO_COSTLY', `A search may have at most ${SEARCH_LIMITS.parameters} parameters; this one has ${parameters}`);
  }
  const { baseUrl, defaultPageSize, maxPageSize } = services.settings;
  return parseSearch(resourceType, searchQuery, services.registry, { strict, defaultCount: defaultPageSize, maxCount: maxPageSize, baseUrl });
}

/**
 * The criteria of a conditional interaction, parsed strictly: an ignored parameter would widen
 * the match, so every unknown parameter is a 400 here whatever Prefer says.
 */
export function conditionOf(services: FhirServices, resourceType: string, query: QueryParams): SearchRequest {
  const filtered: Record<string, readonly string[]> = {};
  for (const [name, values] of Object.entries(query)) {
    if (name !== '_multiple' && !TRANSPORT_PARAMETERS.has(name)) filtered[name] = values;
  }
  if (Object.keys(filtered).length === 0) {
    throw new FhirError('INVALID_REQUEST', 'A conditional interaction needs search criteria');
  }
  return searchRequestOf(services, { resourceType, query: filtered, strict: true });
}

function assertAffordable(name: string, values: readonly string[]): void {
  for (const value of values) {
    if (value.length > SEARCH_LIMITS.valueLength) {
      throw new FhirError('TOO_COSTLY', `The value of ${name} is longer than ${SEARCH_LIMITS.valueLength} characters`, { expression: [name] });
    }
    // Commas separate alternatives; an escaped one (\,) is part of a value.
    if (value.split(/(?<!\\),/).length > SEARCH_LIMITS.valuesPerParameter) {
      throw new FhirError('TOO_COSTLY', `${name} lists more than ${SEARCH_LIMITS.valuesPerParameter} alternatives`, { expression: [name] });
    }
  }
}

/** The id of the one current match: undefined when none matches, 412 when several do. */
export async function soleMatch(services: FhirServices, condition: SearchRequest, purpose: ConditionPurpose): Promise<string | undefined> {
  const ids = await services.repo.matchingIds(condition, 2);
  if (ids.length > 1) {
    throw new FhirError('MULTIPLE_MATCHES', `The conditional ${purpose} criteria match more than one ${condition.resourceType}; make them more selective`);
  }
  return ids[0];
}

/**
 * The criteria of If-None-Exist or of a conditional reference: `a=b`, `?a=b`, `Type?a=b`, or an
 * absolute `[base]/Type?a=b`, which HAPI's client sends.
 */
export function parseCriteria(text: string, resourceType: string, baseUrl: string): QueryParams {
  let trimmed = text.trim();
  const prefix = [`${baseUrl}/${resourceType}?`, `${resourceType}?`, '?'].find((p) => trimmed.startsWith(p));
  if (prefix !== undefined) {
    trimmed = trimmed.slice(prefix.length);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new FhirError('INVALID_REQUEST', `The criteria ${trimmed.split('?')[0]} do not search ${resourceType} on this server (${baseUrl})`);
  }
  return parseQueryString(trimmed);
}
