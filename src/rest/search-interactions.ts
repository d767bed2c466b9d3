/**
 * search (type, system, compartment) and the conditional interactions built on it: conditional
 * create (If-None-Exist), update, delete and patch, and conditional references in transactions.
 * See: https://hl7.org/fhir/R4/search.html and https://hl7.org/fhir/R4/http.html#cond-update
 */
import type { BundleEntry, BundleLink, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { bundle } from '../fhir/bundles';
import { patientCompartment } from '../fhir/compartments';
import { FhirError, operationOutcome } from '../fhir/outcomes';
import { selectElements, summarize } from '../fhir/summary';
import { conditionKey, formatSearch, parseSearch } from '../search/parse';
import type { SearchRequest } from '../search/request';
import type { CurrentResource, SearchOptions } from '../store/repository';
import { writeWithDerived } from './derivations';
import { patch } from './patch';
import { applyPreferReturn, versionResponse, writeResponse } from './responses';
import type { FhirServices } from './services';
import type { FhirRequest, FhirResponse, QueryParams, RequestContext } from './types';
import { create as plainCreate, prepareCreate, remove, update } from './write';

/** Query parameters that shape the HTTP exchange, not the search. */
const TRANSPORT_PARAMETERS = new Set(['_format', '_pretty', '_cursor']);

/** Most resources one conditional delete may remove (with _multiple=true). */
const MAX_CONDITIONAL_DELETES = 100;

// ---------------------------------------------------------------------------------------------
// search

export async function search(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string | undefined): Promise<FhirResponse> {
  const parsed = parse(services, { resourceType, query: request.query, strict: ctx.prefer.handling === 'strict' });
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
  const parsed = parse(services, { resourceType: all ? undefined : target.resourceType, query: request.query, strict: ctx.prefer.handling === 'strict' });
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

function parse(services: FhirServices, input: { resourceType: string | undefined; query: QueryParams; strict: boolean }): SearchRequest {
  const { resourceType, query, strict } = input;
  const searchQuery: Record<string, readonly string[]> = {};
  for (const [name, values] of Object.entries(query)) {
    if (!TRANSPORT_PARAMETERS.has(name)) {
      searchQuery[name] = values;
    }
  }
  const { baseUrl, defaultPageSize, maxPageSize } = services.settings;
  return parseSearch(resourceType, searchQuery, services.registry, { strict, defaultCount: defaultPageSize, maxCount: maxPageSize, baseUrl });
}

/** The types of a compartment and the parameters that place a resource in it. */
function compartmentMembers(compartment: string): ReadonlyMap<string, readonly string[]> {
  if (compartment !== 'Patient') {
    throw new FhirError('NOT_IMPLEMENTED', `Compartment searches are supported for Patient only, not ${compartment}`);
  }
  return patientCompartment();
}

// ---------------------------------------------------------------------------------------------
// conditional interactions

/**
 * Parses a conditional query strictly: an ignored parameter would widen the match, so every
 * unknown parameter is a 400 here whatever Prefer says.
 */
function conditionalRequest(services: FhirServices, resourceType: string, query: QueryParams): SearchRequest {
  const filtered: Record<string, readonly string[]> = {};
  for (const [name, values] of Object.entries(query)) {
    if (name !== '_multiple' && !TRANSPORT_PARAMETERS.has(name)) filtered[name] = values;
  }
  if (Object.keys(filtered).length === 0) {
    throw new FhirError('INVALID_REQUEST', 'A conditional interaction needs search criteria');
  }
  return parse(services, { resourceType, query: filtered, strict: true });
}

/** If-None-Exist: the existing resource (200) when exactly one matches; undefined when none. */
export async function resolveIfNoneExist(services: FhirServices, ctx: RequestContext, resourceType: string, request: FhirRequest): Promise<FhirResponse | undefined> {
  const query = parseHeaderQuery(request.headers.ifNoneExist ?? '', resourceType, services.settings.baseUrl);
  const id = await resolveConditionalTarget(services, { resourceType, query, purpose: 'create' });
  if (id === undefined) {
    return undefined;
  }
  const response = versionResponse(await services.repo.read(resourceType, id));
  return { ...response, headers: { ...response.headers, location: `${services.settings.baseUrl}/${resourceType}/${id}` } };
}

/** 0 matches: undefined; 1: its id; more: 412. */
export async function resolveConditionalTarget(
  services: FhirServices,
  condition: { resourceType: string; query: QueryParams; purpose: 'create' | 'update' | 'delete' | 'patch' | 'reference' },
): Promise<string | undefined> {
  const { resourceType, query, purpose } = condition;
  const ids = await services.repo.matchingIds(conditionalRequest(services, resourceType, query), 2);
  if (ids.length > 1) {
    throw new FhirError('MULTIPLE_MATCHES', `The conditional ${purpose} criteria match more than one ${resourceType}; make them more selective`);
  }
  return ids[0];
}

/** POST [type], conditional when If-None-Exist is present. */
export async function create(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const criteria = request.headers.ifNoneExist;
  if (criteria === undefined) {
    return plainCreate(services, ctx, request, resourceType);
  }
  // Check the body before taking the lock: a bad body is a 400 whether or not anything matches.
  prepareCreate(resourceType, request.body);
  const query = parseHeaderQuery(criteria, resourceType, services.settings.baseUrl);
  return services.repo.withLock(conditionKey(conditionalRequest(services, resourceType, query)), async () => {
    const existing = await resolveIfNoneExist(services, ctx, resourceType, request);
    // A match answers 200 with the existing resource, shaped by Prefer like any write's answer.
    return existing ? applyPreferReturn(existing, ctx.prefer) : plainCreate(services, ctx, request, resourceType);
  });
}

/** PUT [type]?criteria: 0 matches → create, 1 → update it, more → 412. */
export async function conditionalUpdate(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const parsed = conditionalRequest(services, resourceType, request.query);
  return services.repo.withLock(conditionKey(parsed), async () => {
    const id = await resolveConditionalTarget(services, { resourceType, query: request.query, purpose: 'update' });
    const bodyId = (request.body as Resource | undefined)?.id;
    if (id === undefined) {
      if (bodyId !== undefined) {
        return update(services, ctx, request, { resourceType, id: bodyId });
      }
      const prepared = prepareCreate(resourceType, request.body);
      const result = await writeWithDerived(services, { kind: 'create', resource: prepared.resource }, 'PUT');
      return writeResponse({ baseUrl: services.settings.baseUrl, ...result, prefer: ctx.prefer, warnings: prepared.warnings });
    }
    if (bodyId !== undefined && bodyId !== id) {
      throw new FhirError('ID_MISMATCH', `The resource id "${bodyId}" is not the id of the match "${id}"`, { expression: [`${resourceType}.id`] });
    }
    const body = { ...(request.body as Resource), id };
    return update(services, ctx, { ...request, body }, { resourceType, id });
  });
}

/** DELETE [type]?criteria: one match (or, with _multiple=true, up to 100). */
export async function conditionalDelete(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const multiple = request.query._multiple?.[0] === 'true';
  const parsed = conditionalRequest(services, resourceType, request.query);
  const ids = await services.repo.matchingIds(parsed, multiple ? MAX_CONDITIONAL_DELETES + 1 : 2);
  if (ids.length > 1 && !multiple) {
    throw new FhirError('MULTIPLE_MATCHES', `The criteria match more than one ${resourceType}; add _multiple=true to delete them all`);
  }
  if (ids.length > MAX_CONDITIONAL_DELETES) {
    throw new FhirError('TOO_COSTLY', `The criteria match more than ${MAX_CONDITIONAL_DELETES} resources; delete them in smaller sets`);
  }
  for (const id of ids) {
    await remove(services, { ...request, query: {} }, { resourceType, id });
  }
  return {
    status: 200,
    body: operationOutcome([
      { severity: 'information', code: 'informational', diagnostics: ids.length === 0 ? 'No resource matched: nothing was deleted' : `Deleted ${ids.length} ${resourceType}` },
    ]),
    headers: {},
  };
}

/** PATCH [type]?criteria: exactly one match is patched. */
export async function conditionalPatch(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const id = await resolveConditionalTarget(services, { resourceType, query: request.query, purpose: 'patch' });
  if (id === undefined) {
    throw new FhirError('NOT_FOUND', `No ${resourceType} matches the conditional patch criteria`);
  }
  return patch(services, ctx, { ...request, query: {} }, { resourceType, id });
}

/**
 * Conditional references (`Patient?identifier=…`) inside a resource, each resolved to exactly one
 * match. See: https://hl7.org/fhir/R4/http.html#trules
 */
export async function resolveConditionalReferences(services: FhirServices, ctx: RequestContext, resource: Resource): Promise<Map<string, string>> {
  const references = new Set<string>();
  const walk = (value: unknown, key?: string): void => {
    if (Array.isArray(value)) value.forEach((v) => walk(v));
    else if (value !== null && typeof value === 'object') Object.entries(value).forEach(([k, v]) => walk(v, k));
    else if (key === 'reference' && typeof value === 'string' && /^[A-Z][A-Za-z]+\?/.test(value)) references.add(value);
  };
  walk(resource);
  const resolved = new Map<string, string>();
  for (const reference of references) {
    const [type = '', queryText = ''] = reference.split(/\?(.*)/s, 2);
    const id = await resolveConditionalTarget(services, { resourceType: type, query: parseHeaderQuery(queryText, type, services.settings.baseUrl), purpose: 'reference' });
    if (id === undefined) {
      throw new FhirError('NO_MATCH', `The conditional reference ${reference} matches no resource`);
    }
    resolved.set(reference, `${type}/${id}`);
  }
  return resolved;
}

/**
 * The criteria of If-None-Exist or of a conditional reference: `a=b`, `?a=b`, `Type?a=b`, or an
 * absolute `[base]/Type?a=b`, which HAPI's client sends.
 */
function parseHeaderQuery(text: string, resourceType: string, baseUrl: string): QueryParams {
  let trimmed = text.trim();
  const prefix = [`${baseUrl}/${resourceType}?`, `${resourceType}?`, '?'].find((p) => trimmed.startsWith(p));
  if (prefix !== undefined) {
    trimmed = trimmed.slice(prefix.length);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new FhirError('INVALID_REQUEST', `The criteria ${trimmed.split('?')[0]} do not search ${resourceType} on this server (${baseUrl})`);
  }
  const query: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(trimmed)) {
    (query[name] ??= []).push(value);
  }
  return query;
}

