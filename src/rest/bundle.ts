/**
 * batch and transaction Bundles. A batch runs each entry on its own through the router. A
 * transaction is all or nothing: every entry is resolved, checked and validated before the
 * first write, then the repository applies the writes as one unit (undoing them on failure).
 * See: https://hl7.org/fhir/R4/http.html#transaction and https://hl7.org/fhir/R4/bundle.html#transaction
 */
import type { Binary, Bundle, BundleEntry, BundleEntryRequest, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { bundle, responseEntry } from '../fhir/bundles';
import { keepDecimalText } from '../fhir/json-text';
import { FHIR_JSON, JSON_PATCH } from '../fhir/media-types';
import { FhirError, toFhirError } from '../fhir/outcomes';
import { etag, httpDate, parseVersionTag } from '../fhir/versioning';
import { newId } from '../platform/ids';
import type { PlannedWrite, WriteResult } from '../store/repository';
import { derivedWrites } from './derivations';
import { applyPatchDocument, parsePatchDocument } from './patch';
import { versionUrl } from './responses';
import { route } from './router';
import { resolveConditionalReferences, resolveConditionalTarget, resolveIfNoneExist } from './search-interactions';
import type { FhirServices } from './services';
import type { FhirRequest, FhirResponse, HttpMethod, QueryParams, RequestContext } from './types';
import { prepareCreate, prepareUpdate } from './write';

const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Processing order inside a transaction (http.html#trules). */
const ORDER: Record<HttpMethod, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

interface ParsedEntry {
  readonly index: number;
  readonly method: HttpMethod;
  readonly request: FhirRequest;
  readonly fullUrl?: string;
  readonly resource?: Resource;
}

export async function processBundle(services: FhirServices, ctx: RequestContext, request: FhirRequest): Promise<FhirResponse> {
  const input = assertBundle(request.body, services.settings.maxBundleEntries);
  const entries = (input.entry ?? []).map((entry, index) => parseEntry(services.settings.baseUrl, entry, index));
  if (input.type === 'batch') {
    return batch(services, ctx, entries);
  }
  return transaction(services, ctx, entries);
}

async function batch(services: FhirServices, ctx: RequestContext, entries: ParsedEntry[]): Promise<FhirResponse> {
  const responses: BundleEntry[] = [];
  for (const entry of entries) {
    responses.push(await runIndependently(services, ctx, entry));
  }
  return { status: 200, body: bundle('batch-response', { entry: responses, timestamp: services.now() }), headers: {} };
}

/** Runs one entry on its own: its failure becomes its response, not the Bundle's. */
async function runIndependently(services: FhirServices, ctx: RequestContext, entry: ParsedEntry): Promise<BundleEntry> {
  try {
    if (entry.request.path === '' && entry.method === 'POST') {
      throw new FhirError('INVALID_BUNDLE', 'A Bundle entry cannot itself be a batch or transaction');
    }
    return toResponseEntry(services, await route(services, ctx, entry.request));
  } catch (err) {
    const error = toFhirError(err);
    if (error.status >= 500) {
      ctx.log.error({ err, entry: entry.index }, 'Bundle entry failed');
    }
    return responseEntry({ status: error.status, outcome: error.outcome });
  }
}

/** A write entry once resolved: what to write and how to answer for it. */
interface PlannedEntry {
  readonly entry: ParsedEntry;
  readonly write?: PlannedWrite;
  /** Writes that follow it in the same unit (derivations.ts); answered for by the entry. */
  readonly derived?: readonly PlannedWrite[];
  /** Set when a conditional create found its match: nothing is written. */
  readonly existing?: FhirResponse;
  readonly warnings: readonly OperationOutcomeIssue[];
}

async function transaction(services: FhirServices, ctx: RequestContext, entries: ParsedEntry[]): Promise<FhirResponse> {
  for (const entry of entries) {
    if (entry.request.path === '' && entry.method === 'POST') {
      throw entryError(entry, new FhirError('INVALID_BUNDLE', 'A transaction entry cannot itself be a batch or transaction'));
    }
  }
  const ordered = [...entries].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
  const identities = await assignIdentities(services, ctx, ordered);
  const planned: PlannedEntry[] = [];
  const targets = new Set<string>();
  for (const entry of ordered.filter((e) => e.method !== 'GET' && e.method !== 'HEAD')) {
    const base = await withEntry(entry, () => planEntry(services, ctx, entry, identities));
    const derived = base.write && base.write.kind !== 'delete' ? await withEntry(entry, () => derivedWrites(services, (base.write as PlannedWrite & { kind: 'create' | 'update' }).resource)) : [];
    const plan: PlannedEntry = { ...base, derived };
    for (const write of [...(plan.write ? [plan.write] : []), ...derived]) {
      const target = targetOf(write);
      if (targets.has(target)) {
        throw entryError(entry, new FhirError('INVALID_BUNDLE', `${target} appears in more than one entry of the transaction`));
      }
      targets.add(target);
    }
    planned.push(plan);
  }
  const writes = planned.flatMap((p) => (p.write ? [p.write, ...(p.derived ?? [])] : []));
  const results = await services.repo.applyAll(writes);
  const responses = new Map<number, BundleEntry>();
  let next = 0;
  for (const plan of planned) {
    if (plan.existing) {
      responses.set(plan.entry.index, toResponseEntry(services, plan.existing));
      continue;
    }
    const result = results[next] as WriteResult;
    next += 1 + (plan.derived?.length ?? 0);
    responses.set(plan.entry.index, writeEntry(services, ctx, plan, result));
  }
  // Reads run after the commit: a failed read cannot undo the writes, so it is reported in its
  // own entry, as in a batch.
  for (const entry of ordered.filter((e) => e.method === 'GET' || e.method === 'HEAD')) {
    responses.set(entry.index, await runIndependently(services, ctx, entry));
  }
  const entry = entries.map((e) => responses.get(e.index) as BundleEntry);
  return { status: 200, body: bundle('transaction-response', { entry, timestamp: services.now() }), headers: {} };
}

/**
 * Gives every created resource its id up front and maps each entry's fullUrl (urn:uuid:… or an
 * absolute URL) to the local reference that replaces it everywhere in the Bundle.
 */
async function assignIdentities(services: FhirServices, ctx: RequestContext, entries: ParsedEntry[]): Promise<Identities> {
  const byFullUrl = new Map<string, string>();
  const createIds = new Map<number, string>();
  const conditionalMatches = new Map<number, FhirResponse>();
  for (const entry of entries) {
    const [type, id] = entry.request.path.split('/');
    let local: string | undefined;
    if (entry.method === 'POST' && type && id === undefined) {
      const match = entry.request.headers.ifNoneExist ? await withEntry(entry, () => resolveIfNoneExist(services, ctx, type, entry.request)) : undefined;
      if (match) {
        conditionalMatches.set(entry.index, match);
        local = `${type}/${(match.body as Resource).id}`;
      } else {
        const assigned = newId();
        createIds.set(entry.index, assigned);
        local = `${type}/${assigned}`;
      }
    } else if ((entry.method === 'PUT' || entry.method === 'PATCH' || entry.method === 'DELETE') && type && id !== undefined) {
      local = `${type}/${id}`;
    } else if (entry.method === 'PUT' && type && id === undefined) {
      const target = await withEntry(entry, () => resolveConditionalTarget(services, { resourceType: type, query: entry.request.query, purpose: 'update' }));
      local = `${type}/${target ?? newId()}`;
      createIds.set(entry.index, local.split('/')[1] as string);
    }
    if (entry.fullUrl !== undefined && local !== undefined) {
      if (byFullUrl.has(entry.fullUrl)) {
        throw entryError(entry, new FhirError('INVALID_BUNDLE', `fullUrl ${entry.fullUrl} appears in more than one entry`));
      }
      byFullUrl.set(entry.fullUrl, local);
    }
  }
  return { byFullUrl, createIds, conditionalMatches };
}

interface Identities {
  readonly byFullUrl: ReadonlyMap<string, string>;
  /** Entry index → id for resources created (or update-as-created) by the transaction. */
  readonly createIds: ReadonlyMap<number, string>;
  readonly conditionalMatches: ReadonlyMap<number, FhirResponse>;
}

async function planEntry(services: FhirServices, ctx: RequestContext, entry: ParsedEntry, identities: Identities): Promise<PlannedEntry> {
  const [type, id] = entry.request.path.split('/') as [string, string | undefined];
  const ifMatchVersion = entry.request.headers.ifMatch === undefined ? undefined : parseVersionTag(entry.request.headers.ifMatch, 'ifMatch');
  switch (entry.method) {
    case 'DELETE': {
      if (id === undefined) {
        const found = await resolveConditionalTarget(services, { resourceType: type, query: entry.request.query, purpose: 'delete' });
        if (found === undefined) {
          return { entry, warnings: [], existing: { status: 204, headers: {} } };
        }
        return { entry, warnings: [], write: { kind: 'delete', resourceType: type, id: found } };
      }
      return { entry, warnings: [], write: { kind: 'delete', resourceType: type, id, ...(ifMatchVersion ? { ifMatchVersion } : {}) } };
    }
    case 'POST': {
      const existing = identities.conditionalMatches.get(entry.index);
      if (existing) {
        return { entry, warnings: [], existing };
      }
      const resource = await rewriteReferences(services, ctx, entry.resource, identities.byFullUrl);
      const prepared = prepareCreate(type, resource, identities.createIds.get(entry.index));
      return { entry, warnings: prepared.warnings, write: { kind: 'create', resource: prepared.resource } };
    }
    case 'PUT': {
      const targetId = id ?? identities.createIds.get(entry.index);
      const resource = await rewriteReferences(services, ctx, entry.resource, identities.byFullUrl);
      const body = id === undefined && resource && !('id' in resource) ? { ...resource, id: targetId } : resource;
      const prepared = prepareUpdate(type, targetId as string, body);
      return { entry, warnings: prepared.warnings, write: { kind: 'update', resource: prepared.resource, method: 'PUT', ...(ifMatchVersion ? { ifMatchVersion } : {}) } };
    }
    case 'PATCH': {
      if (id === undefined) {
        throw new FhirError('NOT_IMPLEMENTED', 'Conditional patch inside a transaction is not supported');
      }
      const current = await services.repo.read(type, id);
      if (ifMatchVersion !== undefined && current.versionId !== ifMatchVersion) {
        throw new FhirError('VERSION_CONFLICT', `ifMatch expected version ${ifMatchVersion}, but the current version is ${current.versionId}`);
      }
      const { resource, warnings } = applyPatchDocument(current, parsePatchDocument(patchFromEntry(entry.resource)));
      return { entry, warnings, write: { kind: 'update', resource, method: 'PATCH', ifMatchVersion: current.versionId } };
    }
    case 'GET':
    case 'HEAD':
      throw new Error('reads are not planned');
  }
}

function writeEntry(services: FhirServices, ctx: RequestContext, plan: PlannedEntry, result: WriteResult): BundleEntry {
  const { version } = result;
  if (plan.write?.kind === 'delete') {
    return responseEntry({ status: 204, ...(version.versionId > 0 ? { etag: etag(version.versionId) } : {}) });
  }
  const resource = version.resource;
  return responseEntry({
    status: result.created ? 201 : 200,
    ...(resource && ctx.prefer.return !== 'minimal' ? { resource } : {}),
    ...(resource ? { fullUrl: `${services.settings.baseUrl}/${version.resourceType}/${version.id}` } : {}),
    location: versionUrl(services.settings.baseUrl, version),
    etag: etag(version.versionId),
    lastModified: version.lastUpdated.toISOString(),
    ...(plan.warnings.length > 0 ? { outcome: { resourceType: 'OperationOutcome', issue: [...plan.warnings] } } : {}),
  });
}

/** A FhirResponse as a Bundle entry (entry.response.lastModified is an instant, not an HTTP date). */
function toResponseEntry(services: FhirServices, response: FhirResponse): BundleEntry {
  const isOutcome = response.body?.resourceType === 'OperationOutcome';
  const lastModified = response.headers.lastModified ? new Date(response.headers.lastModified).toISOString() : undefined;
  const resource = response.body && !(isOutcome && response.status >= 400) ? response.body : undefined;
  return responseEntry({
    status: response.status,
    ...(resource ? { resource } : {}),
    ...(resource?.id && !isOutcome && resource.resourceType !== 'Bundle' ? { fullUrl: `${services.settings.baseUrl}/${resource.resourceType}/${resource.id}` } : {}),
    ...(response.headers.location ? { location: response.headers.location } : {}),
    ...(response.headers.etag ? { etag: response.headers.etag } : {}),
    ...(lastModified ? { lastModified } : {}),
    ...(isOutcome && response.status >= 400 && response.body?.resourceType === 'OperationOutcome' ? { outcome: response.body } : {}),
  });
}

/**
 * Replaces references to other entries (their fullUrl) with the local reference of the resource
 * they became, and resolves conditional references (Patient?identifier=…).
 * See: https://hl7.org/fhir/R4/http.html#trules
 */
async function rewriteReferences(
  services: FhirServices,
  ctx: RequestContext,
  resource: Resource | undefined,
  byFullUrl: ReadonlyMap<string, string>,
): Promise<Resource | undefined> {
  if (!resource) {
    return resource;
  }
  const conditional = await resolveConditionalReferences(services, ctx, resource);
  const rewrite = (value: unknown, key: string | undefined): unknown => {
    if (Array.isArray(value)) {
      return keepDecimalText(value, value.map((v) => rewrite(v, undefined)));
    }
    if (value !== null && typeof value === 'object') {
      return keepDecimalText(value, Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v, k)])));
    }
    if (typeof value === 'string' && key === 'reference') {
      const local = byFullUrl.get(value) ?? conditional.get(value);
      if (local) {
        return local;
      }
      if (value.startsWith('urn:uuid:') || value.startsWith('urn:oid:')) {
        throw new FhirError('INVALID_BUNDLE', `Reference ${value} does not match the fullUrl of any entry in the transaction`);
      }
    }
    if (typeof value === 'string' && key === 'div') {
      return value.replace(/(href|src)="(urn:uuid:[^"]+)"/g, (whole, attr: string, url: string) => {
        const local = byFullUrl.get(url);
        return local ? `${attr}="${local}"` : whole;
      });
    }
    return value;
  };
  return rewrite(resource, undefined) as Resource;
}

/** A PATCH entry carries a FHIRPath Patch (Parameters) or a JSON Patch in a Binary. */
function patchFromEntry(resource: Resource | undefined): unknown {
  if (resource?.resourceType === 'Parameters') {
    return resource;
  }
  const binary = resource as Binary | undefined;
  if (binary?.resourceType !== 'Binary' || binary.contentType !== JSON_PATCH || typeof binary.data !== 'string') {
    throw new FhirError('INVALID_BUNDLE', 'A PATCH entry must carry a FHIRPath Patch (Parameters) or a Binary with contentType application/json-patch+json and the patch in data');
  }
  try {
    return JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8'));
  } catch {
    throw new FhirError('INVALID_PATCH', 'The Binary data of a PATCH entry is not base64-encoded JSON');
  }
}

function targetOf(write: PlannedWrite): string {
  return write.kind === 'delete' ? `${write.resourceType}/${write.id}` : `${write.resource.resourceType}/${write.resource.id}`;
}

function assertBundle(body: unknown, maxEntries: number): Bundle {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || (body as Resource).resourceType !== 'Bundle') {
    throw new FhirError('INVALID_BUNDLE', 'POST to the base URL takes a Bundle of type batch or transaction', { expression: ['resourceType'] });
  }
  const input = body as Bundle;
  if (input.type !== 'batch' && input.type !== 'transaction') {
    throw new FhirError('INVALID_BUNDLE', `Bundle.type must be batch or transaction, got ${JSON.stringify(input.type)}`, { expression: ['Bundle.type'] });
  }
  if (input.entry !== undefined && !Array.isArray(input.entry)) {
    throw new FhirError('INVALID_BUNDLE', 'Bundle.entry must be an array', { expression: ['Bundle.entry'] });
  }
  if ((input.entry?.length ?? 0) > maxEntries) {
    throw new FhirError('PAYLOAD_TOO_LARGE', `A Bundle may hold at most ${maxEntries} entries`, { expression: ['Bundle.entry'] });
  }
  return input;
}

function parseEntry(baseUrl: string, entry: BundleEntry, index: number): ParsedEntry {
  const where = `Bundle.entry[${index}]`;
  const request = entry?.request as BundleEntryRequest | undefined;
  if (!request || typeof request !== 'object') {
    throw new FhirError('INVALID_BUNDLE', `${where}.request is required in a batch or transaction`, { expression: [`${where}.request`] });
  }
  const method = request.method as HttpMethod;
  if (!METHODS.includes(method)) {
    throw new FhirError('INVALID_BUNDLE', `${where}.request.method must be one of ${METHODS.join(', ')}`, { expression: [`${where}.request.method`] });
  }
  if (typeof request.url !== 'string' || request.url === '') {
    throw new FhirError('INVALID_BUNDLE', `${where}.request.url is required`, { expression: [`${where}.request.url`] });
  }
  const { path, query } = splitUrl(baseUrl, request.url);
  if ((method === 'POST' || method === 'PUT') && !entry.resource) {
    throw new FhirError('INVALID_BUNDLE', `${where}.resource is required for ${method}`, { expression: [`${where}.resource`] });
  }
  if (entry.fullUrl !== undefined && typeof entry.fullUrl !== 'string') {
    throw new FhirError('INVALID_BUNDLE', `${where}.fullUrl must be a string`, { expression: [`${where}.fullUrl`] });
  }
  return {
    index,
    method,
    fullUrl: entry.fullUrl,
    resource: entry.resource,
    request: {
      method,
      path,
      query,
      headers: {
        ...(request.ifMatch ? { ifMatch: request.ifMatch } : {}),
        ...(request.ifNoneMatch ? { ifNoneMatch: request.ifNoneMatch } : {}),
        ...(request.ifNoneExist ? { ifNoneExist: request.ifNoneExist } : {}),
        ...(request.ifModifiedSince ? { ifModifiedSince: httpDate(new Date(request.ifModifiedSince)) } : {}),
        contentType: method === 'PATCH' && entry.resource?.resourceType === 'Binary' ? JSON_PATCH : FHIR_JSON,
      },
      body: method === 'PATCH' ? parsePatchBody(entry.resource) : entry.resource,
    },
  };
}

function parsePatchBody(resource: Resource | undefined): unknown {
  try {
    return patchFromEntry(resource);
  } catch {
    return undefined;
  }
}

/** entry.request.url is relative to [base] (an absolute URL on our base is accepted too). */
function splitUrl(baseUrl: string, url: string): { path: string; query: QueryParams } {
  const relative = url.startsWith(`${baseUrl}/`) ? url.slice(baseUrl.length + 1) : url.replace(/^\//, '');
  const [path = '', search = ''] = relative.split(/\?(.*)/s, 2);
  const query: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(search)) {
    (query[name] ??= []).push(value);
  }
  return { path: path.replace(/\/$/, ''), query };
}

async function withEntry<T>(entry: ParsedEntry, run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw entryError(entry, err);
  }
}

/** Points an entry's failure at the entry: expressions and messages name Bundle.entry[i]. */
function entryError(entry: ParsedEntry, err: unknown): FhirError {
  if (!(err instanceof FhirError)) {
    return toFhirError(err);
  }
  const where = `Bundle.entry[${entry.index}]`;
  const issues = err.outcome.issue.map((i) => ({
    ...i,
    ...(i.diagnostics ? { diagnostics: `${where}: ${i.diagnostics}` } : {}),
    ...(i.details?.text ? { details: { ...i.details, text: `${where}: ${i.details.text}` } } : {}),
    // An issue without a place of its own is at least located at its entry.
    expression: i.expression ? i.expression.map((e) => locateInEntry(where, e)) : [where],
  }));
  return new FhirError(err.code, `${where}: ${err.message}`, { issues, cause: err });
}

/** `Patient.name[0]` → `Bundle.entry[3].resource.name[0]`; a query parameter → the entry's request.url. */
function locateInEntry(where: string, expression: string): string {
  if (expression.startsWith('Bundle.entry[')) {
    return expression;
  }
  if (/^[A-Z]/.test(expression)) {
    return `${where}.resource${expression.replace(/^[A-Z][A-Za-z]*/, '')}`;
  }
  if (expression.startsWith('[')) {
    return `${where}.resource.data`; // a JSON Patch operation, carried in a Binary
  }
  return expression === 'resourceType' ? `${where}.resource.resourceType` : `${where}.request.url`;
}
