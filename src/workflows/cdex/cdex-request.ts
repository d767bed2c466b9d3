/**
 * Da Vinci CDex Task-based requests (CASE-MANAGEMENT-FHIR.md §4.1, §7.2): what a payer's data
 * request (cdex-temp#data-request-query: a FHIR query to run) or attachment request
 * (PASTempCodes#attachment-request-code: LOINC document types for a claim) asks for, read from
 * the Task; and the rule every write of one follows (a WriteRule of the write pipeline), so a
 * request that cannot be honoured is refused when it is posted (422 at the input), not later:
 * the query is one search of a type in the patient's record, without _include/_revinclude
 * (minimum necessary: it is run for the Task's patient only); the purpose of use is stated and is
 * one the requesting client's token carries; the requester is the payer's own organisation.
 * Pure reading of the Task, plus the check.
 * See: https://hl7.org/fhir/us/davinci-cdex/task-based-approach.html and
 * https://hl7.org/fhir/us/davinci-cdex/requesting-attachments-code.html
 */
import type { CodeableConcept, Task } from '@medplum/fhirtypes';
import type { WriteRule } from '../../core/services';
import { patientCompartment } from '../../fhir/compartments';
import { isResourceType } from '../../fhir/definitions';
import { FhirError } from '../../fhir/outcomes';
import { parseSearch } from '../../search/parse';

export const CDEX_TEMP = 'http://hl7.org/fhir/us/davinci-cdex/CodeSystem/cdex-temp';
export const HREX_TEMP = 'http://hl7.org/fhir/us/davinci-hrex/CodeSystem/hrex-temp';
export const PAS_TEMP = 'http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const LOINC = 'http://loinc.org';

/** Purposes a payer's request may be fulfilled for without a case manager (payment). */
export const AUTOMATIC_PURPOSES: ReadonlySet<string> = new Set(['HPAYMT', 'CLMATTCH', 'COVAUTH', 'COVERAGE', 'ELIGDTRM', 'ELIGVER']);

export type CdexRequest =
  | { readonly kind: 'data'; readonly resourceType: string; readonly query: Record<string, string[]>; readonly purpose: string }
  | { readonly kind: 'attachment'; readonly codes: readonly string[]; readonly purpose: string; readonly payerUrl?: string; readonly trackingId?: string; readonly serviceDate?: string };

const has = (concept: CodeableConcept | undefined, system: string, code: string) => (concept?.coding ?? []).some((c) => c.system === system && c.code === code);

/** Which CDex request a Task is, if it is one. */
export function cdexKind(task: Task): 'data' | 'attachment' | undefined {
  if (has(task.code, CDEX_TEMP, 'data-request-query')) return 'data';
  if (has(task.code, PAS_TEMP, 'attachment-request-code')) return 'attachment';
  return undefined;
}

/** What the Task asks for; a FhirError (422, at the input) when it cannot be honoured. */
export function readCdexRequest(task: Task, registry: Parameters<typeof parseSearch>[2], baseUrl: string): CdexRequest {
  const kind = cdexKind(task);
  const inputs = task.input ?? [];
  const at = (i: number, value: string) => `Task.input[${i}].${value}`;
  const purposeAt = inputs.findIndex((input) => has(input.type, CDEX_TEMP, 'purpose-of-use'));
  const purpose = purposeAt >= 0 ? inputs[purposeAt]?.valueCodeableConcept?.coding?.find((c) => c.system === ACT_REASON)?.code : undefined;
  if (purpose === undefined) {
    throw new FhirError('BUSINESS_RULE', 'A CDex request states its purpose of use: an input of type cdex-temp#purpose-of-use with a v3-ActReason code', { expression: [purposeAt >= 0 ? at(purposeAt, 'valueCodeableConcept') : 'Task.input'] });
  }
  if (kind === 'data') {
    const i = inputs.findIndex((input) => has(input.type, HREX_TEMP, 'data-query'));
    const text = i >= 0 ? inputs[i]?.valueString : undefined;
    if (text === undefined) throw new FhirError('BUSINESS_RULE', 'A data request has an input of type hrex-temp#data-query with the query (valueString)', { expression: ['Task.input'] });
    const [type = '', queryText = ''] = text.replace(/^\//, '').split('?', 2);
    if (!isResourceType(type) || !patientCompartment().has(type) || type === 'Patient') {
      throw new FhirError('BUSINESS_RULE', `The data query searches ${type || 'nothing'}: it must search one type of the patient's record (e.g. Observation?category=survey)`, { expression: [at(i, 'valueString')] });
    }
    const query: Record<string, string[]> = {};
    for (const [name, value] of new URLSearchParams(queryText)) (query[name] ??= []).push(value);
    for (const name of Object.keys(query)) {
      if (name === '_include' || name === '_revinclude' || name.startsWith('_has') || ['patient', 'subject', '_count'].includes(name)) {
        throw new FhirError('BUSINESS_RULE', `The data query may not use ${name}: it is run for the Task's patient only, and returns that type only`, { expression: [at(i, 'valueString')] });
      }
    }
    try {
      parseSearch(type, query, registry, { strict: true, defaultCount: 100, maxCount: 100, baseUrl });
    } catch (err) {
      if (err instanceof FhirError) throw new FhirError('BUSINESS_RULE', `The data query is not a search this server runs: ${err.message}`, { expression: [at(i, 'valueString')] });
      throw err;
    }
    return { kind, resourceType: type, query, purpose };
  }
  if (kind === 'attachment') {
    const codes = inputs.flatMap((input) => (has(input.type, PAS_TEMP, 'attachments-needed') ? (input.valueCodeableConcept?.coding ?? []).filter((c) => c.system === LOINC && c.code).map((c) => c.code as string) : []));
    if (codes.length === 0) throw new FhirError('BUSINESS_RULE', 'An attachment request names the documents it needs: inputs of type PASTempCodes#attachments-needed with LOINC codes', { expression: ['Task.input'] });
    const payerUrl = inputs.find((input) => has(input.type, PAS_TEMP, 'payer-url'))?.valueUrl;
    const trackingId = task.identifier?.find((id) => has(id.type, CDEX_TEMP, 'tracking-id'))?.value;
    const serviceDate = inputs.find((input) => has(input.type, CDEX_TEMP, 'service-date'))?.valueDate;
    return { kind, codes, purpose, ...(payerUrl ? { payerUrl } : {}), ...(trackingId ? { trackingId } : {}), ...(serviceDate ? { serviceDate } : {}) };
  }
  throw new FhirError('BUSINESS_RULE', 'Not a CDex request', { expression: ['Task.code'] });
}

/** The CDex request Task rule: posted requests must be ones the server can honour for this payer. */
export const cdexRequestRule: WriteRule = {
  resourceTypes: ['Task'],
  async check(services, ctx, write) {
    const task = write.resource as Task;
    if (cdexKind(task) === undefined || write.kind !== 'create' || ctx.caller.role !== 'payer') return;
    const request = readCdexRequest(task, services.registry, services.settings.baseUrl);
    if (task.status !== 'requested') throw new FhirError('BUSINESS_RULE', 'A CDex request is posted as requested', { expression: ['Task.status'] });
    if (!(ctx.caller.purposes ?? []).includes(request.purpose)) {
      throw new FhirError('BUSINESS_RULE', `The purpose of use ${request.purpose} is not one this client's token states (${(ctx.caller.purposes ?? []).join(', ') || 'none'})`, { expression: ['Task.input'] });
    }
    if (ctx.caller.organization !== undefined && task.requester?.reference !== ctx.caller.organization) {
      throw new FhirError('BUSINESS_RULE', `The requester of a CDex request is the payer itself (${ctx.caller.organization})`, { expression: ['Task.requester'] });
    }
    if (!task.for?.reference?.startsWith('Patient/')) throw new FhirError('BUSINESS_RULE', 'A CDex request is for a patient of this server (Task.for: Patient/<id>)', { expression: ['Task.for'] });
    if (!task.owner?.reference) throw new FhirError('BUSINESS_RULE', 'A CDex request names the provider organisation that owns it (Task.owner)', { expression: ['Task.owner'] });
  },
};
