/**
 * Receiving a referral from a partner's server (SDOHCC direct referral, the target's side): the
 * partner's Task is here; its ServiceRequest, Patient and what the request sends along are
 * fetched from the partner (referenced resources: supportingInfo, reasonReference, pertainsToGoal),
 * copied for the receiving agency (supporting-copies.ts), the client matched among the agency's own
 * before one is created (client-match.ts), and all of it written as one unit with the Task pointed
 * at it. What cannot be had is noted on the Task and does not hold the referral up.
 * docs/workflows.md §3c.
 */
import type { Identifier, Patient, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import { PERTAINS_TO_GOAL } from '../../casemgmt/vocabulary';
import type { RequestContext } from '../../core/context';
import type { FhirServices } from '../../core/services';
import { type PreparedWrite, applyWrites, prepareWrite } from '../../core/write-pipeline';
import { FhirError } from '../../fhir/outcomes';
import { withoutServerMeta } from '../../fhir/resource-body';
import { newId } from '../../platform/ids';
import type { OutboxEntry, Partner } from '../../store/records';
import { type PlannedWrite, readIfPresent } from '../../store/repository';
import type { WorkflowContext } from '../context';
import { findAll, searchToken } from '../find';
import { OutboundFailure } from '../outbound';
import { type ClientMatch, decideMatch, matchingIdentifiers, possibleDuplicateFlag } from './client-match';
import { type Outcome, type PartnerCall, RemoteRefusal } from './partner-answers';
import { type Naming, type SupportingElement, type SupportingReference, atPartner, clientCopy, notFetched, partnerOrganizations, personOf, sourceIdentifier, supportingCopy, supportingReferences } from './supporting-copies';

/** Attempts of an import before a supporting resource the partner failed to give is noted as missing. */
const SUPPORTING_ATTEMPTS = 4;

/** A resource the referral sent along that was not taken in, and why (noted on the received Task). */
type Problem = SupportingReference & { readonly reason: string };

export interface ReferralImportDeps {
  readonly w: WorkflowContext;
  readonly call: PartnerCall;
  /** The scoped services of one of our organisations, for work done in its name. */
  readonly as: (organization: string, work: string) => Promise<{ ctx: RequestContext; services: FhirServices }>;
  /** The organisation a reference names (or the one a PractitionerRole works for). */
  readonly organizationOf: (reference: string | undefined) => Promise<string | undefined>;
}

export class ReferralImport {
  constructor(private readonly deps: ReferralImportDeps) {}

  async run(entry: OutboxEntry, partner: Partner): Promise<Outcome> {
    const taskId = String(entry.payload.task);
    const current = await readIfPresent(this.deps.w.services.repo, 'Task', taskId);
    const task = current?.resource as (Task & { id: string }) | undefined;
    if (!current || !task || (task.basedOn ?? []).length > 0 || task.status !== 'requested') return { done: true };
    const owner = await this.deps.organizationOf(task.owner?.reference);
    if (!owner) return { done: true };
    const focus = task.focus?.reference ?? '';
    const transfer = { ...(await this.deps.as(owner, 'referral-import')), type: 'import' as const, entities: [{ reference: `Task/${taskId}` }] };
    const { body } = await this.deps.call(partner, transfer, { method: 'GET', path: focus });
    const request = body as ServiceRequest;
    if (request?.resourceType !== 'ServiceRequest') throw new RemoteRefusal(`${focus} is not a ServiceRequest`, true);
    const absolute = (reference: string | undefined) => (reference === undefined ? undefined : /^https?:\/\//.test(reference) ? reference : `${partner.baseUrl}/${reference}`);
    const patientUrl = absolute(request.subject?.reference ?? task.for?.reference);
    const referred = patientUrl ? atPartner(patientUrl, partner.baseUrl) : undefined;
    if (!patientUrl || referred?.type !== 'Patient') throw new RemoteRefusal(`${focus} names no Patient on the partner's server`, true);
    const fetched = (await this.deps.call(partner, transfer, { method: 'GET', path: patientUrl })).body as Patient;
    if (fetched?.resourceType !== 'Patient') throw new RemoteRefusal(`${patientUrl} is not a Patient`, true);
    const partnerPatient = `Patient/${referred.id}`;
    const sent = await this.fetchSupporting(partner, transfer, { request, partnerPatient, attempts: entry.attempts });

    // The client: one the receiving agency already has (matched by identifier), or a new one.
    const { ctx, services } = transfer;
    const source = sourceIdentifier(partner.baseUrl, 'Patient', referred.id);
    const match = await this.matchClient(services, fetched, source);
    const at = this.deps.w.services.now().toISOString();
    const base: PlannedWrite[] = [];
    let patientRef: string;
    if (match.kind === 'one') {
      // The agency's record of its client is left as it is: the referral is filed under it.
      patientRef = match.patient;
    } else {
      const naming: Naming = { partnerBase: partner.baseUrl, partnerPatient, ourPatient: '', copies: new Map(), organizations: partnerOrganizations(partner, owner) };
      const id = newId();
      const patient = clientCopy({ ...fetched, id: referred.id }, { id, naming: { ...naming, ourPatient: `Patient/${id}` } });
      patientRef = `Patient/${patient.id}`;
      base.push({ kind: 'create', resource: patient });
      if (match.kind === 'ambiguous') {
        base.push({ kind: 'create', resource: possibleDuplicateFlag({ id: newId(), patient: patientRef, match, task: `Task/${taskId}`, author: owner, start: at }) });
      }
    }
    const unitPatients = new Set([patientRef]);
    const prepared: PreparedWrite[] = [];
    for (const write of base) prepared.push(await prepareWrite(services, ctx, write, unitPatients));

    // What came along, copied for the receiving agency; a copy refused here is noted, not fatal.
    const copies = await this.prepareCopies(transfer, { partner, owner, sent: sent.fetched, partnerPatient, ourPatient: patientRef, unitPatients });
    prepared.push(...copies.prepared);
    const problems = [...sent.problems, ...copies.problems];
    const ours = (element: SupportingElement) => copies.taken.filter((c) => c.element === element).map((c) => ({ reference: c.copy }));
    const goal = ours('pertainsToGoal')[0];
    const srCopy: ServiceRequest & { id: string } = {
      resourceType: 'ServiceRequest',
      id: newId(),
      ...(goal ? { extension: [{ url: PERTAINS_TO_GOAL, valueReference: goal }] } : {}),
      identifier: [sourceIdentifier(partner.baseUrl, 'ServiceRequest', request.id as string)],
      // The original stays the partner's; ours is the order we fill (SDOHCC refer-1).
      basedOn: [{ reference: focus }],
      status: 'active',
      intent: 'filler-order',
      ...(request.category ? { category: request.category } : {}),
      ...(request.priority ? { priority: request.priority } : {}),
      ...(request.code ? { code: request.code } : {}),
      subject: { reference: patientRef },
      authoredOn: request.authoredOn ?? task.authoredOn ?? at,
      requester: { reference: partner.organization, display: partner.name },
      performer: [{ reference: owner }],
      ...(request.reasonCode ? { reasonCode: request.reasonCode } : {}),
      ...(ours('reasonReference').length > 0 ? { reasonReference: ours('reasonReference') } : {}),
      // Every copy, whatever element named it at the partner: what the referral sent along.
      ...(copies.taken.length > 0 ? { supportingInfo: copies.taken.map((c) => ({ reference: c.copy })) } : {}),
      ...(request.note ? { note: request.note } : {}),
    };
    prepared.push(await prepareWrite(services, ctx, { kind: 'create', resource: srCopy }, unitPatients));
    const { statusReason: _r, ...rest } = withoutServerMeta(task) as Task & { id: string };
    const notes = problems.map((p) => ({ authorString: 'CaseBridge referral exchange', time: at, text: `Supporting information ${absolute(p.reference) as string} (ServiceRequest.${p.element}) was not taken in: ${p.reason}` }));
    const received: Task & { id: string } = { ...rest, for: { reference: patientRef }, basedOn: [{ reference: `ServiceRequest/${srCopy.id}` }], ...(notes.length > 0 ? { note: [...(rest.note ?? []), ...notes] } : {}) };
    prepared.push(await prepareWrite(services, ctx, { kind: 'update', method: 'PUT', ifMatchVersion: current.versionId, resource: received }, unitPatients));
    // All or nothing: an import interrupted leaves the Task as it was, and is done again whole.
    await applyWrites(services, prepared);
    this.deps.w.log.info({ task: taskId, partner: partner.id, patient: patientRef, match: match.kind, copies: copies.taken.length, problems: problems.length }, 'referral received and taken in');
    return { done: true };
  }

  /**
   * GET each resource the ServiceRequest sends along, on the partner's server only. One that
   * cannot be had is a problem noted on the Task, except a failure that may pass (no answer, 5xx,
   * 401, 408, 429): the whole import is tried again, a few times, before it is noted too.
   */
  private async fetchSupporting(
    partner: Partner,
    transfer: { ctx: RequestContext; services: FhirServices; type: 'import'; entities: { reference: string }[] },
    args: { request: ServiceRequest; partnerPatient: string; attempts: number },
  ): Promise<{ fetched: { ref: SupportingReference; resource: Resource & { id: string } }[]; problems: Problem[] }> {
    const fetched: { ref: SupportingReference; resource: Resource & { id: string } }[] = [];
    const problems: Problem[] = [];
    for (const ref of supportingReferences(args.request)) {
      const why = notFetched(ref.reference, partner.baseUrl);
      const target = atPartner(ref.reference, partner.baseUrl);
      if (why !== undefined || !target) {
        problems.push({ ...ref, reason: why ?? 'not a reference to a resource' });
        continue;
      }
      try {
        const resource = (await this.deps.call(partner, transfer, { method: 'GET', path: `${target.type}/${target.id}` })).body as Resource | undefined;
        if (resource?.resourceType !== target.type || resource.id !== target.id) {
          problems.push({ ...ref, reason: `the partner answered with something other than ${target.type}/${target.id}` });
          continue;
        }
        const person = personOf(resource);
        const about = person === undefined ? undefined : atPartner(person, partner.baseUrl);
        if (person !== undefined && (about === undefined || `${about.type}/${about.id}` !== args.partnerPatient)) {
          problems.push({ ...ref, reason: 'it is about someone other than the referred client' });
          continue;
        }
        fetched.push({ ref, resource: resource as Resource & { id: string } });
      } catch (err) {
        if (!(err instanceof RemoteRefusal) && !(err instanceof OutboundFailure)) throw err;
        const status = err instanceof RemoteRefusal ? err.status : 0;
        const passing = status === 0 || status >= 500 || status === 401 || status === 408 || status === 429;
        if (passing && args.attempts + 1 < SUPPORTING_ATTEMPTS) throw err;
        problems.push({ ...ref, reason: status === 0 ? 'the partner could not be reached' : `the partner answered ${status}` });
      }
    }
    return { fetched, problems };
  }

  /**
   * The Patients the receiving agency may see that carry one of the referred client's identifiers,
   * or that one names outright: a client we once referred comes back with our id of it
   * (`[our base]/Patient|[id]`, the source identifier the partner's copy carries).
   */
  private async matchClient(services: FhirServices, referred: Patient, source: Identifier): Promise<ClientMatch> {
    const found: { reference: string; patient: Patient }[] = [];
    const ours = `${this.deps.w.services.settings.baseUrl}/Patient`;
    for (const identifier of matchingIdentifiers(referred, source)) {
      if (identifier.system === ours) {
        // The scoped repository again: a Patient the agency may not see is not found.
        const known = await readIfPresent(services.repo, 'Patient', identifier.value as string).catch((err: unknown) => {
          if (err instanceof FhirError) return undefined;
          throw err;
        });
        if (known) found.push({ reference: `Patient/${known.id}`, patient: known.resource as Patient });
        continue;
      }
      // The scoped repository: another agency's clients are not searched.
      for (const m of await findAll(services, 'Patient', { identifier: `${searchToken(identifier.system as string)}|${searchToken(identifier.value as string)}` }, 10)) {
        found.push({ reference: `Patient/${m.id}`, patient: m.resource as Patient });
      }
    }
    return decideMatch(referred, found);
  }

  /**
   * The copies of what the referral sent along, each prepared through the write pipeline on its
   * own: one the pipeline refuses (invalid here) is left out and noted, and references to it from
   * the other copies then stay at the partner.
   */
  private async prepareCopies(
    transfer: { ctx: RequestContext; services: FhirServices },
    args: { partner: Partner; owner: string; sent: readonly { ref: SupportingReference; resource: Resource & { id: string } }[]; partnerPatient: string; ourPatient: string; unitPatients: ReadonlySet<string> },
  ): Promise<{ prepared: PreparedWrite[]; taken: { element: SupportingElement; copy: string }[]; problems: Problem[] }> {
    const { partner } = args;
    const organizations = partnerOrganizations(partner, args.owner);
    let candidates = args.sent.map((s) => ({ ...s, key: `${s.resource.resourceType}/${s.resource.id}`, id: newId() }));
    const problems: Problem[] = [];
    for (;;) {
      const copies = new Map(candidates.map((c) => [c.key, `${c.resource.resourceType}/${c.id}`]));
      const naming: Naming = { partnerBase: partner.baseUrl, partnerPatient: args.partnerPatient, ourPatient: args.ourPatient, copies, organizations };
      const prepared: PreparedWrite[] = [];
      const refused = new Set<string>();
      for (const c of candidates) {
        try {
          prepared.push(await prepareWrite(transfer.services, transfer.ctx, { kind: 'create', resource: supportingCopy(c.resource, { id: c.id, naming }) }, args.unitPatients));
        } catch (err) {
          if (!(err instanceof FhirError)) throw err;
          refused.add(c.key);
          problems.push({ ...c.ref, reason: `refused here (${err.status}): ${refusal(err)}` });
        }
      }
      if (refused.size === 0) return { prepared, taken: candidates.map((c) => ({ element: c.ref.element, copy: copies.get(c.key) as string })), problems };
      candidates = candidates.filter((c) => !refused.has(c.key));
    }
  }
}

/** What a partner's resource fails here, in one line (the first issues of the OperationOutcome). */
function refusal(err: FhirError): string {
  return (err.outcome.issue ?? [])
    .slice(0, 3)
    .map((i) => `${i.details?.text ?? i.diagnostics ?? i.code}${i.expression?.length ? ` at ${i.expression.join(', ')}` : ''}`)
    .join('; ');
}
