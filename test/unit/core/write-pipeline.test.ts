/**
 * The write pipeline's stages that do not touch the store: prepare, authorize, validate, derive,
 * and how a unit's results are answered. Applying writes is tested against the database through
 * the FHIR and case APIs (test/integration).
 */
import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import pino from 'pino';
import type { AccessPolicy } from '../../../src/auth/caller';
import type { RequestContext } from '../../../src/core/context';
import type { Derivation, FhirServices, WriteRule } from '../../../src/core/services';
import { askedResults, checkWrite, derive, prepareWrite, unitWrites } from '../../../src/core/write-pipeline';
import { FhirError } from '../../../src/fhir/outcomes';
import type { PlannedWrite, WriteResult } from '../../../src/store/repository';
import { refusal } from '../../support/errors';
import { clientCaller } from '../../support/callers';

const ctx: RequestContext = { requestId: 'r1', caller: clientCaller({ id: 'c', display: 'C' }), log: pino({ level: 'silent' }), prefer: {} };

function servicesWith(options: { allows?: AccessPolicy['allows']; derivations?: Derivation[]; rules?: WriteRule[]; part2Programs?: string[] } = {}) {
  const asked: string[] = [];
  const access: AccessPolicy = {
    allows: (caller, request) => {
      asked.push(`${request.interaction} ${request.resourceType}`);
      return options.allows ? options.allows(caller, request) : true;
    },
    storeAccess: async () => ({}),
  };
  const settings = { part2Programs: new Set(options.part2Programs ?? []) };
  return { services: { access, settings, derivations: options.derivations ?? [], rules: options.rules ?? [] } as unknown as FhirServices, asked };
}

const patient = (extra: Partial<Patient> = {}): Patient & { id: string } => ({ resourceType: 'Patient', id: 'p1', ...extra });

describe('prepare', () => {
  test('drops meta.versionId and meta.lastUpdated (the server sets them) and keeps the rest of meta', () => {
    const { services } = servicesWith();
    const meta = { versionId: '7', lastUpdated: '2020-01-01T00:00:00Z', security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] };
    const { write } = checkWrite(services, ctx, { kind: 'create', resource: patient({ meta }) });
    expect((write as { resource: Resource }).resource.meta).toEqual({ security: meta.security });
  });

  test('a meta holding only server-managed fields disappears', () => {
    const { services } = servicesWith();
    const { write } = checkWrite(services, ctx, { kind: 'update', method: 'PUT', resource: patient({ meta: { versionId: '2' } }) });
    expect('meta' in (write as { resource: Resource }).resource).toBe(false);
  });

  test('an id that is not a FHIR id is 400 INVALID_ID', async () => {
    const { services } = servicesWith();
    expect((await refusal(() => checkWrite(services, ctx, { kind: 'delete', resourceType: 'Patient', id: 'bad id!' }))).code).toBe('INVALID_ID');
  });
});

describe('labels the rules require', () => {
  const programme = { ...ctx, caller: { ...ctx.caller, organization: 'Organization/clearwater' } };
  const labels = (write: PlannedWrite) => ((write as { resource: Resource }).resource.meta?.security ?? []).map((c) => c.code);

  test("what a 42 CFR Part 2 programme writes in a patient's record is labelled Part 2 and restricted", () => {
    const { services } = servicesWith({ part2Programs: ['Organization/clearwater'] });
    const observation: Observation & { id: string } = { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' } };
    expect(labels(checkWrite(services, programme, { kind: 'create', resource: observation }).write)).toEqual(['R', '42CFRPart2']);
    expect(labels(checkWrite(services, programme, { kind: 'create', resource: patient() }).write)).toEqual(['R', '42CFRPart2']);
  });

  test('a label already there is not added twice; directories and other writers are left alone', () => {
    const { services } = servicesWith({ part2Programs: ['Organization/clearwater'] });
    const labelledPatient = patient({ meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: '42CFRPart2' }] } });
    expect(labels(checkWrite(services, programme, { kind: 'create', resource: labelledPatient }).write)).toEqual(['42CFRPart2', 'R']);
    expect(labels(checkWrite(services, programme, { kind: 'create', resource: { resourceType: 'Organization', id: 'o', name: 'x' } }).write)).toEqual([]);
    expect(labels(checkWrite(services, ctx, { kind: 'create', resource: patient() }).write)).toEqual([]);
  });
});

describe('authorize', () => {
  test.each([
    [{ kind: 'create', resource: patient() }, 'create Patient'],
    [{ kind: 'update', method: 'PUT', resource: patient() }, 'update Patient'],
    [{ kind: 'update', method: 'PATCH', resource: patient() }, 'patch Patient'],
    [{ kind: 'delete', resourceType: 'Patient', id: 'p1' }, 'delete Patient'],
  ] as [PlannedWrite, string][])('asks the access policy for the interaction the write is (%j)', (write, expected) => {
    const { services, asked } = servicesWith();
    checkWrite(services, ctx, write);
    expect(asked).toEqual([expected]);
  });

  test('a refused write is 403 before it is validated: an invalid resource the caller may not write says nothing of its faults', async () => {
    const { services } = servicesWith({ allows: () => false });
    const error = await refusal(() => checkWrite(services, ctx, { kind: 'create', resource: patient({ gender: 'x' as Patient['gender'] }) }));
    expect(error.code).toBe('FORBIDDEN');
  });
});

describe('validate', () => {
  test('an invalid resource is 400 INVALID_RESOURCE with located issues', async () => {
    const { services } = servicesWith();
    const error = await refusal(() => checkWrite(services, ctx, { kind: 'create', resource: patient({ gender: 'x' as Patient['gender'] }) }));
    expect(error.code).toBe('INVALID_RESOURCE');
    expect(error.outcome.issue.flatMap((i) => i.expression ?? [])).toContain('Patient.gender');
  });

  test('a patch that leaves an invalid resource failed as a patch: 422 PATCH_FAILED with the same issues', async () => {
    const { services } = servicesWith();
    const error = await refusal(() => checkWrite(services, ctx, { kind: 'update', method: 'PATCH', resource: patient({ gender: 'x' as Patient['gender'] }) }));
    expect(error.code).toBe('PATCH_FAILED');
    expect(error.outcome.issue.flatMap((i) => i.expression ?? [])).toContain('Patient.gender');
  });

  test('a patched resource that breaks a profile it claims is a profile violation, as for any write', async () => {
    const { services } = servicesWith();
    const claiming = patient({ meta: { profile: ['http://casebridge.org/fhir/StructureDefinition/cb-client'] } });
    const error = await refusal(() => checkWrite(services, ctx, { kind: 'update', method: 'PATCH', resource: claiming }));
    expect(error.code).toBe('PROFILE_VIOLATION');
  });

  test('a valid write keeps its warnings for the answer', () => {
    const { services } = servicesWith();
    const { warnings } = checkWrite(services, ctx, { kind: 'create', resource: patient({ meta: { profile: ['http://example.org/unknown-profile'] } }) });
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.every((w) => w.severity !== 'error')).toBe(true);
  });
});

describe('derive', () => {
  const observation = (id: string): Observation & { id: string } => ({ resourceType: 'Observation', id, status: 'final', code: { text: id } });
  const follows = (type: string, ids: string[]): Derivation => ({
    resourceTypes: [type],
    derive: async () => ids.map((id): PlannedWrite => ({ kind: 'create', resource: observation(id) })),
  });

  test('every derivation of the written type adds its writes, in registration order; others are not asked', async () => {
    const { services } = servicesWith({ derivations: [follows('Patient', ['a', 'b']), follows('Goal', ['x']), follows('Patient', ['c'])] });
    const prepared = await prepareWrite(services, ctx, { kind: 'create', resource: patient() });
    expect(prepared.derived.map((w) => (w as { resource: Resource }).resource.id)).toEqual(['a', 'b', 'c']);
  });

  test('a delete derives nothing', async () => {
    const { services } = servicesWith({ derivations: [follows('Patient', ['a'])] });
    const prepared = await derive(services, ctx, checkWrite(services, ctx, { kind: 'delete', resourceType: 'Patient', id: 'p1' }));
    expect(prepared.derived).toEqual([]);
  });

  test('the rules of the written type are checked with the caller before deriving; a refusal stops the write', async () => {
    const checked: string[] = [];
    const rule = (type: string, refuse: boolean): WriteRule => ({
      resourceTypes: [type],
      check: async (_services, context, write) => {
        checked.push(`${type} ${context.caller.id} ${write.kind}`);
        if (refuse) throw new FhirError('BUSINESS_RULE', 'not now');
      },
    });
    const { services } = servicesWith({ rules: [rule('Patient', false), rule('Goal', true)], derivations: [follows('Patient', ['a'])] });
    expect((await prepareWrite(services, ctx, { kind: 'create', resource: patient() })).derived).toHaveLength(1);
    expect(checked).toEqual(['Patient c create']);
    const refusingServices = servicesWith({ rules: [rule('Patient', true)], derivations: [follows('Patient', ['a'])] }).services;
    expect((await refusal(() => prepareWrite(refusingServices, ctx, { kind: 'create', resource: patient() }))).code).toBe('BUSINESS_RULE');
  });

  test("a derivation's refusal refuses the write", async () => {
    const refusing: Derivation = { resourceTypes: ['Patient'], derive: async () => Promise.reject(new FhirError('BUSINESS_RULE', 'cannot score')) };
    const { services } = servicesWith({ derivations: [refusing] });
    expect((await refusal(() => prepareWrite(services, ctx, { kind: 'create', resource: patient() }))).code).toBe('BUSINESS_RULE');
  });
});

describe('a unit', () => {
  const p = (id: string, derived: string[]) => ({
    write: { kind: 'create', resource: patient({ id }) } as PlannedWrite,
    warnings: [],
    derived: derived.map((d): PlannedWrite => ({ kind: 'delete', resourceType: 'Flag', id: d })),
  });
  const result = (id: string): WriteResult => ({ created: true, version: { resourceType: 'X', id, versionId: 1, lastUpdated: new Date(0), method: 'POST' } });

  test('writes each asked-for write followed by what derives from it', () => {
    const writes = unitWrites([p('a', ['a1', 'a2']), p('b', []), p('c', ['c1'])]);
    expect(writes.map((w) => (w.kind === 'delete' ? w.id : w.resource.id))).toEqual(['a', 'a1', 'a2', 'b', 'c', 'c1']);
  });

  test('answers one result per asked-for write, leaving out the derived ones', () => {
    const results = ['a', 'a1', 'a2', 'b', 'c', 'c1'].map(result);
    expect(askedResults([p('a', ['a1', 'a2']), p('b', []), p('c', ['c1'])], results).map((r) => r.version.id)).toEqual(['a', 'b', 'c']);
  });
});
