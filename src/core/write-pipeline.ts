/**
 * The one way anything is written. The FHIR API, transaction Bundles and the case API hand it
 * the writes they mean to make, and each write goes through the same stages:
 *
 *   prepare    server-managed meta dropped (meta.versionId, meta.lastUpdated), id checked, the
 *              security labels rules require added (a 42 CFR Part 2 programme's records);
 *   authorize  the caller may make this write (auth/authorize), about patients whose record it
 *              may write to (auth/access-scope assertMayWrite);
 *   validate   R4 and the profiles it claims (fhir/validation); warnings are kept for the answer;
 *   rules      the business rules of its type (FhirServices.rules: who may move a referral where);
 *   derive     the writes that must land with it (the Derivations registered at composition);
 *   apply      one write alone, or a unit's writes all or nothing (the store).
 *
 * Derived writes are the server's consequences of the caller's write: they are not authorized
 * as the caller's, and the derivation that makes them answers for their validity.
 * Conditional writes plan and apply inside the store's conditional scope (writeConditionally),
 * so two identical conditional creates cannot both create.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { AccessRequest } from '../auth/caller';
import { assertMayWrite } from '../auth/access-scope';
import { authorize } from '../auth/authorize';
import { requiredLabels } from '../auth/labels';
import { patientCompartment } from '../fhir/compartments';
import { FhirError } from '../fhir/outcomes';
import { assertId, withoutServerMeta } from '../fhir/resource-body';
import { assertValid } from '../fhir/validation';
import { compartmentPatients } from '../search/compartment';
import type { SearchRequest } from '../search/request';
import type { PlannedWrite, WriteResult } from '../store/repository';
import type { RequestContext } from './context';
import type { FhirServices } from './services';

/** A write prepared, authorized and validated: what the caller asked for, ready to derive from. */
export interface CheckedWrite {
  readonly write: PlannedWrite;
  readonly warnings: readonly OperationOutcomeIssue[];
}

/** A checked write with the writes that must land with it. */
export interface PreparedWrite extends CheckedWrite {
  readonly derived: readonly PlannedWrite[];
}

/**
 * prepare → authorize → validate. Throws the first stage's refusal; writes nothing.
 * `unitPatients`: the Patients written in the same unit (`Patient/<id>`), which it may refer to.
 */
export function checkWrite(services: FhirServices, ctx: RequestContext, asked: PlannedWrite, unitPatients: ReadonlySet<string> = patientsWritten([asked])): CheckedWrite {
  const write = labelled(services, ctx, prepare(asked));
  authorize(services.access, ctx.caller, accessFor(write));
  if (services.storeAccess?.scope && write.kind !== 'delete') {
    const patients = compartmentPatients(write.resource, services.registry);
    assertMayWrite(services.storeAccess, { resourceType: write.resource.resourceType, patients }, unitPatients);
  }
  return { write, warnings: write.kind === 'delete' ? [] : validate(write) };
}

/** `Patient/<id>` of each Patient a unit creates or updates (an update of one the caller may not see fails in the store). */
export function patientsWritten(unit: readonly PlannedWrite[]): Set<string> {
  return new Set(unit.flatMap((w) => (w.kind !== 'delete' && w.resource.resourceType === 'Patient' ? [`Patient/${w.resource.id}`] : [])));
}

/**
 * The business rules (FhirServices.rules: a referral's state machine), then derive: what the
 * registered derivations make of a checked write.
 */
export async function derive(services: FhirServices, ctx: RequestContext, checked: CheckedWrite): Promise<PreparedWrite> {
  const { write } = checked;
  if (write.kind === 'delete') return { ...checked, derived: [] };
  for (const rule of services.rules ?? []) {
    if (rule.resourceTypes.includes(write.resource.resourceType)) await rule.check(services, ctx, write);
  }
  return { ...checked, derived: await derivedWrites(services, write.resource) };
}

/** What every registered derivation makes of `resource`, in registration order. */
export async function derivedWrites(services: FhirServices, resource: Resource & { id: string }): Promise<PlannedWrite[]> {
  const writes: PlannedWrite[] = [];
  for (const derivation of services.derivations) {
    if (derivation.resourceTypes.includes(resource.resourceType)) {
      writes.push(...(await derivation.derive(services, resource)));
    }
  }
  return writes;
}

/** Every stage but apply. */
export async function prepareWrite(services: FhirServices, ctx: RequestContext, write: PlannedWrite, unitPatients?: ReadonlySet<string>): Promise<PreparedWrite> {
  return derive(services, ctx, checkWrite(services, ctx, write, unitPatients));
}

/** Every write of a unit in order: each asked-for write followed by what derives from it. */
export function unitWrites(prepared: readonly PreparedWrite[]): PlannedWrite[] {
  return prepared.flatMap((p) => [p.write, ...p.derived]);
}

/** apply: the writes of `prepared` as one unit. Answers one result per asked-for write. */
export async function applyWrites(services: FhirServices, prepared: readonly PreparedWrite[]): Promise<WriteResult[]> {
  const writes = unitWrites(prepared);
  const results = await services.repo.apply(writes);
  applied(services, writes);
  return askedResults(prepared, results);
}

/** Tells the access policy what was written (a new case, a revoked consent change what callers see). */
function applied(services: FhirServices, writes: readonly PlannedWrite[]): void {
  services.access.written?.([...new Set(writes.map((w) => (w.kind === 'delete' ? w.resourceType : w.resource.resourceType)))]);
}

/** Every stage for one write; answers for that write. */
export async function writeOne(services: FhirServices, ctx: RequestContext, write: PlannedWrite): Promise<{ result: WriteResult; warnings: readonly OperationOutcomeIssue[] }> {
  const prepared = await prepareWrite(services, ctx, write);
  const [result] = await applyWrites(services, [prepared]);
  return { result: result as WriteResult, warnings: prepared.warnings };
}

/**
 * A write that depends on what criteria match: `plan` resolves the conditions and prepares the
 * writes (possibly none), and they are applied, with no other conditional write on an
 * equivalent condition in between. Answers one result per asked-for write.
 */
export async function writeConditionally<T>(
  services: FhirServices,
  conditions: readonly SearchRequest[],
  plan: () => Promise<{ readonly prepared: readonly PreparedWrite[]; readonly outcome: T }>,
): Promise<{ results: WriteResult[]; outcome: T }> {
  let prepared: readonly PreparedWrite[] = [];
  const { results, outcome } = await services.repo.writeConditionally(conditions, async () => {
    const planned = await plan();
    prepared = planned.prepared;
    return { writes: unitWrites(prepared), outcome: planned.outcome };
  });
  applied(services, unitWrites(prepared));
  return { results: results.length === 0 ? [] : askedResults(prepared, results), outcome };
}

function prepare(write: PlannedWrite): PlannedWrite {
  if (write.kind === 'delete') {
    assertId(write.resourceType, write.id);
    return write;
  }
  assertId(write.resource.resourceType, write.resource.id);
  return { ...write, resource: withoutServerMeta(write.resource) };
}

/** The labels rules require (auth/labels.ts requiredLabels): a Part 2 programme's records are Part 2 data. */
function labelled(services: FhirServices, ctx: RequestContext, write: PlannedWrite): PlannedWrite {
  if (write.kind === 'delete' || services.settings.part2Programs.size === 0) return write;
  const { resource } = write;
  const present = resource.meta?.security ?? [];
  const missing = requiredLabels({
    resourceType: resource.resourceType,
    inPatientRecord: patientCompartment().has(resource.resourceType),
    writer: ctx.caller.organization,
    part2Programs: services.settings.part2Programs,
    present,
  });
  return missing.length === 0 ? write : { ...write, resource: { ...resource, meta: { ...resource.meta, security: [...present, ...missing] } } };
}

function accessFor(write: PlannedWrite): AccessRequest {
  switch (write.kind) {
    case 'create':
      return { interaction: 'create', resourceType: write.resource.resourceType };
    case 'update':
      return { interaction: write.method === 'PATCH' ? 'patch' : 'update', resourceType: write.resource.resourceType };
    case 'delete':
      return { interaction: 'delete', resourceType: write.resourceType };
  }
}

/** A patch that leaves an invalid resource failed as a patch (422), unless it breaks a profile the resource claims. */
function validate(write: PlannedWrite & { kind: 'create' | 'update' }): OperationOutcomeIssue[] {
  try {
    return assertValid(write.resource, write.resource.resourceType);
  } catch (err) {
    if (write.kind === 'update' && write.method === 'PATCH' && err instanceof FhirError && err.code !== 'PROFILE_VIOLATION') {
      throw new FhirError('PATCH_FAILED', 'The patched resource is not valid', { issues: err.outcome.issue });
    }
    throw err;
  }
}

/** The results of the asked-for writes, leaving out those of derived writes. */
export function askedResults(prepared: readonly PreparedWrite[], results: readonly WriteResult[]): WriteResult[] {
  const asked: WriteResult[] = [];
  let next = 0;
  for (const p of prepared) {
    asked.push(results[next] as WriteResult);
    next += 1 + p.derived.length;
  }
  return asked;
}
