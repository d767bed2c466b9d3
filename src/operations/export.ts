/**
 * Bulk Data $export (FHIR Bulk Data Access v2): the kick-off at the system level, for all
 * patients (Patient/$export) and for a Group (Group/[id]/$export), with `Prefer: respond-async`;
 * the status endpoint (202 with X-Progress while it runs, 200 with the manifest when done, DELETE
 * to cancel); the NDJSON files. The export itself runs in the background (workflows/export),
 * reading as the client that asked may see the data: a payer's Group export holds only the members
 * it covers, for the purposes its token stated, with labels and consents applied.
 *
 * The kick-off is an $operation of the route table (audited, scopes checked there and here for
 * every type exported); status and files are served beside the FHIR API (http/bulk-data.ts,
 * audited there) by the functions below, HTTP-agnostic.
 * See: https://hl7.org/fhir/uv/bulkdata/export.html
 */
import type { Group, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { authorize } from '../auth/authorize';
import type { Caller } from '../auth/caller';
import type { RequestContext } from '../core/context';
import type { FhirRequest, FhirResponse, QueryParams } from '../core/exchange';
import { recordCaller } from '../core/recorded-client';
import type { FhirOperation, FhirServices, OperationTarget } from '../core/services';
import { patientCompartment } from '../fhir/compartments';
import { isResourceType } from '../fhir/definitions';
import { FhirError, informational } from '../fhir/outcomes';
import { newId } from '../platform/ids';
import type { ExportFiles, ExportJob, ExportJobs } from '../store/records';

export const NDJSON = 'application/fhir+ndjson';
const OUTPUT_FORMATS = new Set([NDJSON, 'application/ndjson', 'ndjson']);
const PARAMETERS = new Set(['_outputFormat', '_type', '_since', '_typeFilter', '_format', '_pretty']);

/** Where the status of export `id` is polled. */
export const statusUrl = (baseUrl: string, id: string): string => `${baseUrl}/$export-status/${id}`;
/** Where a file of export `id` is downloaded. */
export const fileUrl = (baseUrl: string, id: string, type: string): string => `${baseUrl}/$export-file/${id}/${type}.ndjson`;

export function exportOperation(deps: { readonly jobs: ExportJobs }): FhirOperation {
  return {
    name: 'export',
    definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
    levels: ['system', 'type', 'instance'],
    resourceTypes: ['Patient', 'Group'],
    affectsState: false,
    async invoke(services: FhirServices, ctx: RequestContext, target: OperationTarget, request: FhirRequest): Promise<FhirResponse> {
      if (target.level === 'type' && target.resourceType !== 'Patient') throw new FhirError('UNKNOWN_ROUTE', 'Type-level $export is Patient/$export');
      if (target.level === 'instance' && target.resourceType !== 'Group') throw new FhirError('UNKNOWN_ROUTE', 'Instance-level $export is Group/[id]/$export');
      // The spec's kick-off is asynchronous only.
      if (!ctx.prefer.respondAsync) throw new FhirError('INVALID_REQUEST', '$export runs asynchronously: send Prefer: respond-async', { expression: ['Prefer'] });
      const params = exportParameters(request);
      const format = single(params, '_outputFormat');
      if (format !== undefined && !OUTPUT_FORMATS.has(format)) {
        throw new FhirError('INVALID_REQUEST', `_outputFormat ${format} is not served: NDJSON (${NDJSON}) only`, { expression: ['_outputFormat'] });
      }
      if (params._typeFilter) throw new FhirError('NOT_IMPLEMENTED', '_typeFilter is not supported; use _type and _since', { expression: ['_typeFilter'] });
      const since = single(params, '_since');
      if (since !== undefined && Number.isNaN(Date.parse(since))) throw new FhirError('INVALID_REQUEST', `_since must be an instant, got "${since}"`, { expression: ['_since'] });
      const level = target.level === 'system' ? 'system' : target.level === 'type' ? 'patient' : 'group';
      if (level === 'group') await services.repo.read('Group', target.id as string); // 404 before anything is recorded
      const types = await exportedTypes(services, ctx.caller, level, params._type);
      const requestedBy = recordCaller(ctx.caller);
      if (requestedBy === undefined) throw new FhirError('FORBIDDEN', 'Only a registered client may export');
      const path = level === 'system' ? '$export' : level === 'patient' ? 'Patient/$export' : `Group/${target.id}/$export`;
      const query = new URLSearchParams(Object.entries(params).flatMap(([k, vs]) => vs.map((v) => [k, v] as [string, string]))).toString();
      const job = await deps.jobs.create({
        id: newId(),
        requestedBy,
        request: { level, ...(level === 'group' ? { group: `Group/${target.id}` } : {}), types, ...(since !== undefined ? { since } : {}), requestUrl: `${services.settings.baseUrl}/${path}${query ? `?${query}` : ''}` },
        now: services.now(),
      });
      return { status: 202, body: informational(`Export ${job.id} accepted: poll ${statusUrl(services.settings.baseUrl, job.id)}`), headers: { contentLocation: statusUrl(services.settings.baseUrl, job.id) } };
    },
  };
}

/** The types to export: those asked for (each one the caller may search), or every one it may search. */
async function exportedTypes(services: FhirServices, caller: Caller, level: 'system' | 'patient' | 'group', asked: readonly string[] | undefined): Promise<string[]> {
  const wanted = asked?.flatMap((v) => v.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  const compartment = patientCompartment();
  if (wanted !== undefined) {
    for (const type of wanted) {
      if (!isResourceType(type)) throw new FhirError('INVALID_REQUEST', `_type: ${type} is not a resource type`, { expression: ['_type'] });
      if (level !== 'system' && !compartment.has(type)) throw new FhirError('INVALID_REQUEST', `_type: ${type} is not in the Patient compartment`, { expression: ['_type'] });
      authorize(services.access, caller, { interaction: 'search-type', resourceType: type });
    }
    return [...new Set(wanted)];
  }
  const stored = new Set(await services.repo.resourceTypesWithData());
  const candidates = level === 'system' ? [...stored].sort() : ['Patient', ...[...compartment.keys()].filter((t) => t !== 'Patient').sort()];
  return candidates.filter((type) => stored.has(type) && type !== 'AuditEvent' && services.access.allows(caller, { interaction: 'search-type', resourceType: type }));
}

/** GET query parameters, or a POSTed Parameters resource. */
function exportParameters(request: FhirRequest): QueryParams {
  const params: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(request.query)) params[name] = [...values];
  const body = request.body as Parameters | undefined;
  if (body?.resourceType === 'Parameters') {
    for (const p of body.parameter ?? []) {
      const value = p.valueString ?? p.valueInstant ?? p.valueCode ?? p.valueDateTime;
      if (value !== undefined) (params[p.name] ??= []).push(value);
      else throw new FhirError('INVALID_REQUEST', `$export does not take the parameter "${p.name}" in this form`, { expression: [p.name] });
    }
  }
  for (const name of Object.keys(params)) {
    if (!PARAMETERS.has(name)) throw new FhirError('INVALID_REQUEST', `$export does not take the parameter "${name}"`, { expression: [name] });
  }
  return params;
}

function single(params: QueryParams, name: string): string | undefined {
  const values = params[name];
  if (values && values.length > 1) throw new FhirError('INVALID_REQUEST', `${name} may appear only once`, { expression: [name] });
  return values?.[0];
}

/** The job, when it exists and `caller` asked for it (another client's export answers as unknown). */
export async function ownJob(jobs: ExportJobs, caller: Caller, id: string): Promise<ExportJob> {
  const job = /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? await jobs.get(id) : undefined;
  if (!job || job.requestedBy.clientId !== (caller.clientId ?? caller.id) || job.state === 'cancelled') {
    throw new FhirError('NOT_FOUND', `There is no export ${id}`);
  }
  return job;
}

/** The status answer: 202 with X-Progress while it runs; 200 with the manifest when done; an OperationOutcome when it failed. */
export type ExportStatus =
  | { readonly status: 202; readonly progress: string }
  | { readonly status: 200; readonly manifest: ExportManifest; readonly expires?: Date }
  | { readonly status: 500; readonly outcome: OperationOutcome };

export interface ExportManifest {
  readonly transactionTime: string;
  readonly request: string;
  readonly requiresAccessToken: true;
  readonly output: readonly { readonly type: string; readonly url: string; readonly count: number }[];
  readonly error: readonly { readonly type: string; readonly url: string }[];
}

export function exportStatus(job: ExportJob, baseUrl: string): ExportStatus {
  switch (job.state) {
    case 'accepted':
    case 'in-progress':
      return { status: 202, progress: job.progress ?? 'queued' };
    case 'failed':
      return { status: 500, outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: `The export failed: ${job.error ?? 'unknown error'}` }] } };
    default:
      return {
        status: 200,
        manifest: {
          transactionTime: job.transactionTime.toISOString(),
          request: job.request.requestUrl,
          requiresAccessToken: true,
          output: job.output.map((file) => ({ type: file.type, url: fileUrl(baseUrl, job.id, file.type), count: file.count })),
          error: [],
        },
        ...(job.expires ? { expires: job.expires } : {}),
      };
  }
}

/** The chunks of one file of a completed export the caller asked for; 404 for anything else. */
export async function exportFile(deps: { jobs: ExportJobs; files: ExportFiles }, caller: Caller, args: { job: string; name: string }): Promise<{ job: ExportJob; type: string; count: number; chunks: AsyncIterable<Buffer> }> {
  const job = await ownJob(deps.jobs, caller, args.job);
  const type = /^([A-Za-z]+)\.ndjson$/.exec(args.name)?.[1];
  const file = job.state === 'completed' ? job.output.find((f) => f.type === type) : undefined;
  if (!file) throw new FhirError('NOT_FOUND', `Export ${args.job} has no file ${args.name}`);
  return { job, type: file.type, count: file.count, chunks: deps.files.read(file.file) };
}

/** The patients a Group names as members (`Patient/<id>`). */
export function groupPatients(group: Group): string[] {
  return (group.member ?? []).flatMap((m) => {
    const ref = m.entity.reference;
    return ref && /^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(ref) && m.inactive !== true ? [ref] : [];
  });
}
