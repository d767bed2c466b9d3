/**
 * batch and transaction Bundles. A batch dispatches each entry on its own. A transaction is all
 * or nothing: every entry is resolved and taken through the write pipeline before the first
 * write, then the store applies the writes as one unit (undoing them on failure). Its
 * conditional entries (If-None-Exist, PUT by criteria) are resolved and written inside the
 * store's conditional scope, as the same requests sent alone would be.
 * See: https://hl7.org/fhir/R4/http.html#transaction and https://hl7.org/fhir/R4/bundle.html#transaction
 */
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import type { Dispatch, RequestContext } from '../../core/context';
import { conditionOf, parseCriteria, soleMatch } from '../../core/criteria';
import { type FhirRequest, type FhirResponse, ifMatchVersion } from '../../core/exchange';
import type { FhirServices } from '../../core/services';
import { type PreparedWrite, prepareWrite, unitWrites, writeConditionally } from '../../core/write-pipeline';
import { bundle, responseEntry } from '../../fhir/bundles';
import { FhirError, toFhirError } from '../../fhir/outcomes';
import { applyPatchDocument, parsePatchDocument } from '../../fhir/patch-document';
import { assertUpdateBody } from '../../fhir/resource-body';
import { etag, versionConflict } from '../../fhir/versioning';
import { newId } from '../../platform/ids';
import type { SearchRequest } from '../../search/request';
import type { PlannedWrite, WriteResult } from '../../store/repository';
import { ifNoneExistMatch } from '../interactions/conditional';
import { createWrite } from '../interactions/write';
import { versionUrl } from '../responses';
import {
  type ParsedEntry,
  assertBundle,
  entryError,
  isNestedBundle,
  isRead,
  parseEntry,
  patchFromEntry,
  toResponseEntry,
  transactionOrder,
  withEntry,
} from './entries';
import { rewriteReferences } from './references';

export async function processBundle(services: FhirServices, ctx: RequestContext, request: FhirRequest, dispatch: Dispatch): Promise<FhirResponse> {
  const input = assertBundle(request.body, services.settings.maxBundleEntries);
  const entries = (input.entry ?? []).map((entry, index) => parseEntry(services.settings.baseUrl, entry, index));
  if (input.type === 'batch') {
    const responses: BundleEntry[] = [];
    for (const entry of entries) {
      responses.push(await runIndependently({ services, ctx, dispatch }, entry));
    }
    return { status: 200, body: bundle('batch-response', { entry: responses, timestamp: services.now() }), headers: {} };
  }
  return transaction({ services, ctx, dispatch }, entries);
}

interface Processing {
  readonly services: FhirServices;
  readonly ctx: RequestContext;
  readonly dispatch: Dispatch;
}

/** Runs one entry on its own: its failure becomes its response, not the Bundle's. */
async function runIndependently({ services, ctx, dispatch }: Processing, entry: ParsedEntry): Promise<BundleEntry> {
  try {
    if (isNestedBundle(entry)) {
      throw new FhirError('INVALID_BUNDLE', 'A Bundle entry cannot itself be a batch or transaction');
    }
    return toResponseEntry(services.settings.baseUrl, await dispatch(ctx, entry.request));
  } catch (err) {
    const error = toFhirError(err);
    if (error.status >= 500) {
      ctx.log.error({ err, entry: entry.index }, 'Bundle entry failed');
    }
    return responseEntry({ status: error.status, outcome: error.outcome });
  }
}

/** A write entry once resolved: what to write, or the answer it already has. */
interface PlannedEntry {
  readonly entry: ParsedEntry;
  readonly prepared?: PreparedWrite;
  /** Set when a conditional create found its match, or a conditional delete none: nothing is written. */
  readonly existing?: FhirResponse;
}

async function transaction(processing: Processing, entries: ParsedEntry[]): Promise<FhirResponse> {
  const { services } = processing;
  for (const entry of entries) {
    if (isNestedBundle(entry)) {
      throw entryError(entry, new FhirError('INVALID_BUNDLE', 'A transaction entry cannot itself be a batch or transaction'));
    }
  }
  const ordered = transactionOrder(entries);
  const conditions = await conditionsOf(services, ordered);
  const { results, outcome: planned } = await writeConditionally(services, conditions, async () => {
    const identities = await assignIdentities(services, ordered);
    const plans: PlannedEntry[] = [];
    const targets = new Set<string>();
    for (const entry of ordered.filter((e) => !isRead(e))) {
      const plan = await withEntry(entry, () => planEntry(processing, entry, identities));
      claimTargets(plan, targets);
      plans.push(plan);
    }
    return { prepared: plans.flatMap((p) => (p.prepared ? [p.prepared] : [])), outcome: plans };
  });
  const responses = new Map<number, BundleEntry>();
  let next = 0;
  for (const plan of planned) {
    if (plan.prepared) {
      responses.set(plan.entry.index, writeEntry(processing, plan.prepared, results[next] as WriteResult));
      next++;
    } else {
      responses.set(plan.entry.index, toResponseEntry(services.settings.baseUrl, plan.existing as FhirResponse));
    }
  }
  // Reads run after the commit: a failed read cannot undo the writes, so it is reported in its
  // own entry, as in a batch.
  for (const entry of ordered.filter(isRead)) {
    responses.set(entry.index, await runIndependently(processing, entry));
  }
  const entry = entries.map((e) => responses.get(e.index) as BundleEntry);
  return { status: 200, body: bundle('transaction-response', { entry, timestamp: services.now() }), headers: {} };
}

/** The criteria of the entries that may create (If-None-Exist, PUT [type]?criteria), parsed and located. */
async function conditionsOf(services: FhirServices, entries: readonly ParsedEntry[]): Promise<SearchRequest[]> {
  const conditions: SearchRequest[] = [];
  for (const entry of entries) {
    const [type, id] = entry.request.path.split('/');
    if (!type) continue;
    if (entry.method === 'POST' && id === undefined && entry.request.headers.ifNoneExist !== undefined) {
      const criteria = entry.request.headers.ifNoneExist;
      conditions.push(await withEntry(entry, () => conditionOf(services, type, parseCriteria(criteria, type, services.settings.baseUrl))));
    } else if (entry.method === 'PUT' && id === undefined) {
      conditions.push(await withEntry(entry, () => conditionOf(services, type, entry.request.query)));
    }
  }
  return conditions;
}

interface Identities {
  readonly byFullUrl: ReadonlyMap<string, string>;
  /** The Patients the transaction creates or updates (`Patient/<id>`): its other entries may be about them. */
  readonly patients: ReadonlySet<string>;
  /** Entry index → id for resources created (or update-as-created) by the transaction. */
  readonly createIds: ReadonlyMap<number, string>;
  readonly conditionalMatches: ReadonlyMap<number, FhirResponse>;
}

/**
 * Gives every created resource its id up front and maps each entry's fullUrl (urn:uuid:… or an
 * absolute URL) to the local reference that replaces it everywhere in the Bundle.
 */
async function assignIdentities(services: FhirServices, entries: readonly ParsedEntry[]): Promise<Identities> {
  const byFullUrl = new Map<string, string>();
  const createIds = new Map<number, string>();
  const conditionalMatches = new Map<number, FhirResponse>();
  const patients = new Set<string>();
  for (const entry of entries) {
    const [type, id] = entry.request.path.split('/');
    let local: string | undefined;
    if (entry.method === 'POST' && type && id === undefined) {
      const match = entry.request.headers.ifNoneExist ? await withEntry(entry, () => ifNoneExistMatch(services, type, entry.request)) : undefined;
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
      const target = await withEntry(entry, () => soleMatch(services, conditionOf(services, type, entry.request.query), 'update'));
      local = `${type}/${target ?? newId()}`;
      createIds.set(entry.index, local.split('/')[1] as string);
    }
    if (local?.startsWith('Patient/') && entry.method !== 'DELETE' && !conditionalMatches.has(entry.index)) {
      patients.add(local);
    }
    if (entry.fullUrl !== undefined && local !== undefined) {
      if (byFullUrl.has(entry.fullUrl)) {
        throw entryError(entry, new FhirError('INVALID_BUNDLE', `fullUrl ${entry.fullUrl} appears in more than one entry`));
      }
      byFullUrl.set(entry.fullUrl, local);
    }
  }
  return { byFullUrl, patients, createIds, conditionalMatches };
}

/** What one write entry asks for, taken through the write pipeline. */
async function planEntry({ services, ctx }: Processing, entry: ParsedEntry, identities: Identities): Promise<PlannedEntry> {
  const [type, id] = entry.request.path.split('/') as [string, string | undefined];
  const expected = ifMatchVersion(entry.request, 'ifMatch');
  const ifMatch = expected !== undefined ? { ifMatchVersion: expected } : {};
  const prepared = (write: PlannedWrite) => prepareWrite(services, ctx, write, identities.patients);
  switch (entry.method) {
    case 'DELETE': {
      if (id === undefined) {
        const found = await soleMatch(services, conditionOf(services, type, entry.request.query), 'delete');
        if (found === undefined) {
          return { entry, existing: { status: 204, headers: {} } };
        }
        return { entry, prepared: await prepared({ kind: 'delete', resourceType: type, id: found }) };
      }
      return { entry, prepared: await prepared({ kind: 'delete', resourceType: type, id, ...ifMatch }) };
    }
    case 'POST': {
      const existing = identities.conditionalMatches.get(entry.index);
      if (existing) {
        return { entry, existing };
      }
      const resource = await rewriteReferences(services, entry.resource, identities.byFullUrl);
      return { entry, prepared: await prepared(createWrite(type, resource, identities.createIds.get(entry.index))) };
    }
    case 'PUT': {
      const targetId = (id ?? identities.createIds.get(entry.index)) as string;
      const resource = await rewriteReferences(services, entry.resource, identities.byFullUrl);
      const body = id === undefined && resource && !('id' in resource) ? { ...resource, id: targetId } : resource;
      return { entry, prepared: await prepared({ kind: 'update', resource: assertUpdateBody(type, targetId, body), method: 'PUT', ...ifMatch }) };
    }
    case 'PATCH': {
      if (id === undefined) {
        throw new FhirError('NOT_IMPLEMENTED', 'Conditional patch inside a transaction is not supported');
      }
      const current = await services.repo.read(type, id);
      if (expected !== undefined && current.versionId !== expected) {
        throw versionConflict({ expected, actual: current.versionId, header: 'ifMatch' });
      }
      const resource = applyPatchDocument({ ...current.resource, id: current.id }, parsePatchDocument(patchFromEntry(entry.resource)));
      return { entry, prepared: await prepared({ kind: 'update', resource, method: 'PATCH', ifMatchVersion: current.versionId }) };
    }
    case 'GET':
    case 'HEAD':
      throw new Error('reads are not planned');
  }
}

/** A resource may be written by one entry only (its own write or one derived from it): adds the plan's to `targets`. */
function claimTargets(plan: PlannedEntry, targets: Set<string>): void {
  for (const write of plan.prepared ? unitWrites([plan.prepared]) : []) {
    const target = write.kind === 'delete' ? `${write.resourceType}/${write.id}` : `${write.resource.resourceType}/${write.resource.id}`;
    if (targets.has(target)) {
      throw entryError(plan.entry, new FhirError('INVALID_BUNDLE', `${target} appears in more than one entry of the transaction`));
    }
    targets.add(target);
  }
}

function writeEntry({ services, ctx }: Processing, prepared: PreparedWrite, result: WriteResult): BundleEntry {
  const { version } = result;
  if (prepared.write.kind === 'delete') {
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
    ...(prepared.warnings.length > 0 ? { outcome: { resourceType: 'OperationOutcome', issue: [...prepared.warnings] } } : {}),
  });
}
