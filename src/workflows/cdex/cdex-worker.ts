/**
 * Payers' documentation requests (Da Vinci CDex), worked in the background by any instance (each
 * under a lease, from the outbox):
 *
 *  scan     CDex request Tasks posted (requested) or approved by a case manager (accepted) since
 *           the checkpoint become work (`cdex:<task>:<status>`);
 *  decide   a request is fulfilled at once when CDEX_AUTOMATIC is on and its purpose of use is a
 *           payment one (AUTOMATIC_PURPOSES); otherwise it stays requested with the businessStatus
 *           "waiting for review" — the provider's queue, Task?owner=…&status=requested — until a
 *           case manager accepts it (then it is fulfilled) or rejects it with a reason;
 *  fulfil   the query (a data request) or the documents of the LOINC types asked for (an
 *           attachment request) are searched as the payer may see them — the members it covers,
 *           for the purpose it stated, labels and consents applied — in the Task's patient's record
 *           only (minimum necessary); Task.output references each resource, the Task is completed
 *           by its owner, and the disclosure is audited;
 *  submit   for an attachment request naming a payer-url (an allowed destination), the documents
 *           are pushed to the payer's $submit-attachment, retried with backoff.
 * See: https://hl7.org/fhir/us/davinci-cdex/task-based-approach.html
 */
import type { DocumentReference, Parameters, Reference, Resource, Task, TaskOutput } from '@medplum/fhirtypes';
import type { RequestContext } from '../../core/context';
import type { FhirServices } from '../../core/services';
import { writeOne } from '../../core/write-pipeline';
import { patientCompartment } from '../../fhir/compartments';
import { FHIR_JSON } from '../../fhir/media-types';
import { FhirError } from '../../fhir/outcomes';
import { withoutServerMeta } from '../../fhir/resource-body';
import { parseSearch } from '../../search/parse';
import type { OutboxEntry } from '../../store/records';
import { readIfPresent } from '../../store/repository';
import { organizationCaller, payerCaller, servicesAs, workContext } from '../actors';
import { MAX_ATTEMPTS, retryDelayMs } from '../backoff';
import type { WorkflowContext } from '../context';
import { endpointRefusal } from '../destinations';
import { findAll } from '../find';
import { OutboundFailure, callPeer } from '../outbound';
import { AUTOMATIC_PURPOSES, CDEX_TEMP, type CdexRequest, HREX_TEMP, PAS_TEMP, readCdexRequest } from './cdex-request';

const LEASE_MS = 60_000;
const BATCH = 20;
const SCAN_MARGIN_MS = 60_000;
const CHECKPOINT = 'cdex-scan';
/** Most resources one request returns. */
const MAX_OUTPUTS = 500;
export const WAITING_FOR_REVIEW = 'Waiting for review by a case manager';

export class CdexWorker {
  readonly name = 'cdex';

  constructor(private readonly w: WorkflowContext) {}

  async run(): Promise<number> {
    const scanned = (await this.w.leased(CHECKPOINT, LEASE_MS, () => this.scan())) ?? 0;
    let done = 0;
    for (const entry of await this.w.records.outbox.due(['cdex-request', 'cdex-submit'], this.w.now(), BATCH)) {
      done += (await this.w.leased(`outbox:${entry.id}`, LEASE_MS, () => this.attempt(entry.id))) ?? 0;
    }
    return scanned + done;
  }

  private async scan(): Promise<number> {
    const started = this.w.services.now();
    const since = await this.w.records.checkpoints.get(CHECKPOINT);
    const query = {
      code: [`${CDEX_TEMP}|data-request-query,${PAS_TEMP}|attachment-request-code`],
      status: ['requested,accepted'],
      _sort: ['_lastUpdated'],
      ...(since ? { _lastUpdated: [`ge${new Date(since.getTime() - SCAN_MARGIN_MS).toISOString()}`] } : {}),
    };
    let added = 0;
    for (const match of await findAll(this.w.services, 'Task', query, 10_000)) {
      const task = match.resource as Task & { id: string };
      const now = this.w.now();
      const id = `cdex:${task.id}:${task.status}`;
      added += (await this.w.records.outbox.enqueue({ id, kind: 'cdex-request', target: `Task/${task.id}`, payload: { task: task.id }, due: now }, now)) === 'enqueued' ? 1 : 0;
    }
    await this.w.records.checkpoints.set(CHECKPOINT, started);
    return added;
  }

  private async attempt(entryId: string): Promise<number> {
    const { outbox } = this.w.records;
    const now = this.w.now();
    const entry = await outbox.get(entryId);
    if (!entry || entry.state !== 'pending' || entry.due.getTime() > now.getTime()) return 0;
    try {
      if (entry.kind === 'cdex-request') await this.request(entry);
      else await this.submit(entry);
      await outbox.complete(entryId, this.w.now());
    } catch (err) {
      const failure = err instanceof OutboundFailure || err instanceof FhirError ? err.message : undefined;
      if (failure === undefined) throw err;
      const attempts = entry.attempts + 1;
      if (attempts >= MAX_ATTEMPTS) await outbox.abandon(entryId, now, failure);
      else await outbox.reschedule(entryId, { due: new Date(now.getTime() + retryDelayMs(attempts, entryId)), error: failure });
      this.w.log.warn({ entry: entryId, attempts, failure }, 'CDex request work failed');
    }
    return 1;
  }

  /** The Task's owner, as the organisation that answers the request. */
  private async owner(task: Task): Promise<{ ctx: RequestContext; services: FhirServices } | undefined> {
    let owner = task.owner?.reference;
    if (owner?.startsWith('PractitionerRole/')) {
      const role = await readIfPresent(this.w.services.repo, 'PractitionerRole', owner.slice('PractitionerRole/'.length));
      owner = (role?.resource as { organization?: Reference } | undefined)?.organization?.reference;
    }
    if (!owner?.startsWith('Organization/')) return undefined;
    const ctx = workContext(organizationCaller(owner, 'cdex'), this.w.log, 'cdex');
    return { ctx, services: await servicesAs(this.w.services, ctx) };
  }

  private async request(entry: OutboxEntry): Promise<void> {
    const taskId = String(entry.payload.task);
    const current = await readIfPresent(this.w.services.repo, 'Task', taskId);
    const task = current?.resource as (Task & { id: string }) | undefined;
    if (!current || !task || (task.status !== 'requested' && task.status !== 'accepted')) return;
    const owner = await this.owner(task);
    if (!owner) return;
    const update = async (change: Partial<Task>) => {
      const { businessStatus: _b, ...rest } = withoutServerMeta(task) as Task & { id: string };
      await writeOne(owner.services, owner.ctx, { kind: 'update', method: 'PUT', ifMatchVersion: current.versionId, resource: { ...rest, lastModified: this.w.services.now().toISOString(), ...change } as Task & { id: string } });
    };
    let request: CdexRequest;
    try {
      request = readCdexRequest(task, this.w.services.registry, this.w.services.settings.baseUrl);
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      await update({ status: 'rejected', statusReason: { text: err.message } });
      return;
    }
    const automatic = this.w.deps.settings.cdexAutomatic && AUTOMATIC_PURPOSES.has(request.purpose);
    if (task.status === 'requested' && !automatic) {
      if (task.businessStatus?.text !== WAITING_FOR_REVIEW) await update({ businessStatus: { text: WAITING_FOR_REVIEW } });
      return;
    }
    const requester = task.requester?.reference;
    if (!requester?.startsWith('Organization/')) {
      await update({ status: 'rejected', statusReason: { text: 'The requester is not an organisation this server knows as a payer' } });
      return;
    }
    // As the payer may see the record, for the purpose it stated: nothing it may not see is released.
    const ctx = workContext(payerCaller(requester, request.purpose, `cdex:${taskId}`), this.w.log, 'cdex');
    const payer = await servicesAs(this.w.services, ctx);
    const patient = task.for?.reference as string;
    const found = request.kind === 'data' ? await this.search(payer, request.resourceType, request.query, patient) : await this.search(payer, 'DocumentReference', { type: [request.codes.map((c) => `http://loinc.org|${c}`).join(',')] }, patient);
    const type = request.kind === 'data' ? { coding: [{ system: HREX_TEMP, code: 'data-value' }] } : { coding: [{ system: PAS_TEMP, code: 'attachments-needed' }] };
    const output: TaskOutput[] = found.map((r) => ({ type, valueReference: { reference: `${r.resourceType}/${r.id as string}` } }));
    await this.w.deps.audit.record(
      {
        type: 'export',
        remote: requester,
        caller: ctx.caller,
        requestId: ctx.requestId,
        query: `Task/${taskId}: ${request.kind === 'data' ? `${request.resourceType}?${new URLSearchParams(Object.entries(request.query).flatMap(([k, vs]) => vs.map((v) => [k, v] as [string, string]))).toString()}` : `DocumentReference (${request.codes.join(', ')})`} for ${patient} (${found.length})`,
        patients: [patient],
        entities: [{ reference: `Task/${taskId}` }, ...found.map((r) => ({ reference: `${r.resourceType}/${r.id as string}` }))],
      },
      payer,
    );
    await update({ status: 'completed', output, ...(found.length === 0 ? { businessStatus: { text: 'No matching data' } } : {}) });
    if (request.kind === 'attachment' && request.payerUrl && found.length > 0) {
      const now = this.w.now();
      await this.w.records.outbox.enqueue({ id: `cdex-submit:${taskId}`, kind: 'cdex-submit', target: request.payerUrl, payload: { task: taskId, documents: found.map((r) => r.id as string) }, due: now }, now);
    }
    this.w.log.info({ task: taskId, kind: request.kind, outputs: output.length }, 'CDex request fulfilled');
  }

  /** One search in the patient's record as the payer sees it (at most MAX_OUTPUTS). */
  private async search(payer: FhirServices, type: string, query: Record<string, string[]>, patient: string): Promise<Resource[]> {
    const search = parseSearch(type, { ...query, _count: ['100'] }, payer.registry, { strict: true, defaultCount: 100, maxCount: 100, baseUrl: payer.settings.baseUrl });
    const compartment = { params: { [type]: patientCompartment().get(type) ?? [] }, reference: patient };
    const found: Resource[] = [];
    let cursor: string | undefined;
    do {
      const page = await payer.repo.search(search, { compartment, ...(cursor ? { cursor } : {}) });
      found.push(...page.matches.map((m) => m.resource));
      cursor = page.nextCursor;
    } while (cursor !== undefined && found.length < MAX_OUTPUTS);
    return found.slice(0, MAX_OUTPUTS);
  }

  /** POST [payer-url] ($submit-attachment) with the documents, as the payer may see them. */
  private async submit(entry: OutboxEntry): Promise<void> {
    const taskId = String(entry.payload.task);
    const task = (await readIfPresent(this.w.services.repo, 'Task', taskId))?.resource as (Task & { id: string }) | undefined;
    if (!task) return;
    const request = readCdexRequest(task, this.w.services.registry, this.w.services.settings.baseUrl);
    if (request.kind !== 'attachment' || !request.payerUrl) return;
    const refusal = endpointRefusal(request.payerUrl, await this.w.destinations());
    if (refusal) throw new FhirError('FORBIDDEN', `The payer-url ${request.payerUrl} is not an allowed destination: ${refusal}`);
    const ctx = workContext(payerCaller(task.requester?.reference as string, request.purpose, `cdex-submit:${taskId}`), this.w.log, 'cdex-submit');
    const payer = await servicesAs(this.w.services, ctx);
    const documents: DocumentReference[] = [];
    for (const id of (entry.payload.documents as string[] | undefined) ?? []) {
      const found = await readIfPresent(payer.repo, 'DocumentReference', id);
      if (found) documents.push(found.resource as DocumentReference);
    }
    const patient = await readIfPresent(payer.repo, 'Patient', (task.for?.reference ?? '').split('/')[1] ?? '');
    const memberId = (patient?.resource as { identifier?: { value?: string }[] } | undefined)?.identifier?.[0]?.value ?? (task.for?.reference as string);
    const parameters: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'TrackingId', valueString: request.trackingId ?? task.id },
        { name: 'AttachTo', valueCode: task.reasonCode?.coding?.find((c) => c.system === 'http://hl7.org/fhir/claim-use')?.code ?? 'claim' },
        { name: 'MemberId', valueIdentifier: { value: memberId } },
        ...(request.serviceDate ? [{ name: 'ServiceDate', valueDate: request.serviceDate }] : []),
        ...documents.map((doc) => ({
          name: 'Attachment',
          part: [
            ...(doc.type?.coding?.[0] ? [{ name: 'Code', valueCodeableConcept: { coding: [doc.type.coding[0]] } }] : []),
            { name: 'Content', resource: doc as Resource },
          ],
        })),
      ],
    };
    const payerUrl = request.payerUrl;
    const { response, failure } = await callPeer(() =>
      this.w.deps.http.send({ method: 'POST', url: payerUrl, headers: { 'content-type': FHIR_JSON, accept: FHIR_JSON }, body: JSON.stringify(parameters) }),
    );
    const status = response?.status ?? 0;
    await this.w.deps.audit.record(
      {
        type: 'export',
        remote: request.payerUrl,
        caller: ctx.caller,
        requestId: ctx.requestId,
        query: `POST ${request.payerUrl}`,
        patients: task.for?.reference ? [task.for.reference] : [],
        entities: [{ reference: `Task/${taskId}` }, ...documents.map((d) => ({ reference: `DocumentReference/${d.id as string}` }))],
        ...(failure !== undefined ? { failure: { status, description: failure } } : {}),
      },
      payer,
    );
    if (failure !== undefined) throw new OutboundFailure(`$submit-attachment to ${request.payerUrl}: ${failure}`);
  }
}
