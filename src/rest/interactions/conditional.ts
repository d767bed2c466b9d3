/**
 * The conditional interactions: create with If-None-Exist, and update, delete and patch of
 * [type]?criteria. Create and update resolve their criteria and write inside the store's
 * conditional scope (writeConditionally), so that two identical requests cannot both create;
 * delete and patch need no such scope: each of their writes is a compare-and-set.
 * See: https://hl7.org/fhir/R4/http.html#ccreate, #cond-update, #cdelete and #patch
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { RequestContext } from '../../core/context';
import { conditionOf, parseCriteria, soleMatch } from '../../core/criteria';
import { type FhirRequest, type FhirResponse, ifMatchVersion } from '../../core/exchange';
import type { FhirServices } from '../../core/services';
import { checkWrite, derive, prepareWrite, writeConditionally } from '../../core/write-pipeline';
import { FhirError, operationOutcome } from '../../fhir/outcomes';
import { assertUpdateBody } from '../../fhir/resource-body';
import { newId } from '../../platform/ids';
import type { PlannedWrite, WriteResult } from '../../store/repository';
import { applyPreferReturn, versionResponse, writeResponse } from '../responses';
import { patch } from './patch';
import { createWrite, remove } from './write';

/** Most resources one conditional delete may remove (with _multiple=true). */
const MAX_CONDITIONAL_DELETES = 100;

/** POST [type] with If-None-Exist: the one match (200), or a create (201); several matches 412. */
export async function conditionalCreate(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  // The body is checked first: a bad body is a 400 whether or not anything matches.
  const checked = checkWrite(services, ctx, createWrite(resourceType, request.body));
  const condition = conditionOf(services, resourceType, parseCriteria(request.headers.ifNoneExist ?? '', resourceType, services.settings.baseUrl));
  const { results, outcome: existing } = await writeConditionally(services, [condition], async () => {
    const id = await soleMatch(services, condition, 'create');
    return id === undefined ? { prepared: [await derive(services, ctx, checked)], outcome: undefined } : { prepared: [], outcome: await matchResponse(services, resourceType, id) };
  });
  // A match answers 200 with the existing resource, shaped by Prefer like any write's answer.
  return existing ? applyPreferReturn(existing, ctx.prefer) : written(services, ctx, results[0], checked.warnings);
}

/** If-None-Exist in a transaction entry: the existing resource (200) when exactly one matches; undefined when none. */
export async function ifNoneExistMatch(services: FhirServices, resourceType: string, request: FhirRequest): Promise<FhirResponse | undefined> {
  const condition = conditionOf(services, resourceType, parseCriteria(request.headers.ifNoneExist ?? '', resourceType, services.settings.baseUrl));
  const id = await soleMatch(services, condition, 'create');
  return id === undefined ? undefined : matchResponse(services, resourceType, id);
}

/** PUT [type]?criteria: no match → create (under the body's id if it has one), one → update it, more → 412. */
export async function conditionalUpdate(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const condition = conditionOf(services, resourceType, request.query);
  const { results, outcome: warnings } = await writeConditionally(services, [condition], async () => {
    const id = await soleMatch(services, condition, 'update');
    const prepared = await prepareWrite(services, ctx, updateByCriteria(request, resourceType, id));
    return { prepared: [prepared], outcome: prepared.warnings };
  });
  return written(services, ctx, results[0], warnings);
}

/** DELETE [type]?criteria: one match (or, with _multiple=true, up to 100). */
export async function conditionalDelete(services: FhirServices, ctx: RequestContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const multiple = request.query._multiple?.[0] === 'true';
  const ids = await services.repo.matchingIds(conditionOf(services, resourceType, request.query), multiple ? MAX_CONDITIONAL_DELETES + 1 : 2);
  if (ids.length > 1 && !multiple) {
    throw new FhirError('MULTIPLE_MATCHES', `The criteria match more than one ${resourceType}; add _multiple=true to delete them all`);
  }
  if (ids.length > MAX_CONDITIONAL_DELETES) {
    throw new FhirError('TOO_COSTLY', `The criteria match more than ${MAX_CONDITIONAL_DELETES} resources; delete them in smaller sets`);
  }
  for (const id of ids) {
    await remove(services, ctx, { ...request, query: {} }, { resourceType, id });
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
  const id = await soleMatch(services, conditionOf(services, resourceType, request.query), 'patch');
  if (id === undefined) {
    throw new FhirError('NOT_FOUND', `No ${resourceType} matches the conditional patch criteria`);
  }
  return patch(services, ctx, { ...request, query: {} }, { resourceType, id });
}

/** The write a conditional update makes of its match (`matchId`), or of none. */
function updateByCriteria(request: FhirRequest, resourceType: string, matchId: string | undefined): PlannedWrite {
  const bodyId = (request.body as Resource | undefined)?.id;
  if (matchId === undefined && bodyId === undefined) {
    return createWrite(resourceType, request.body, newId(), 'PUT');
  }
  if (matchId !== undefined && bodyId !== undefined && bodyId !== matchId) {
    throw new FhirError('ID_MISMATCH', `The resource id "${bodyId}" is not the id of the match "${matchId}"`, { expression: [`${resourceType}.id`] });
  }
  const id = matchId ?? (bodyId as string);
  const resource = assertUpdateBody(resourceType, id, matchId === undefined ? request.body : { ...(request.body as Resource), id });
  const expected = ifMatchVersion(request);
  return { kind: 'update', resource, method: 'PUT', ...(expected !== undefined ? { ifMatchVersion: expected } : {}) };
}

/** The existing resource a conditional create matched, with its Location. */
async function matchResponse(services: FhirServices, resourceType: string, id: string): Promise<FhirResponse> {
  const response = versionResponse(await services.repo.read(resourceType, id));
  return { ...response, headers: { ...response.headers, location: `${services.settings.baseUrl}/${resourceType}/${id}` } };
}

function written(services: FhirServices, ctx: RequestContext, result: WriteResult | undefined, warnings: readonly OperationOutcomeIssue[]): FhirResponse {
  if (!result) {
    throw new Error('a conditional write that planned a write answers its result');
  }
  return writeResponse({ baseUrl: services.settings.baseUrl, ...result, prefer: ctx.prefer, warnings });
}
