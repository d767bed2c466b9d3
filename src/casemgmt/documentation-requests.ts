/**
 * Payers' documentation requests waiting for a case manager (Da Vinci CDex, issue 14): the
 * requests a payer posted as Tasks (data requests: a query; attachment requests: LOINC document
 * types for a claim) that policy did not let the workflows fulfil at once
 * (workflows/cdex/cdex-worker.ts: status requested, businessStatus "Waiting for review…"), in the
 * case manager's words — who asks, for which client, what, why, for which claim and period, since
 * when. GET /cm/v1/documentation-requests lists those owned by the caller's organisation, read
 * through the caller's scoped repository (another agency's requests are not even seen); the
 * decisions are case commands (commands/documentation-requests.ts).
 * See: https://hl7.org/fhir/us/davinci-cdex/task-based-approach.html
 */
import type { CodeableConcept, Organization, Patient, PractitionerRole, Reference, Task } from '@medplum/fhirtypes';
import type { RequestContext } from '../core/context';
import type { FhirServices } from '../core/services';
import { FhirError } from '../fhir/outcomes';
import { CDEX_TEMP, HREX_TEMP, PAS_TEMP, cdexKind } from '../workflows/cdex/cdex-request';
import { WAITING_FOR_REVIEW } from '../workflows/cdex/cdex-worker';
import { readVersioned, searchAll } from './case-record';
import { positive } from './caseload';
import { idOf, localReference, personName } from './vocabulary';

export const DOCUMENTATION_REQUEST_PARAMETERS = ['client', 'kind', 'count', 'page'] as const;
const MAX_COUNT = 100;
const REF = /^Patient\/[A-Za-z0-9\-.]{1,64}$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const LOINC = 'http://loinc.org';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const CLAIM_USE = 'http://hl7.org/fhir/claim-use';

export interface DocumentationRequestQuery {
  readonly client?: string;
  readonly kind?: 'data' | 'attachment';
  readonly count: number;
  readonly page: number;
}

const bad = (param: string, message: string) => new FhirError('INVALID_REQUEST', message, { expression: [param] });

/** The query string (400 naming the parameter at fault). Pure. */
export function parseDocumentationRequestQuery(query: Record<string, unknown>): DocumentationRequestQuery {
  for (const name of Object.keys(query)) {
    if (!(DOCUMENTATION_REQUEST_PARAMETERS as readonly string[]).includes(name)) {
      throw bad(name, `Unknown parameter ${name}: the documentation requests are filtered by ${DOCUMENTATION_REQUEST_PARAMETERS.join(', ')}`);
    }
  }
  const value = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw bad(name, `Give ${name} once, with a value`);
    return v;
  };
  const clientValue = value('client');
  const client = clientValue === undefined ? undefined : clientValue.includes('/') ? clientValue : `Patient/${clientValue}`;
  if (client !== undefined && !REF.test(client)) throw bad('client', 'client is a Patient id (or Patient/id)');
  const kind = value('kind');
  if (kind !== undefined && kind !== 'data' && kind !== 'attachment') throw bad('kind', 'kind is data (a query the payer wants run) or attachment (documents for a claim)');
  const count = positive('count', value('count') ?? '20');
  if (count > MAX_COUNT) throw bad('count', `count is at most ${MAX_COUNT}`);
  return { ...(client ? { client } : {}), ...(kind ? { kind } : {}), count, page: positive('page', value('page') ?? '1') };
}

export interface DocumentationRequestRow {
  id: string;
  kind: 'data' | 'attachment';
  status: string;
  requester: { reference: string; name?: string };
  client: { id: string; name?: string };
  /** What is asked for: the query (a data request), or the LOINC document types (an attachment request). */
  query?: string;
  documents?: { code: string; display?: string }[];
  purpose: { code: string; display?: string } | null;
  claim?: { use?: string; identifier?: { system?: string; value?: string }; reference?: string };
  trackingId?: string;
  period?: { start?: string; end?: string };
  serviceDate?: string;
  /** Where the payer wants the documents pushed ($submit-attachment). */
  payerUrl?: string;
  requested?: string;
  waitingSince?: string;
  fhir: string;
  approve: string;
  decline: string;
}

const has = (concept: CodeableConcept | undefined, system: string, code: string) => (concept?.coding ?? []).some((c) => c.system === system && c.code === code);

/** The row of one request (pure). */
export function documentationRequestRow(task: Task & { id: string }, names: ReadonlyMap<string, string>): DocumentationRequestRow {
  const kind = cdexKind(task) as 'data' | 'attachment';
  const inputs = task.input ?? [];
  const purposeCoding = inputs.find((i) => has(i.type, CDEX_TEMP, 'purpose-of-use'))?.valueCodeableConcept?.coding?.find((c) => c.system === ACT_REASON);
  const query = inputs.find((i) => has(i.type, HREX_TEMP, 'data-query'))?.valueString;
  const documents = inputs
    .filter((i) => has(i.type, PAS_TEMP, 'attachments-needed'))
    .flatMap((i) => (i.valueCodeableConcept?.coding ?? []).filter((c) => c.system === LOINC && c.code).map((c) => ({ code: c.code as string, ...(c.display ? { display: c.display } : {}) })));
  const use = task.reasonCode?.coding?.find((c) => c.system === CLAIM_USE)?.code;
  const reason = task.reasonReference;
  const claim = use || reason ? { ...(use ? { use } : {}), ...(reason?.identifier ? { identifier: { ...(reason.identifier.system ? { system: reason.identifier.system } : {}), ...(reason.identifier.value ? { value: reason.identifier.value } : {}) } } : {}), ...(reason?.reference ? { reference: reason.reference } : {}) } : undefined;
  const trackingId = task.identifier?.find((i) => has(i.type, CDEX_TEMP, 'tracking-id'))?.value;
  const serviceDate = inputs.find((i) => has(i.type, CDEX_TEMP, 'service-date'))?.valueDate;
  const payerUrl = inputs.find((i) => has(i.type, PAS_TEMP, 'payer-url'))?.valueUrl;
  const requester = localReference(task.requester) ?? task.requester?.display ?? '';
  const client = localReference(task.for) ?? '';
  const requesterName = names.get(requester) ?? task.requester?.display;
  const clientName = names.get(client);
  const period = task.restriction?.period;
  const path = `/cm/v1/documentation-requests/${task.id}`;
  return {
    id: task.id,
    kind,
    status: task.status,
    requester: { reference: requester, ...(requesterName ? { name: requesterName } : {}) },
    client: { id: client.startsWith('Patient/') ? idOf(client) : client, ...(clientName ? { name: clientName } : {}) },
    ...(query !== undefined ? { query } : {}),
    ...(kind === 'attachment' ? { documents } : {}),
    purpose: purposeCoding?.code ? { code: purposeCoding.code, ...(purposeCoding.display ? { display: purposeCoding.display } : {}) } : null,
    ...(claim ? { claim } : {}),
    ...(trackingId ? { trackingId } : {}),
    ...(period && (period.start || period.end) ? { period: { ...(period.start ? { start: period.start } : {}), ...(period.end ? { end: period.end } : {}) } } : {}),
    ...(serviceDate ? { serviceDate } : {}),
    ...(payerUrl ? { payerUrl } : {}),
    ...(task.authoredOn ? { requested: task.authoredOn } : {}),
    // The worker marks a request as waiting (businessStatus) and stamps lastModified when it does.
    ...((task.lastModified ?? task.meta?.lastUpdated) ? { waitingSince: (task.lastModified ?? task.meta?.lastUpdated) as string } : {}),
    fhir: `Task/${task.id}`,
    approve: `${path}/approve`,
    decline: `${path}/decline`,
  };
}

/**
 * Whether a Task's owner stands for the caller's organisation (the organisation, or one of its
 * PractitionerRoles). `roles` remembers the roles read for one request: a queue's Tasks share a few.
 */
async function ownedBy(services: FhirServices, ctx: RequestContext, owner: Reference | undefined, roles = new Map<string, Promise<string | undefined>>()): Promise<boolean> {
  const organization = ctx.caller.organization;
  // An administrator (the hosting agency's own integration) acts for every organisation it hosts.
  if (organization === undefined) return ctx.caller.role === 'administrator';
  const reference = localReference(owner);
  if (reference === organization) return true;
  if (!reference?.startsWith('PractitionerRole/')) return false;
  let roleOrganization = roles.get(reference);
  if (!roleOrganization) {
    roleOrganization = readVersioned<PractitionerRole>(services, 'PractitionerRole', idOf(reference)).then((role) => localReference(role?.resource.organization));
    roles.set(reference, roleOrganization);
  }
  return (await roleOrganization) === organization;
}

/** A documentation request of the caller's organisation, or 404 (unknown, not a CDex request, not visible, or another organisation's). */
export async function documentationRequest(services: FhirServices, ctx: RequestContext, id: string): Promise<{ resource: Task & { id: string }; versionId: number }> {
  const found = ID.test(id) ? await readVersioned<Task>(services, 'Task', id) : undefined;
  if (!found || cdexKind(found.resource) === undefined || !(await ownedBy(services, ctx, found.resource.owner))) {
    throw new FhirError('NOT_FOUND', `There is no documentation request ${id} for ${ctx.caller.organization ?? 'this caller'} to decide`);
  }
  return found as { resource: Task & { id: string }; versionId: number };
}

/** GET /cm/v1/documentation-requests: the requests waiting for review that the caller's organisation owns, oldest first. */
export async function documentationRequests(services: FhirServices, ctx: RequestContext, query: Record<string, unknown>) {
  if (!services.access.allows(ctx.caller, { interaction: 'search-type', resourceType: 'Task' })) {
    throw new FhirError('FORBIDDEN', 'Not allowed: the documentation requests need search access to Task');
  }
  const parsed = parseDocumentationRequestQuery(query);
  const codes = [parsed.kind !== 'attachment' ? `${CDEX_TEMP}|data-request-query` : undefined, parsed.kind !== 'data' ? `${PAS_TEMP}|attachment-request-code` : undefined].filter(Boolean).join(',');
  const found = await searchAll(services, 'Task', {
    code: codes,
    status: 'requested',
    ...(parsed.client ? { patient: parsed.client } : {}),
    _include: ['Task:requester', 'Task:patient'],
  });
  const names = new Map<string, string>();
  for (const { resource } of found.included) {
    if (resource.resourceType === 'Organization' && (resource as Organization).name) names.set(`Organization/${resource.id}`, (resource as Organization).name as string);
    if (resource.resourceType === 'Patient') {
      const text = personName((resource as Patient).name?.[0]);
      if (text) names.set(`Patient/${resource.id}`, text);
    }
  }
  const waiting: (Task & { id: string })[] = [];
  const roles = new Map<string, Promise<string | undefined>>();
  for (const { resource } of found.matches) {
    const task = resource as Task & { id: string };
    if (task.businessStatus?.text === WAITING_FOR_REVIEW && (await ownedBy(services, ctx, task.owner, roles))) waiting.push(task);
  }
  const rows = waiting.map((task) => documentationRequestRow(task, names));
  rows.sort((a, b) => ((a.waitingSince ?? '') < (b.waitingSince ?? '') ? -1 : (a.waitingSince ?? '') > (b.waitingSince ?? '') ? 1 : a.id < b.id ? -1 : 1));
  const start = (parsed.page - 1) * parsed.count;
  return {
    total: rows.length,
    page: parsed.page,
    pages: Math.max(1, Math.ceil(rows.length / parsed.count)),
    count: parsed.count,
    requests: rows.slice(start, start + parsed.count),
  };
}
