/**
 * Audit as a hook of the route table (dispatcher.ts): every interaction leaves an AuditEvent
 * (audit/audit-event.ts) — each entry of a batch and each read of a transaction too, since they
 * are dispatched through the same table — whether it succeeded, failed or was refused. It runs
 * outside the access check, so a 403 is recorded like any other answer.
 *
 * A request's events are written together, once, before its answer leaves (the outermost
 * invocation writes what its Bundle entries queued); if they cannot be written the request
 * answers 503 and nothing of its result (audit/audit-log.ts). A transaction's writes are one
 * unit: its event names every resource written, read from the transaction-response.
 */
import type { AuditEvent, Bundle, Resource } from '@medplum/fhirtypes';
import { type AuditRecord, type AuditedEntity, actionOf, auditEvent, disclosedEntities, failureOutcome, outcomeOf, restfulInteraction } from '../audit/audit-event';
import { type AuditLog, appendOrWithhold, markAudited } from '../audit/audit-log';
import { auditedCaller } from '../audit/audited-caller';
import type { RequestContext } from '../core/context';
import type { FhirRequest, FhirResponse } from '../core/exchange';
import { compartmentPatients } from '../search/compartment';
import { type FhirRepository, readIfPresent } from '../store/repository';
import type { Hook, Invocation } from './dispatcher';

export interface AuditHookOptions {
  readonly log: AuditLog;
  /** The unscoped repository: whose record a deleted resource was in is read before it goes. */
  readonly repo: FhirRepository;
}

export function auditInteractions({ log, repo }: AuditHookOptions): Hook {
  // The events of a request not yet written, by its context (a Bundle's entries share it).
  const pending = new WeakMap<RequestContext, AuditEvent[]>();
  return async (invocation, next) => {
    const { ctx } = invocation;
    const queued = pending.get(ctx);
    const events = queued ?? [];
    if (!queued) pending.set(ctx, events);
    const deleted = await patientsOfDeleted(invocation, repo);
    let response: FhirResponse | undefined;
    let failure: { error: unknown } | undefined;
    try {
      response = await next();
    } catch (error) {
      failure = { error };
    }
    const record = interactionRecord(invocation, failure ? { failure: failure.error } : { response: response as FhirResponse });
    events.push(auditEvent({ ...record, patients: [...(record.patients ?? []), ...deleted] }, { baseUrl: invocation.services.settings.baseUrl }));
    if (!queued) {
      pending.delete(ctx);
      await appendOrWithhold(log, events, ctx.log);
    }
    if (failure) throw queued ? failure.error : markAudited(failure.error);
    return response as FhirResponse;
  };
}

type Answer = { readonly response: FhirResponse } | { readonly failure: unknown };

/** What one interaction did, as the audit records it. */
function interactionRecord(invocation: Invocation, answer: Answer): AuditRecord {
  const { services, ctx, interaction } = invocation;
  const disclosed = disclosedEntities(services.disclosures?.take() ?? []);
  const touched = touchedBy(invocation, 'response' in answer ? answer.response : undefined);
  const query = queryOf(invocation, services.settings.baseUrl);
  return {
    type: 'rest',
    subtype: restfulInteraction(interaction),
    action: actionOf(interaction),
    outcome: 'response' in answer ? { code: outcomeOf(answer.response.status) } : failureOutcome(answer.failure),
    recorded: services.now(),
    caller: auditedCaller(ctx.caller),
    requestId: ctx.requestId,
    patients: [...touched.patients, ...disclosed.patients],
    entities: [...touched.entities, ...disclosed.entities],
    ...(query !== undefined ? { query } : {}),
  };
}

interface Touched {
  readonly entities: AuditedEntity[];
  readonly patients: string[];
}

/**
 * The resources and patients an interaction touched. A single resource read or written is named
 * with its version and its patients (its Patient compartment); a search is named by its query
 * (BALP Query) with the patients it asked about and those of the resources it returned; a
 * Bundle's entries are recorded by their own events, a transaction's writes by the transaction's.
 */
function touchedBy(invocation: Invocation, response: FhirResponse | undefined): Touched {
  const { services, request, interaction, params } = invocation;
  const touched: Touched = { entities: [], patients: [] };
  const body = response?.body;
  if (params.resourceType === 'Patient' && params.id !== undefined) touched.patients.push(`Patient/${params.id}`);
  if (params.compartment?.resourceType === 'Patient') touched.patients.push(`Patient/${params.compartment.id}`);
  switch (interaction) {
    case 'capabilities':
    case 'batch':
      return touched;
    case 'transaction':
      if (body?.resourceType === 'Bundle') transactionWrites(request.body as Bundle | undefined, body, services.settings.baseUrl, touched);
      return touched;
    case 'search-type':
    case 'search-system':
    case 'history-type':
    case 'history-system':
      touched.patients.push(...patientsAskedFor(request, params.resourceType));
      break;
    default: {
      const entity = entityOf(invocation, response);
      if (entity) touched.entities.push(entity);
      const single = body && body.resourceType !== 'Bundle' && body.resourceType !== 'OperationOutcome' ? body : writtenBody(request, params.resourceType);
      if (single) touched.patients.push(...patientsOfOne(single, invocation));
      if (entity?.reference.startsWith('Patient/')) touched.patients.push(entity.reference);
    }
  }
  if (body?.resourceType === 'Bundle') touched.patients.push(...patientsReturned(body));
  return touched;
}

/** The one resource read or written: from the answer (its body or Location), else the target of the URL. */
function entityOf({ params }: Invocation, response: FhirResponse | undefined): AuditedEntity | undefined {
  const body = response?.body;
  if (body?.id !== undefined && body.resourceType !== 'Bundle' && body.resourceType !== 'OperationOutcome' && body.resourceType !== 'Parameters') {
    return versioned(`${body.resourceType}/${body.id}`, body.meta?.versionId);
  }
  const located = response?.headers.location ? referenceIn(response.headers.location) : undefined;
  if (located) return located;
  if (params.resourceType === undefined || params.id === undefined) return undefined;
  return versioned(`${params.resourceType}/${params.id}`, params.version ?? versionOfEtag(response?.headers.etag));
}

/** The patients whose compartment holds `resource`; none for what cannot be read as a resource (a refused body). */
function patientsOfOne(resource: Resource, { services }: Invocation): string[] {
  try {
    return compartmentPatients(resource, services.registry);
  } catch {
    return [];
  }
}

/** A delete answers nothing of what it deleted: the patients of its record are read first (one read by id). */
async function patientsOfDeleted(invocation: Invocation, repo: FhirRepository): Promise<string[]> {
  const { interaction, params } = invocation;
  if (interaction !== 'delete' || params.resourceType === undefined || params.id === undefined) return [];
  try {
    const current = await readIfPresent(repo, params.resourceType, params.id);
    return current ? patientsOfOne(current.resource, invocation) : [];
  } catch {
    // The delete itself will answer for what went wrong.
    return [];
  }
}

/** The resource a create or update sent, when the answer does not carry it (Prefer: return=minimal, or a failure). */
function writtenBody(request: FhirRequest, resourceType: string | undefined): Resource | undefined {
  const body = request.body as Resource | undefined;
  return (request.method === 'POST' || request.method === 'PUT') && body?.resourceType !== undefined && body.resourceType === resourceType ? body : undefined;
}

/** Every write of a transaction, with the version written, from its transaction-response (entries in request order). */
function transactionWrites(input: Bundle | undefined, output: Bundle, baseUrl: string, touched: Touched): void {
  const requests = input?.entry ?? [];
  (output.entry ?? []).forEach((entry, i) => {
    const method = requests[i]?.request?.method;
    if (method === undefined || method === 'GET' || method === 'HEAD') return;
    const written = entry.response?.location ? referenceIn(entry.response.location) : referenceIn(`${baseUrl}/${requests[i]?.request?.url ?? ''}`);
    if (!written) return;
    touched.entities.push(written);
    if (written.reference.startsWith('Patient/')) touched.patients.push(written.reference);
    if (entry.resource) touched.patients.push(...patientsOfResource(entry.resource));
  });
}

const REFERENCE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/** `Type/id` (and version) at the end of a Location or reference; undefined for anything else. */
function referenceIn(url: string): AuditedEntity | undefined {
  const match = REFERENCE.exec(url.split('?')[0] as string);
  return match ? versioned(`${match[1]}/${match[2]}`, match[3]) : undefined;
}

function versioned(reference: string, versionId: string | undefined): AuditedEntity {
  return versionId !== undefined ? { reference, versionId } : { reference };
}

function versionOfEtag(etag: string | undefined): string | undefined {
  return etag ? /^W\/"([^"]+)"$/.exec(etag)?.[1] : undefined;
}

/** Patients a query names: any value that is a Patient reference (patient=, subject=, …), and a Patient search's _id. */
function patientsAskedFor(request: FhirRequest, resourceType: string | undefined): string[] {
  const patients: string[] = [];
  for (const [name, values] of Object.entries(request.query)) {
    for (const value of values.flatMap((v) => v.split(','))) {
      if (resourceType === 'Patient' && name === '_id') patients.push(`Patient/${value}`);
      const ref = referenceIn(value);
      if (ref?.reference.startsWith('Patient/')) patients.push(ref.reference);
    }
  }
  return patients;
}

/** Patients of the resources a Bundle returned (search, history, $everything), read cheaply from each resource. */
function patientsReturned(bundle: Bundle): string[] {
  return (bundle.entry ?? []).flatMap((entry) => (entry.resource ? patientsOfResource(entry.resource) : []));
}

/** The fields that name the patient of most resources; a full compartment evaluation per result would cost too much on large pages. */
const PATIENT_FIELDS = ['subject', 'patient', 'beneficiary', 'for'] as const;

function patientsOfResource(resource: Resource): string[] {
  if (resource.resourceType === 'Patient') return resource.id ? [`Patient/${resource.id}`] : [];
  const fields = resource as unknown as Record<string, unknown>;
  return PATIENT_FIELDS.flatMap((field) => {
    const value = fields[field];
    return (Array.isArray(value) ? value : [value]).flatMap((ref) => {
      const reference = typeof ref === 'object' && ref !== null ? (ref as { reference?: unknown }).reference : undefined;
      const found = typeof reference === 'string' ? referenceIn(reference) : undefined;
      return found?.reference.startsWith('Patient/') ? [found.reference] : [];
    });
  });
}

/**
 * The request line, for interactions that select by criteria (BALP Query): searches, type and
 * system history, operations, and conditional writes.
 */
function queryOf({ request, interaction, params }: Invocation, baseUrl: string): string | undefined {
  const byCriteria =
    interaction.startsWith('search-') ||
    interaction === 'history-type' ||
    interaction === 'history-system' ||
    interaction === 'operation' ||
    ((interaction === 'update' || interaction === 'patch' || interaction === 'delete') && params.id === undefined);
  const ifNoneExist = interaction === 'create' ? request.headers.ifNoneExist : undefined;
  if (!byCriteria && ifNoneExist === undefined) return undefined;
  const pairs = Object.entries(request.query).flatMap(([name, values]) => values.map((value) => [name, value] as [string, string]));
  const search = pairs.length > 0 ? `?${new URLSearchParams(pairs).toString()}` : '';
  return `${request.method} ${baseUrl}/${request.path}${search}${ifNoneExist !== undefined ? `\nIf-None-Exist: ${ifNoneExist}` : ''}`;
}
