/**
 * Patient/[id]/$everything: the patient, every resource in their compartment, and the resources
 * those reference (practitioners, organisations, questionnaires…), paged with _count.
 * Parameters: start and end (the date of care of each type: fhir/clinical-dates.ts), _since
 * (last updated), _type (restrict the types), _count.
 * See: https://hl7.org/fhir/R4/patient-operation-everything.html
 */
import type { BundleEntry, BundleLink, Parameters } from '@medplum/fhirtypes';
import { bundle } from '../fhir/bundles';
import { clinicalDateParameter } from '../fhir/clinical-dates';
import { patientCompartment } from '../fhir/compartments';
import { FhirError } from '../fhir/outcomes';
import { pageSize } from '../core/paging';
import type { FhirOperation, FhirServices, OperationTarget } from '../core/services';
import type { SearchPage } from '../store/repository';
import type { FhirRequest, FhirResponse, QueryParams } from '../core/exchange';
import { parseSearch } from '../search/parse';

const PARAMETERS = new Set(['start', 'end', '_since', '_type', '_count', '_cursor', '_format', '_pretty']);

export interface Position {
  /** The type being read (types are read Patient first, then by name). */
  readonly type: string;
  /** Continuation inside that type's search. */
  readonly inner?: string;
}

/** Pages of at least this many entries search the compartment's types concurrently. */
const PREFETCH_FROM = 50;

/** Patient first, then alphabetical: the order in which types are read. */
const orderKey = (type: string) => (type === 'Patient' ? '' : type);

export const patientEverything: FhirOperation = {
  name: 'everything',
  definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  levels: ['instance'],
  resourceTypes: ['Patient'],
  affectsState: false,
  async invoke(services: FhirServices, _ctx, target: OperationTarget, request: FhirRequest): Promise<FhirResponse> {
    const id = target.id as string;
    const params = everythingParameters(request);
    await services.repo.read('Patient', id); // 404 or 410 before anything else
    const compartment = patientCompartment();
    // Types never stored cannot hold anything: skipping them saves a query each (~100 types).
    const stored = new Set(await services.repo.resourceTypesWithData());
    const types = selectTypes(params, compartment).filter((t) => stored.has(t));
    const count = pageSize(single(params, '_count'), services.settings);
    const resume = decodePosition(single(params, '_cursor'));
    // By name, not index: a type stored for the first time between two pages shifts no position.
    let index = resume ? types.findIndex((t) => orderKey(t) >= orderKey(resume.type)) : 0;
    let inner = resume && types[index] === resume.type ? resume.inner : undefined;
    if (index < 0) index = types.length;
    const matches: BundleEntry[] = [];
    const searchType = (type: string, remaining: number, cursor: string | undefined): Promise<SearchPage> => {
      const search = parseSearch(type, typeQuery(services, type, params, remaining), services.registry, {
        strict: true,
        defaultCount: count,
        maxCount: services.settings.maxPageSize,
        baseUrl: services.settings.baseUrl,
      });
      return services.repo.search(search, { compartment: { params: { [type]: compartment.get(type) ?? [] }, reference: `Patient/${id}` }, ...(cursor ? { cursor } : {}) });
    };
    // A large page (a client pulling the whole record) searches the types at once, each for the
    // whole page, then takes them in order; where the page fills up inside a type, that type is
    // searched again for exactly what is left, so that its continuation starts at the right
    // place. A small page searches one type after the other, as it may need only the first.
    const ahead = count >= PREFETCH_FROM ? types.slice(index).map((type, i) => searchType(type, count, i === 0 ? inner : undefined)) : [];
    ahead.forEach((p) => p.catch(() => undefined)); // awaited below, in order
    while (index < types.length && matches.length < count) {
      const type = types[index] as string;
      const remaining = count - matches.length;
      let page = await (ahead.shift() ?? searchType(type, remaining, inner));
      if (page.matches.length > remaining) {
        page = await searchType(type, remaining, inner);
      }
      for (const found of page.matches) {
        matches.push({ fullUrl: `${services.settings.baseUrl}/${found.resourceType}/${found.id}`, resource: found.resource, search: { mode: 'match' } });
      }
      if (page.nextCursor) {
        inner = page.nextCursor; // the page is full: the next one goes on in this type
        break;
      }
      index++;
      inner = undefined;
    }
    const included = await referencedResources(services, matches, compartment);
    const self = `${services.settings.baseUrl}/Patient/${id}/$everything`;
    const link: BundleLink[] = [{ relation: 'self', url: `${self}${queryString(params, undefined)}` }];
    if (index < types.length) {
      const next: Position = { type: types[index] as string, ...(inner ? { inner } : {}) };
      link.push({ relation: 'next', url: `${self}${queryString(params, encodePosition(next))}` });
    }
    return { status: 200, body: bundle('searchset', { entry: [...matches, ...included], link, timestamp: services.now() }), headers: {} };
  },
};

/**
 * The resources the page's matches reference outside the compartment (practitioners,
 * organisations, …; those inside come as matches of their own type), each once: one `_id`
 * search per referenced type for the whole page, rather than an _include per compartment type
 * that would fetch the same practitioners again for every type.
 */
async function referencedResources(services: FhirServices, matches: readonly BundleEntry[], compartment: ReadonlyMap<string, readonly string[]>): Promise<BundleEntry[]> {
  const known = new Set(services.registry.resourceTypes());
  const byType = new Map<string, Set<string>>();
  const local = `${services.settings.baseUrl}/`;
  for (const entry of matches) {
    forEachReference(entry.resource, (reference) => {
      const [type, refId, ...rest] = (reference.startsWith(local) ? reference.slice(local.length) : reference).split('/');
      if (type && refId && rest.length === 0 && known.has(type) && !compartment.has(type)) {
        byType.set(type, (byType.get(type) ?? new Set()).add(refId));
      }
    });
  }
  const pages = await Promise.all(
    [...byType].map(([type, ids]) => {
      const list = [...ids].slice(0, services.settings.maxPageSize);
      const search = parseSearch(type, { _id: [list.join(',')], _count: [String(list.length)] }, services.registry, {
        strict: true,
        defaultCount: list.length,
        maxCount: services.settings.maxPageSize,
        baseUrl: services.settings.baseUrl,
      });
      return services.repo.search(search);
    }),
  );
  return pages.flatMap((page) =>
    page.matches.map((found): BundleEntry => ({ fullUrl: `${services.settings.baseUrl}/${found.resourceType}/${found.id}`, resource: found.resource, search: { mode: 'include' } })),
  );
}

/** Calls `visit` with every `reference` string in a resource (contained resources included). */
function forEachReference(value: unknown, visit: (reference: string) => void): void {
  if (Array.isArray(value)) {
    value.forEach((v) => forEachReference(v, visit));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reference' && typeof v === 'string') visit(v);
      else forEachReference(v, visit);
    }
  }
}

/** GET query parameters, or a POSTed Parameters resource (values as strings). */
export function everythingParameters(request: FhirRequest): QueryParams {
  const params: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(request.query)) {
    params[name] = [...values];
  }
  const body = request.body as Parameters | undefined;
  if (body?.resourceType === 'Parameters') {
    for (const p of body.parameter ?? []) {
      const value = p.valueDate ?? p.valueDateTime ?? p.valueInstant ?? p.valueCode ?? p.valueString ?? (p.valueInteger !== undefined ? String(p.valueInteger) : undefined);
      if (value !== undefined) (params[p.name] ??= []).push(value);
    }
  }
  for (const name of Object.keys(params)) {
    if (!PARAMETERS.has(name)) {
      throw new FhirError('INVALID_REQUEST', `$everything does not take the parameter "${name}"`, { expression: [name] });
    }
  }
  return params;
}

function selectTypes(params: QueryParams, compartment: ReadonlyMap<string, readonly string[]>): string[] {
  const all = ['Patient', ...[...compartment.keys()].filter((t) => t !== 'Patient').sort()];
  const wanted = params._type?.flatMap((v) => v.split(',')).map((t) => t.trim());
  if (!wanted) {
    return all;
  }
  for (const type of wanted) {
    if (!compartment.has(type)) {
      throw new FhirError('INVALID_REQUEST', `_type: ${type} is not in the Patient compartment`, { expression: ['_type'] });
    }
  }
  return all.filter((t) => wanted.includes(t));
}

/** The search for one type: the remaining page size, _since, and start/end on care dates. */
export function typeQuery(services: FhirServices, type: string, params: QueryParams, remaining: number): Record<string, string[]> {
  const query: Record<string, string[]> = { _count: [String(remaining)] };
  const since = single(params, '_since');
  if (since !== undefined) query._lastUpdated = [`ge${since}`];
  // start/end select on the type's date of care (fhir/clinical-dates.ts); a type without one is left in.
  const dated = clinicalDateParameter(type);
  const start = single(params, 'start');
  const end = single(params, 'end');
  if (dated !== undefined && services.registry.get(type, dated) !== undefined && (start !== undefined || end !== undefined)) {
    query[dated] = [...(start !== undefined ? [`ge${start}`] : []), ...(end !== undefined ? [`le${end}`] : [])];
  }
  return query;
}

export function single(params: QueryParams, name: string): string | undefined {
  const values = params[name];
  if (values && values.length > 1) {
    throw new FhirError('INVALID_REQUEST', `${name} may appear only once`, { expression: [name] });
  }
  return values?.[0];
}

export function queryString(params: QueryParams, cursor: string | undefined): string {
  const search = new URLSearchParams();
  for (const [name, values] of Object.entries(params)) {
    if (name !== '_cursor') values.forEach((v) => search.append(name, v));
  }
  if (cursor) search.append('_cursor', cursor);
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function encodePosition(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodePosition(token: string | undefined): Position | undefined {
  if (token === undefined) {
    return undefined;
  }
  try {
    const p = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Position;
    if (typeof p.type === 'string' && (p.inner === undefined || typeof p.inner === 'string')) {
      return p;
    }
  } catch {
    // fall through
  }
  throw new FhirError('INVALID_REQUEST', 'The $everything page cursor is not valid; start again from the first page', { expression: ['_cursor'] });
}
