/**
 * Payers' documentation requests (Da Vinci CDex), worked in the background by any instance (each
 * under a lease, from the outbox):
 *
 *  scan     CDex request Tasks posted (requested) or approved by a case manager (accepted) since
 *           the checkpoint become work (`cdex:<task>:<status>`);
 *  decide   a request is fulfilled at once when CDEX_AUTOMATIC is on and its purpose of use is a
 *           payment one (AUTOMATIC_PURPOSES); otherwise it stays requested with the businessStatus
 *           "waiting for review" — the provider's queue: GET /cm/v1/documentation-requests, or
 *           Task?owner=…&status=requested — until a case manager approves it (accepted: then it is
 *           fulfilled) or declines it with a reason (rejected, statusReason);
 *  fulfil   the query (a data request) or the documents of the LOINC types asked for (an
 *           attachment request) are searched as the payer may see them — the members it covers,
 *           for the purpose it stated, labels and consents applied — in the Task's patient's record
 *           only (minimum necessary); Task.output references each resource, the Task is completed
 *           by its owner, and the disclosure is audited;
 *  submit   for an attachment request naming a payer-url (an allowed destination), the documents
 *           are pushed to the payer's $submit-attachment, retried with backoff;
 *  send     unsolicited attachments a case manager sent (a Communication, category
 *           unsolicited-attachment, in-progress: POST /cm/v1/cases/{case}/attachments) are pushed to
 *           the partner payer's [base]/$submit-attachment with its credentials, read as the payer
 *           may see them, retried with backoff; the Communication is then completed (sent), or
 *           not-done / stopped saying why.
 * Both pushes post the Parameters CDex defines (submit-attachment.ts) and are audited as exports.
 * See: https://hl7.org/fhir/us/davinci-cdex/task-based-approach.html
 */
import type { CodeableConcept, Communication, DocumentReference, Parameters, Reference, Resource, Task, TaskOutput } from '@medplum/fhirtypes';
import type { RequestContext } from '../../core/context';
import type { FhirServices } from '../../core/services';
import { writeOne } from '../../core/write-pipeline';
import { patientCompartment } from '../../fhir/compartments';
import { FHIR_JSON } from '../../fhir/media-types';
import { FhirError } from '../../fhir/outcomes';
import { withoutServerMeta } from '../../fhir/resource-body';
import { parseSearch } from '../../search/parse';
import type { OutboxEntry, Partner } from '../../store/records';
import { readIfPresent } from '../../store/repository';
import { organizationCaller, payerCaller, servicesAs, workContext } from '../actors';
import { MAX_ATTEMPTS, retryDelayMs } from '../backoff';
import type { WorkflowContext } from '../context';
import { endpointRefusal } from '../destinations';
import { findAll } from '../find';
import { OutboundFailure, callPeer } from '../outbound';
import { AUTOMATIC_PURPOSES, CDEX_TEMP, type CdexRequest, HREX_TEMP, PAS_TEMP, readCdexRequest } from './cdex-request';
import {
  ATTACHMENT_PURPOSE,
  ATTACH_TO,
  type AttachTo,
  CASE_MANAGEMENT_SYSTEM,
  LINE_ITEM_EXTENSION,
  SERVICE_DATE_EXTENSION,
  UNSOLICITED_ATTACHMENT,
  attachmentCode,
  memberIdentifier,
  organizationIdentifier,
  submitAttachmentParameters,
} from './submit-attachment';

const LEASE_MS = 60_000;
const BATCH = 20;
const SCAN_MARGIN_MS = 60_000;
const CHECKPOINT = 'cdex-scan';
/** Most resources one request returns. */
const MAX_OUTPUTS = 500;
export const WAITING_FOR_REVIEW = 'Waiting for review by a case manager';
const CLAIM_USE = 'http://hl7.org/fhir/claim-use';

/** The payer answered a $submit-attachment with a 4xx: CDex says there is no point resubmitting it unaltered. */
class SubmissionRefused extends OutboundFailure {
  override name = 'SubmissionRefused';
}

export class CdexWorker {
  readonly name = 'cdex';

  constructor(private readonly w: WorkflowContext) {}

  async run(): Promise<number> {
    const scanned = (await this.w.leased(CHECKPOINT, LEASE_MS, () => this.scan())) ?? 0;
    let done = 0;
    for (const entry of await this.w.records.outbox.due(['cdex-request', 'cdex-submit', 'cdex-unsolicited'], this.w.now(), BATCH)) {
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
    // Unsolicited attachments a case manager sent (the case API's send-attachments): one delivery each.
    const sent = { category: [`${CASE_MANAGEMENT_SYSTEM}|${UNSOLICITED_ATTACHMENT}`], status: ['in-progress'], _sort: ['_lastUpdated'], ...(query._lastUpdated ? { _lastUpdated: query._lastUpdated } : {}) };
    for (const match of await findAll(this.w.services, 'Communication', sent, 10_000)) {
      const communication = match.resource as Communication & { id: string };
      const now = this.w.now();
      const target = communication.recipient?.[0]?.reference ?? '';
      added += (await this.w.records.outbox.enqueue({ id: `cdex-unsolicited:${communication.id}`, kind: 'cdex-unsolicited', target, payload: { communication: communication.id }, due: now }, now)) === 'enqueued' ? 1 : 0;
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
      else if (entry.kind === 'cdex-unsolicited') await this.unsolicited(entry);
      else await this.submit(entry);
      await outbox.complete(entryId, this.w.now());
    } catch (err) {
      const failure = err instanceof OutboundFailure || err instanceof FhirError ? err.message : undefined;
      if (failure === undefined) throw err;
      const attempts = entry.attempts + 1;
      // CDex: a 4xx means there is no point sending the same again.
      if (attempts >= MAX_ATTEMPTS || err instanceof SubmissionRefused) {
        await outbox.abandon(entryId, now, failure);
        const why = err instanceof SubmissionRefused ? `Refused by the payer: ${failure}` : `Not delivered after ${attempts} attempts: ${failure}`;
        if (entry.kind === 'cdex-unsolicited') await this.sentAs(String(entry.payload.communication), { status: 'stopped', statusReason: { text: why } });
      } else await outbox.reschedule(entryId, { due: new Date(now.getTime() + retryDelayMs(attempts, entryId)), error: failure });
      this.w.log.warn({ entry: entryId, attempts, failure }, 'CDex request work failed');
    }
    return 1;
  }

  /** The Task's owner, as the organisation that answers the request. */
  private async owner(task: Task): Promise<{ ctx: RequestContext; services: FhirServices } | undefined> {
    const owner = await this.ownerOrganization(task);
    if (!owner) return undefined;
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

  /**
   * An unsolicited attachment (a Communication the case API wrote): POST [partner base]/$submit-attachment
   * with the documents read as the payer may see them, for the purpose of a claim attachment (or a
   * coverage authorization), with the partner's credentials. Delivered: the Communication is
   * completed (sent); a document the payer may no longer see (a consent revoked since): not-done,
   * saying which, and nothing is sent.
   */
  private async unsolicited(entry: OutboxEntry): Promise<void> {
    const id = String(entry.payload.communication);
    const communication = (await readIfPresent(this.w.services.repo, 'Communication', id))?.resource as (Communication & { id: string }) | undefined;
    if (!communication || communication.status !== 'in-progress') return;
    const payerOrganization = communication.recipient?.[0]?.reference ?? '';
    const partner = (await this.w.records.partners.list()).find((p) => p.active && p.organization === payerOrganization);
    if (!partner) throw new OutboundFailure(`No active partner is registered for ${payerOrganization}: register its server (npm run partner:register) to deliver attachments to it`);
    const attachTo = (communication.reasonCode?.[0]?.coding?.find((c) => c.system === CLAIM_USE)?.code ?? 'claim') as AttachTo;
    const ctx = workContext(payerCaller(payerOrganization, ATTACHMENT_PURPOSE[attachTo], `cdex-unsolicited:${id}`), this.w.log, 'cdex-unsolicited');
    const payer = await servicesAs(this.w.services, ctx);
    const patient = communication.subject?.reference as string;
    const attachments: { lineItems: string[]; code?: CodeableConcept; content: Resource }[] = [];
    for (const item of communication.payload ?? []) {
      const [type = '', docId = ''] = (item.contentReference?.reference ?? '').split('/');
      const found = await readIfPresent(payer.repo, type, docId);
      if (!found) {
        await this.sentAs(id, { status: 'not-done', statusReason: { text: `${type}/${docId} is not one ${payerOrganization} may receive any more (its coverage, or the client's consent, changed): nothing was sent` } });
        return;
      }
      const code = attachmentCode(found.resource);
      const lineItems = (item.extension ?? []).filter((e) => e.url === LINE_ITEM_EXTENSION && e.valueString).map((e) => e.valueString as string);
      attachments.push({ lineItems, ...(code ? { code } : {}), content: found.resource });
    }
    const memberId = await memberIdentifier(payer, patient, payerOrganization);
    if (!memberId) {
      await this.sentAs(id, { status: 'not-done', statusReason: { text: `The client has no active coverage with ${payerOrganization} any more: nothing was sent` } });
      return;
    }
    const tracking = communication.identifier?.find((i) => i.type?.coding?.some((c) => c.system === CDEX_TEMP && c.code === 'tracking-id'));
    const payerId = communication.recipient?.[0]?.identifier;
    const organizationId = communication.sender?.identifier;
    const serviceDate = communication.extension?.find((e) => e.url === SERVICE_DATE_EXTENSION)?.valueDate;
    const parameters = submitAttachmentParameters({
      trackingId: { ...(tracking?.system ? { system: tracking.system } : {}), value: tracking?.value ?? id },
      attachTo,
      ...(payerId ? { payerId } : {}),
      ...(organizationId ? { organizationId } : {}),
      memberId,
      ...(serviceDate ? { serviceDate } : {}),
      attachments,
    });
    const url = `${partner.baseUrl}/$submit-attachment`;
    await this.push({ url, parameters, ctx, payer, patient, partner, entities: [{ reference: `Communication/${id}` }, ...attachments.map((a) => ({ reference: `${a.content.resourceType}/${a.content.id as string}` }))] });
    await this.sentAs(id, { status: 'completed', sent: this.w.services.now().toISOString() });
    this.w.log.info({ communication: id, partner: partner.id, attachments: attachments.length }, 'Unsolicited attachments delivered');
  }

  /** Records how an unsolicited attachment ended, as the agency that sent it. */
  private async sentAs(id: string, change: Partial<Communication>): Promise<void> {
    const current = await readIfPresent(this.w.services.repo, 'Communication', id);
    const communication = current?.resource as (Communication & { id: string }) | undefined;
    const sender = communication?.sender?.reference;
    if (!current || !communication || !sender?.startsWith('Organization/')) return;
    const ctx = workContext(organizationCaller(sender, 'cdex-unsolicited'), this.w.log, 'cdex-unsolicited');
    const services = await servicesAs(this.w.services, ctx);
    await writeOne(services, ctx, { kind: 'update', method: 'PUT', ifMatchVersion: current.versionId, resource: { ...(withoutServerMeta(communication) as Communication & { id: string }), ...change } });
  }

  /** POST [payer-url] ($submit-attachment) with the documents, as the payer may see them (solicited attachments). */
  private async submit(entry: OutboxEntry): Promise<void> {
    const taskId = String(entry.payload.task);
    const task = (await readIfPresent(this.w.services.repo, 'Task', taskId))?.resource as (Task & { id: string }) | undefined;
    if (!task) return;
    const request = readCdexRequest(task, this.w.services.registry, this.w.services.settings.baseUrl);
    if (request.kind !== 'attachment' || !request.payerUrl) return;
    const payerUrl = request.payerUrl;
    const refusal = endpointRefusal(payerUrl, await this.w.destinations());
    if (refusal) throw new FhirError('FORBIDDEN', `The payer-url ${payerUrl} is not an allowed destination: ${refusal}`);
    const requester = task.requester?.reference as string;
    const ctx = workContext(payerCaller(requester, request.purpose, `cdex-submit:${taskId}`), this.w.log, 'cdex-submit');
    const payer = await servicesAs(this.w.services, ctx);
    const documents: DocumentReference[] = [];
    for (const id of (entry.payload.documents as string[] | undefined) ?? []) {
      const found = await readIfPresent(payer.repo, 'DocumentReference', id);
      if (found) documents.push(found.resource as DocumentReference);
    }
    const patient = task.for?.reference as string;
    const tracking = task.identifier?.find((i) => i.type?.coding?.some((c) => c.system === CDEX_TEMP && c.code === 'tracking-id'));
    const owner = await this.ownerOrganization(task);
    const parameters = submitAttachmentParameters({
      // The payer's tracking control number, as its request gave it.
      trackingId: tracking?.value ? { ...(tracking.system ? { system: tracking.system } : {}), value: tracking.value } : { system: `${this.w.services.settings.baseUrl}/Task`, value: task.id },
      attachTo: task.reasonCode?.coding?.find((c) => c.system === CLAIM_USE && (ATTACH_TO as readonly string[]).includes(c.code ?? ''))?.code as AttachTo | undefined ?? 'claim',
      ...(owner ? { organizationId: await organizationIdentifier(payer, owner) } : {}),
      memberId: (await memberIdentifier(payer, patient, requester)) ?? { system: 'urn:ietf:rfc:3986', value: `${this.w.services.settings.baseUrl}/${patient}` },
      ...(request.serviceDate ? { serviceDate: request.serviceDate } : {}),
      attachments: documents.map((doc) => {
        const code = attachmentCode(doc);
        return { ...(code ? { code } : {}), content: doc };
      }),
    });
    await this.push({ url: payerUrl, parameters, ctx, payer, patient, entities: [{ reference: `Task/${taskId}` }, ...documents.map((d) => ({ reference: `DocumentReference/${d.id as string}` }))] });
  }

  /** The organisation a Task's owner stands for (itself, or a PractitionerRole's). */
  private async ownerOrganization(task: Task): Promise<string | undefined> {
    const owner = task.owner?.reference;
    if (!owner?.startsWith('PractitionerRole/')) return owner?.startsWith('Organization/') ? owner : undefined;
    const role = await readIfPresent(this.w.services.repo, 'PractitionerRole', owner.slice('PractitionerRole/'.length));
    return (role?.resource as { organization?: Reference } | undefined)?.organization?.reference;
  }

  /**
   * One $submit-attachment POST, solicited or not, recorded in the audit (an export to the payer,
   * with what of it was disclosed under consent) whatever its outcome; a failure is thrown for the
   * outbox to retry. `partner`: sent with the partner's credentials, under its base URL.
   */
  private async push(args: { url: string; parameters: Parameters; ctx: RequestContext; payer: FhirServices; patient: string; entities: { reference: string }[]; partner?: Partner }): Promise<void> {
    const { url, parameters, ctx, payer, partner } = args;
    const { response, failure } = await callPeer(() =>
      partner
        ? this.w.partnerClient(partner).request('POST', url, { body: parameters })
        : this.w.deps.http.send({ method: 'POST', url, headers: { 'content-type': FHIR_JSON, accept: FHIR_JSON }, body: JSON.stringify(parameters) }),
    );
    const status = response?.status ?? 0;
    await this.w.deps.audit.record(
      {
        type: 'export',
        remote: url,
        caller: ctx.caller,
        requestId: ctx.requestId,
        query: `POST ${url}`,
        patients: [args.patient],
        entities: args.entities,
        ...(failure !== undefined ? { failure: { status, description: failure } } : {}),
      },
      payer,
    );
    if (failure === undefined) return;
    // A 4xx (other than a timeout or a rate limit) is the payer refusing this submission: not retried.
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw new SubmissionRefused(`$submit-attachment to ${url}: ${failure}`);
    throw new OutboundFailure(`$submit-attachment to ${url}: ${failure}`);
  }
}
