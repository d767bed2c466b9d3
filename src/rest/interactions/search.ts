/**
 * search at type and system level, and in a patient's compartment (Patient/[id]/[type] and
 * Patient/[id]/*): a searchset Bundle with paging links, included resources and notes.
 * See: https://hl7.org/fhir/R4/search.html
 */
import type { BundleEntry, BundleLink, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { RequestContext } from '../../core/context';
import { searchRequestOf } from '../../core/criteria';
import type { FhirRequest, FhirResponse, QueryParams } from '../../core/exchange';
import type { FhirServices } from '../../core/services';
import { bundle } from '../../fhir/bundles';
import { patientCompartment } from '../../fhir/compartments';
import { FhirError, operationOutcome } from '../../fhir/outcomes';
import { selectElements, summarize } from '../../fhir/summary';
import { formatSearch } from '../../search/parse';
import type { SearchRequest } from '../../search/request';
import type { CurrentResource, SearchOptions } from '../../store/repository';

export async function search(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string | undefined): Promise<FhirResponse> {
  const parsed = searchRequestOf(services, { resourceType, query: request.query, strict: ctx.prefer.handling === 'strict' });
  return searchset(services, parsed, { query: request.query, path: resourceType ?? '' });
}

/** Patient/[id]/[type], or Patient/[id]/* for every type: the search restricted to the patient's compartment. */
export async function compartmentSearch(
  services: FhirServices,
  ctx: RequestContext,
  request: FhirRequest,
  target: { compartment: string; id: string; resourceType: string | '*' },
): Promise<FhirResponse> {
  const members = compartmentMembers(target.compartment);
  const all = target.resourceType === '*';
  const params = all ? Object.fromEntries(members) : { [target.resourceType]: members.get(target.resourceType) ?? [] };
  if (!all && (params[target.resourceType] ?? []).length === 0) {
    throw new FhirError('INVALID_REQUEST', `${target.resourceType} resources are not in the ${target.compartment} compartment`);
  }
  const parsed = searchRequestOf(services, { resourceType: all ? undefined : target.resourceType, query: request.query, strict: ctx.prefer.handling === 'strict' });
  return searchset(services, parsed, {
    query: request.query,
    path: `${target.compartment}/${target.id}/${target.resourceType}`,
    compartment: { params, reference: `${target.compartment}/${target.id}` },
  });
}

/** Runs a parsed search and answers with its searchset Bundle; `path` is below [base] (for links). */
async function searchset(
  services: FhirServices,
  parsed: SearchRequest,
  where: { query: QueryParams; path: string; compartment?: SearchOptions['compartment'] },
): Promise<FhirResponse> {
  const { query, path, compartment } = where;
  const cursor = query._cursor?.[0];
  const page = await services.repo.search(parsed, { ...(cursor !== undefined ? { cursor } : {}), ...(compartment ? { compartment } : {}) });
  const base = `${services.settings.baseUrl}/${path}`.replace(/\/$/, '');
  const canonical = formatSearch(parsed);
  const link: BundleLink[] = [{ relation: 'self', url: `${base}?${canonical}${cursor !== undefined ? `&_cursor=${cursor}` : ''}` }];
  if (page.previousCursor !== undefined || cursor !== undefined) {
    link.push({ relation: 'first', url: `${base}?${formatSearch({ ...parsed, offset: 0 })}` });
  }
  if (page.previousCursor !== undefined) {
    link.push({ relation: 'previous', url: `${base}?${canonical}&_cursor=${page.previousCursor}` });
  }
  if (page.nextCursor !== undefined) {
    link.push({ relation: 'next', url: `${base}?${formatSearch({ ...parsed, offset: 0 })}&_cursor=${page.nextCursor}` });
  }
  const shape = (resource: Resource) => shapeEntry(resource, parsed);
  const entry: BundleEntry[] = [
    ...page.matches.map((m) => searchEntry(services, m, 'match', shape)),
    ...page.included.map((m) => searchEntry(services, m, 'include', shape)),
  ];
  const notes = searchNotes(parsed, page.approximate, page.includeTruncated);
  if (notes.length > 0) {
    entry.push({ resource: operationOutcome(notes), search: { mode: 'outcome' } });
  }
  return {
    status: 200,
    body: bundle('searchset', { entry, link, timestamp: services.now(), ...(page.total !== undefined ? { total: page.total } : {}) }),
    headers: {},
  };
}

function searchEntry(services: FhirServices, found: CurrentResource, mode: 'match' | 'include', shape: (r: Resource) => Resource): BundleEntry {
  return {
    fullUrl: `${services.settings.baseUrl}/${found.resourceType}/${found.id}`,
    resource: shape(found.resource),
    search: { mode },
  };
}

function shapeEntry(resource: Resource, parsed: SearchRequest): Resource {
  if (parsed.elements) {
    return selectElements(resource, parsed.elements);
  }
  if (parsed.summary && parsed.summary !== 'false' && parsed.summary !== 'count') {
    return summarize(resource, parsed.summary);
  }
  return resource;
}

/** What the client should know about how its search was answered (search.mode = outcome). */
function searchNotes(parsed: SearchRequest, approximate: readonly string[], includeTruncated: boolean): OperationOutcomeIssue[] {
  const notes: OperationOutcomeIssue[] = parsed.unknown.map((u) => ({
    severity: 'warning',
    code: 'not-supported',
    diagnostics: `The search parameter "${u.name}" is not supported here and was ignored`,
    expression: [u.name],
  }));
  for (const name of approximate) {
    notes.push({
      severity: 'information',
      code: 'informational',
      diagnostics: `"${name}" was answered approximately: with several values per resource, matches may include near misses`,
      expression: [name],
    });
  }
  if (includeTruncated) {
    notes.push({ severity: 'warning', code: 'too-costly', diagnostics: 'Not every _include/_revinclude resource fits in one page; some were left out' });
  }
  return notes;
}

/** The types of a compartment and the parameters that place a resource in it. */
function compartmentMembers(compartment: string): ReadonlyMap<string, readonly string[]> {
  if (compartment !== 'Patient') {
    throw new FhirError('NOT_IMPLEMENTED', `Compartment searches are supported for Patient only, not ${compartment}`);
  }
  return patientCompartment();
}
