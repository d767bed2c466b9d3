/**
 * How every case-API command runs, whatever it does:
 *  1. its payload is validated against its JSON Schema (400, located);
 *  2. with an Idempotency-Key, a Provenance already written for (key, caller, command) answers
 *     the command as the first time did (same body, status 200), or refuses a different payload
 *     with the same key (409) — before anything else is checked, so a replay never fails on what
 *     changed since;
 *  3. every reference its payload names must exist and be visible to the caller (references.ts:
 *     422 naming the field);
 *  4. the command plans its writes (reading what it needs; its own rules answer 404/409/422);
 *  5. the writes go through the write pipeline (core/write-pipeline: authorized, validated
 *     against R4 and the CaseBridge profiles they claim, followed by what derives from them);
 *  6. the writes and a Provenance naming them (with their new versions), who did it and the
 *     command, are applied as ONE all-or-nothing unit — inside the store's conditional scope
 *     when the command resolves criteria (a client matched by identifier), as a conditional
 *     create would be.
 * A concurrent change to something the command updates (every update is a compare-and-set on
 * the version it read) makes the unit fail and the command plan again, up to three times.
 */
import type { Provenance, ProvenanceAgent, Reference, Resource } from '@medplum/fhirtypes';
import type { RequestContext } from '../core/context';
import type { FhirServices } from '../core/services';
import { type PreparedWrite, patientsWritten, prepareWrite, unitWrites, writeConditionally } from '../core/write-pipeline';
import { FhirError } from '../fhir/outcomes';
import { compartmentPatients } from '../search/compartment';
import type { SearchRequest } from '../search/request';
import { type PlannedWrite, readIfPresent } from '../store/repository';
import { COMMAND_HASH_SYSTEM, IdFactory, commandHash, idPrefix, storedHash } from './idempotency';
import { validatePayload } from './payload';
import { assertReferencesExist } from './references';
import type { JsonSchema } from './schemas/common';
import { CASE_MANAGEMENT_SYSTEM, CB, SYSTEMS, coding, localReference, ref } from './vocabulary';

/** The commands, as coded in CodeSystem case-management (Provenance.activity). */
export const COMMANDS = {
  'open-case': 'Open a case (intake)',
  'record-screening': 'Record a screening or assessment',
  'set-risk-level': 'Set the risk level',
  'create-service-plan': 'Create a service plan',
  'revise-service-plan': 'Revise the service plan',
  'record-progress': 'Record progress on an objective',
  'make-referral': 'Make a referral',
  'update-referral-status': 'Record a referral status change',
  'log-contact': 'Log a contact or home visit',
  'record-significant-event': 'Record a significant event',
  'transfer-case': 'Transfer the case to another agency',
  'close-case': 'Close the case',
  'record-consent': 'Record a consent',
  'revoke-consent': 'Revoke a consent',
  // Issue 15: the case's life, safety, scheduling, assessment and evaluation.
  'change-case-status': 'Change the case status (waitlist, activate, hold, resume, cancel)',
  'reopen-case': 'Reopen a closed case',
  'reassign-case': 'Reassign the case to another case manager',
  'review-flags': 'Review safety flags',
  'book-appointment': 'Book an appointment',
  'reschedule-appointment': 'Reschedule an appointment',
  'cancel-appointment': 'Cancel an appointment',
  'record-no-show': 'Record a missed appointment (no-show)',
  'record-attendance': 'Record an attended appointment',
  'record-assessment': 'Record a comprehensive needs assessment',
  'evaluate-case': 'Evaluate the outcomes of the case',
  // Issue 14: payers' documentation requests (Da Vinci CDex).
  'approve-documentation-request': 'Approve a payer’s documentation request',
  'decline-documentation-request': 'Decline a payer’s documentation request',
  'send-attachments': 'Send attachments to a payer for a claim (unsolicited)',
} as const;

export type CommandName = keyof typeof COMMANDS;

export interface CommandRequest {
  /** Path parameters, e.g. `{ caseId }`. */
  readonly params: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly idempotencyKey?: string;
  /** The partners' servers CaseBridge delivers to, for commands that send something out. */
  readonly partners?: PartnerDirectory;
}

/** Which organisations have an active partner registration (store/records partners): where the workflows can deliver. */
export interface PartnerDirectory {
  isActivePartner(organization: string): Promise<boolean>;
}

/** What a command answers: the same the first time and on every replay. */
export interface CommandReceipt {
  readonly command: CommandName;
  /** `EpisodeOfCare/<id>`: the case the command was about (absent for a command about no case, e.g. a payer's documentation request). */
  readonly case?: string;
  readonly provenance: string;
  readonly recorded: string;
  /** Every resource written, with the version written (`Type/id`, versionId), in writing order. */
  readonly written: readonly { readonly reference: string; readonly versionId: string }[];
}

export interface CommandResult {
  /** 201 when the command wrote, 200 when it was a replay. */
  readonly status: 200 | 201;
  readonly replayed: boolean;
  readonly receipt: CommandReceipt;
  /** `Patient/<id>` of the patients whose record it wrote to (for the audit; not part of the receipt). */
  readonly patients: readonly string[];
}

export interface PlanInput<P> {
  readonly services: FhirServices;
  readonly ctx: RequestContext;
  readonly payload: P;
  readonly params: Readonly<Record<string, string>>;
  readonly ids: IdFactory;
  readonly now: Date;
  /** Who acts: the payload's `recordedBy`, else the caller. */
  readonly agent: Reference<never>;
  /** Absent when the application was built without the workflows' records: nothing can be delivered then. */
  readonly partners?: PartnerDirectory;
}

export interface CommandPlan {
  /** The case the command is about; undefined for one about no case (a payer's documentation request). */
  readonly caseId: string | undefined;
  /** Creates and compare-and-set updates (`ifMatchVersion` = the version read). */
  readonly writes: readonly PlannedWrite[];
  /**
   * Places a refusal found in a written resource (scoring says `QuestionnaireResponse.item[3]`)
   * at the command's field the caller wrote (`answers[3]`).
   */
  readonly locate?: (err: FhirError) => FhirError;
  /** The writes record a referral status the receiving organisation reported (RequestContext.recordsForReferralOwner). */
  readonly recordsForReferralOwner?: boolean;
}

export interface CaseCommand<P> {
  readonly name: CommandName;
  readonly schema: JsonSchema;
  plan(input: PlanInput<P>): Promise<CommandPlan>;
  /**
   * Criteria the command resolves while planning (the identifier a new client is matched by): no
   * conditional write on the same criteria runs between its planning and its writing.
   */
  conditions?(services: FhirServices, payload: P): readonly SearchRequest[];
}

const MAX_ATTEMPTS = 3;

export async function runCommand<P extends { recordedBy?: string }>(
  services: FhirServices,
  ctx: RequestContext,
  command: CaseCommand<P>,
  request: CommandRequest,
): Promise<CommandResult> {
  const payload = validatePayload<P>(command.schema, request.body, command.name);
  const hash = commandHash(command.name, request.params, request.body);
  const prefix = idPrefix({ key: request.idempotencyKey, caller: ctx.caller.id, command: command.name });
  const ids = () => new IdFactory(prefix);
  const provenanceId = ids().provenanceId;
  if (request.idempotencyKey !== undefined) {
    const replay = await replayOf(services, { provenanceId, hash, command: command.name, params: request.params, key: request.idempotencyKey });
    if (replay) return replay;
  }
  await assertReferencesExist(services, command.schema, payload);
  const agent = payload.recordedBy ? ref(payload.recordedBy) : callerReference(ctx);
  const conditions = command.conditions?.(services, payload) ?? [];
  for (let attempt = 1; ; attempt++) {
    try {
      const { outcome } = await writeConditionally(services, conditions, async () => {
        const now = services.now();
        const plan = await command.plan({ services, ctx, payload, params: request.params, ids: ids(), now, agent, ...(request.partners ? { partners: request.partners } : {}) });
        const prepared = await preparedPlan(services, plan.recordsForReferralOwner ? { ...ctx, recordsForReferralOwner: true } : ctx, plan);
        const provenance = provenanceFor({ id: provenanceId, command: command.name, writes: unitWrites(prepared), now, agent, hash });
        const patients = patientsOf(services, unitWrites(prepared));
        prepared.push(await prepareWrite(services, ctx, created(provenance), patientsWritten(plan.writes)));
        return { prepared, outcome: { receipt: receiptOf(provenance, command.name, plan.caseId), patients } };
      });
      return { status: 201, replayed: false, ...outcome };
    } catch (err) {
      if (request.idempotencyKey !== undefined && err instanceof FhirError && err.status === 409) {
        // A concurrent run of the same command may have won the race for our ids.
        const replay = await replayOf(services, { provenanceId, hash, command: command.name, params: request.params, key: request.idempotencyKey });
        if (replay) return replay;
      }
      if (!(err instanceof FhirError && err.code === 'VERSION_CONFLICT') || attempt >= MAX_ATTEMPTS) {
        throw err instanceof FhirError && err.code === 'VERSION_CONFLICT'
          ? new FhirError('CONFLICT', 'The case changed while this command was being recorded; send it again', { cause: err })
          : err;
      }
    }
  }
}

/** The plan's writes through the write pipeline, in order; a refusal is placed at the command's field. */
async function preparedPlan(services: FhirServices, ctx: RequestContext, plan: CommandPlan): Promise<PreparedWrite[]> {
  const prepared: PreparedWrite[] = [];
  const patients = patientsWritten(plan.writes);
  for (const write of plan.writes) {
    try {
      prepared.push(await prepareWrite(services, ctx, write, patients));
    } catch (err) {
      throw err instanceof FhirError && plan.locate ? plan.locate(err) : err;
    }
  }
  return prepared;
}

async function replayOf(
  services: FhirServices,
  args: { provenanceId: string; hash: string; command: CommandName; params: Readonly<Record<string, string>>; key: string },
): Promise<CommandResult | undefined> {
  const stored = await readIfPresent(services.repo, 'Provenance', args.provenanceId);
  if (!stored) return undefined;
  const provenance = stored.resource as Provenance;
  if (storedHash(provenance) !== args.hash) {
    throw new FhirError('CONFLICT', `Idempotency-Key "${args.key}" was already used for a different ${args.command} command; use a new key for a new command`, {
      expression: ['Idempotency-Key'],
    });
  }
  const caseId = args.params.caseId ?? provenance.target.map((t) => localReference(t)).find((r) => r?.startsWith('EpisodeOfCare/'))?.slice('EpisodeOfCare/'.length);
  // A command about no case (a documentation request's decision) has none to name.
  // The patients it wrote to then: those it created or named (a replay reads no more than its Provenance).
  const patients = provenance.target.flatMap((t) => localReference(t) ?? []).filter((r) => r.startsWith('Patient/'));
  return { status: 200, replayed: true, receipt: receiptOf(provenance, args.command, caseId), patients };
}

/** `Patient/<id>` of every patient whose record the writes are in (their Patient compartments). */
function patientsOf(services: FhirServices, writes: readonly PlannedWrite[]): string[] {
  return [...new Set(writes.flatMap((w) => (w.kind === 'delete' ? [] : compartmentPatients(w.resource, services.registry))))];
}

/** The version each write will make: 1 for a create (or an update that creates), the next one for a compare-and-set. */
function writtenVersion(write: PlannedWrite): number {
  return write.kind === 'create' ? 1 : (write.ifMatchVersion ?? 0) + 1;
}

function provenanceFor(args: { id: string; command: CommandName; writes: readonly PlannedWrite[]; now: Date; agent: Reference<never>; hash: string }): Provenance & { id: string } {
  return {
    resourceType: 'Provenance',
    id: args.id,
    target: args.writes.map((w) => {
      const [type, id] = w.kind === 'delete' ? [w.resourceType, w.id] : [w.resource.resourceType, w.resource.id];
      return { reference: `${type}/${id}/_history/${writtenVersion(w)}` };
    }),
    recorded: args.now.toISOString(),
    activity: {
      coding: [coding(CASE_MANAGEMENT_SYSTEM, args.command, COMMANDS[args.command])],
      text: COMMANDS[args.command],
    },
    agent: [{ type: { coding: [coding(SYSTEMS.provenanceParticipant, 'author', 'Author')] }, who: args.agent } as ProvenanceAgent],
    entity: [
      {
        role: 'source',
        what: { identifier: { system: COMMAND_HASH_SYSTEM, value: args.hash }, display: `The ${args.command} command (SHA-256 of its parameters and body)` },
      },
    ],
  };
}

export function receiptOf(provenance: Provenance & { id?: string }, command: CommandName, caseId: string | undefined): CommandReceipt {
  return {
    command,
    ...(caseId !== undefined ? { case: `EpisodeOfCare/${caseId}` } : {}),
    provenance: `Provenance/${provenance.id}`,
    recorded: provenance.recorded,
    written: provenance.target.map((t) => {
      const [type, id, , versionId] = (t.reference ?? '').split('/');
      return { reference: `${type}/${id}`, versionId: versionId ?? '' };
    }),
  };
}

/** The authenticated caller, when no case manager is named: by identifier, since callers are not resources. */
function callerReference(ctx: RequestContext): Reference<never> {
  return { identifier: { system: `${CB}/sid/caller`, value: ctx.caller.id }, display: ctx.caller.display };
}

/** Resources a plan writes, by type, for handlers composing units. */
export function created(resource: Resource & { id: string }): PlannedWrite {
  return { kind: 'create', resource };
}

export function updated(resource: Resource & { id: string }, versionId: number): PlannedWrite {
  return { kind: 'update', resource, method: 'PUT', ifMatchVersion: versionId };
}
