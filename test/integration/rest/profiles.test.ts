// CaseBridge's profiles over HTTP: writes that claim a profile are checked against it on every
// write path (create, update, patch, transaction, $validate); the CapabilityStatement lists them;
// profiles/ is published through the API at start-up (idempotently); our search parameters work.
import type { Bundle, CapabilityStatement, OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import pino from 'pino';
import request from 'supertest';
import { loadConfig } from '../../../src/config/config';
import { seedConformanceResources } from '../../../src/conformance';
import { ERROR_CODE_SYSTEM } from '../../../src/fhir/outcomes';
import { buildFhirServices } from '../../../src/composition';
import { BASE_URL, FHIR_JSON, type TestApp, testApp } from '../../support/app';
import { CB, EXAMPLES, GOAL_RELATIONSHIP, profileUrl } from '../../support/profile-examples';
import { idsOf, search } from '../search/support';

type Json = Record<string, unknown>;

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.close();
});

const example = (profile: string, changes: Json = {}): Json => ({ ...(EXAMPLES[profile] as () => Json)(), ...changes });
const post = (type: string, body: unknown, headers: Record<string, string> = {}) => {
  let call = request(t.app).post(`/fhir/${type}`).set('Content-Type', FHIR_JSON);
  for (const [k, v] of Object.entries(headers)) call = call.set(k, v);
  return call.send(JSON.stringify(body));
};
const put = (path: string, body: unknown) => request(t.app).put(`/fhir/${path}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
const located = (outcome: OperationOutcome) => (outcome.issue ?? []).filter((i) => i.severity === 'error').map((i) => [i.code, i.expression?.[0]]);
const total = async (query: string) => ((await search(t, `${query}&_total=accurate&_count=0`)).body as Bundle).total;

/** A service plan with a detail activity: two profile failures. */
const inlinePlan = (subject: string) =>
  example('cb-service-plan', { subject: { reference: subject }, activity: [{ detail: { status: 'scheduled', description: 'Weekly CBT' } }] });

describe('a write that claims one of our profiles', () => {
  test('is refused with 422 and located issues when it violates the profile, and nothing is stored', async () => {
    const res = await post('CarePlan', inlinePlan('Patient/refused-create'));
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(located(res.body)).toEqual([
      ['invariant', 'CarePlan.activity[0]'],
      ['structure', 'CarePlan.activity[0].detail'],
    ]);
    for (const issue of res.body.issue as OperationOutcomeIssue[]) {
      expect(issue.details?.coding).toEqual([{ system: ERROR_CODE_SYSTEM, code: 'PROFILE_VIOLATION' }]);
      expect(issue.details?.text).toContain(`profile ${profileUrl('cb-service-plan')}`);
    }
    expect(await total('CarePlan?subject=Patient/refused-create')).toBe(0);
  });

  test('is created (201) when it conforms', async () => {
    const res = await post('CarePlan', example('cb-service-plan', { subject: { reference: 'Patient/conforming' } }));
    expect(res.status).toBe(201);
    expect(res.body.meta.profile).toEqual([profileUrl('cb-service-plan')]);
  });

  test.each(Object.keys(EXAMPLES))('%s: the valid example is created', async (profile) => {
    const resource = example(profile);
    const res = await post(resource.resourceType as string, resource);
    expect(res.status).toBe(201);
  });

  test('a structurally invalid resource is still a 400, whatever it claims', async () => {
    const res = await post('CarePlan', example('cb-service-plan', { status: 'not-a-status' }));
    expect(res.status).toBe(400);
    expect(res.body.issue.map((i: OperationOutcomeIssue) => i.details?.coding?.[0]?.code)).toEqual(['INVALID_RESOURCE']);
  });

  test('an unknown profile is accepted (201) with a warning that Prefer: return=OperationOutcome shows', async () => {
    const body = { resourceType: 'Patient', meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] }, gender: 'female' };
    const res = await post('Patient', body, { Prefer: 'return=OperationOutcome' });
    expect(res.status).toBe(201);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue).toEqual([expect.objectContaining({ severity: 'warning', code: 'not-supported', expression: ['Patient.meta.profile[0]'] })]);
  });

  test('an update that violates the profile is 422 and leaves the stored version as it was', async () => {
    const created = await post('Goal', example('cb-objective'));
    const id = created.body.id as string;
    const res = await put(`Goal/${id}`, { ...created.body, target: [{ dueDate: '2025-05-01' }] });
    expect(res.status).toBe(422);
    expect(located(res.body)).toEqual([['invariant', 'Goal.target[0]']]);
    const read = await request(t.app).get(`/fhir/Goal/${id}`);
    expect(read.body.meta.versionId).toBe('1');
  });

  test('a patch whose result violates the profile is 422 PROFILE_VIOLATION and changes nothing', async () => {
    const created = await post('Task', example('cb-referral-task'));
    const id = created.body.id as string;
    const res = await request(t.app)
      .patch(`/fhir/Task/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send([{ op: 'replace', path: '/status', value: 'ready' }]);
    expect(res.status).toBe(422);
    expect(res.body.issue).toEqual([expect.objectContaining({ code: 'value', expression: ['Task.status'], details: expect.objectContaining({ coding: [{ system: ERROR_CODE_SYSTEM, code: 'PROFILE_VIOLATION' }] }) })]);
    expect((await request(t.app).get(`/fhir/Task/${id}`)).body.status).toBe('requested');
  });

  test('a transaction with one violating entry is 422, located in the Bundle, and leaves no trace', async () => {
    const res = await post('', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:3c1f0a52-5b7e-4b57-9d0e-1a2b3c4d5e6f', resource: example('cb-client', { identifier: [{ system: 'urn:agency:clients', value: 'TX-1' }] }), request: { method: 'POST', url: 'Patient' } },
        { resource: inlinePlan('urn:uuid:3c1f0a52-5b7e-4b57-9d0e-1a2b3c4d5e6f'), request: { method: 'POST', url: 'CarePlan' } },
      ],
    });
    expect(res.status).toBe(422);
    expect(located(res.body)).toEqual([
      ['invariant', 'Bundle.entry[1].resource.activity[0]'],
      ['structure', 'Bundle.entry[1].resource.activity[0].detail'],
    ]);
    expect(await total('Patient?identifier=urn:agency:clients|TX-1')).toBe(0);
  });
});

describe('$validate', () => {
  test('reports the issues of the profiles the resource claims (200, OperationOutcome)', async () => {
    const res = await post('CarePlan/$validate', inlinePlan('Patient/validate'));
    expect(res.status).toBe(200);
    expect(located(res.body)).toEqual([
      ['invariant', 'CarePlan.activity[0]'],
      ['structure', 'CarePlan.activity[0].detail'],
    ]);
  });

  test('checks against the profile named by the profile parameter', async () => {
    const plan = example('cb-service-plan', { intent: 'order' });
    delete (plan as { meta?: unknown }).meta;
    const plain = await post('CarePlan/$validate', plan);
    expect(located(plain.body)).toEqual([]);
    const res = await post('CarePlan/$validate', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: plan },
        { name: 'profile', valueUri: profileUrl('cb-service-plan') },
      ],
    });
    expect(res.status).toBe(200);
    expect(located(res.body)).toEqual([['value', 'CarePlan.intent']]);
    const query = await post(`CarePlan/$validate?profile=${encodeURIComponent(profileUrl('cb-service-plan'))}`, plan);
    expect(located(query.body)).toEqual([['value', 'CarePlan.intent']]);
  });

  test('a profile parameter this server does not know is a 400', async () => {
    const res = await post('Patient/$validate?profile=http://example.org/StructureDefinition/unknown', { resourceType: 'Patient' });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['profile']);
  });
});

describe('the CapabilityStatement', () => {
  test('lists our profiles as supportedProfile on their resource types', async () => {
    const statement = (await request(t.app).get('/fhir/metadata')).body as CapabilityStatement;
    const of = (type: string) => statement.rest?.[0]?.resource?.find((r) => r.type === type);
    expect(of('CarePlan')?.supportedProfile).toEqual([profileUrl('cb-service-plan')]);
    expect(of('Goal')?.supportedProfile).toEqual([profileUrl('cb-goal'), profileUrl('cb-objective')]);
    expect(of('ServiceRequest')?.supportedProfile).toEqual([profileUrl('cb-planned-intervention'), profileUrl('cb-referral')]);
    expect(of('Patient')?.supportedProfile).toEqual([profileUrl('cb-client')]);
    expect(of('Practitioner')?.supportedProfile).toBeUndefined();
    const supported = statement.rest?.[0]?.resource?.flatMap((r) => r.supportedProfile ?? []) ?? [];
    expect(supported).toHaveLength(15);
  });

  test('lists our search parameters, and their includes', async () => {
    const statement = (await request(t.app).get('/fhir/metadata')).body as CapabilityStatement;
    const goal = statement.rest?.[0]?.resource?.find((r) => r.type === 'Goal');
    expect(goal?.searchParam).toContainEqual(expect.objectContaining({ name: 'milestone', type: 'reference', definition: `${CB}/SearchParameter/goal-milestone` }));
    expect(goal?.searchInclude).toContain('Goal:milestone');
    expect(goal?.searchRevInclude).toContain('Goal:milestone');
  });
});

describe('profiles/ published through the API', () => {
  test.each([
    ['StructureDefinition', profileUrl('cb-service-plan')],
    ['Questionnaire', `${CB}/Questionnaire/phq-9`],
    ['CodeSystem', `${CB}/CodeSystem/case-management`],
    ['ValueSet', `${CB}/ValueSet/contact-type`],
    ['SearchParameter', `${CB}/SearchParameter/goal-milestone`],
  ])('%s?url=%s finds it', async (type, url) => {
    const res = await search(t, `${type}?url=${encodeURIComponent(url)}`);
    expect(res.status).toBe(200);
    expect((res.body as Bundle).entry?.map((e) => (e.resource as { url?: string }).url)).toEqual([url]);
  });

  test('the PHQ-9 Questionnaire has its nine LOINC items, scored answers and the total', async () => {
    const q = (await request(t.app).get('/fhir/Questionnaire/phq-9')).body;
    expect(q.code).toEqual([{ system: 'http://loinc.org', code: '44249-1', display: 'PHQ-9 quick depression assessment panel [Reported.PHQ]' }]);
    expect(q.item.map((i: { linkId: string }) => i.linkId)).toEqual(['44250-9', '44255-8', '44259-0', '44254-1', '44251-7', '44258-2', '44252-5', '44253-3', '44260-8', '44261-6']);
    expect(q.item[8].answerOption.map((o: { extension: { valueDecimal: number }[]; valueCoding: { code: string } }) => [o.valueCoding.code, o.extension[0]?.valueDecimal])).toEqual([
      ['LA6568-5', 0],
      ['LA6569-3', 1],
      ['LA6570-1', 2],
      ['LA6571-9', 3],
    ]);
  });

  test('a second start-up writes nothing; a stored definition changed through the API is restored', async () => {
    const before = (await request(t.app).get('/fhir/StructureDefinition/cb-client')).body;
    expect(before.meta.versionId).toBe('1');
    await put('StructureDefinition/cb-client', { ...before, description: 'Edited by someone' });
    const config = loadConfig({ BASE_URL, LOG_LEVEL: 'silent' });
    await buildFhirServices({ config, connection: t.database.connection, logger: pino({ level: 'silent' }) });
    const after = (await request(t.app).get('/fhir/StructureDefinition/cb-client')).body;
    expect(after.meta.versionId).toBe('3');
    expect(after.description).toBe(before.description);
    const questionnaire = (await request(t.app).get('/fhir/Questionnaire/gad-7')).body;
    expect(questionnaire.meta.versionId).toBe('1');
  });
  test('a url stored twice is left alone; an id another resource holds gives a new id', async () => {
    expect((await post('Questionnaire', { resourceType: 'Questionnaire', status: 'draft', url: `${CB}/Questionnaire/phq-2` })).status).toBe(201);
    const valueSet = t.services.profiles.resources.find((r) => r.resourceType === 'ValueSet' && r.id === 'contact-type') as unknown as Json;
    const renamed = { ...valueSet, url: `${CB}/ValueSet/contact-type-2` };
    const phq2 = t.services.profiles.questionnaire(`${CB}/Questionnaire/phq-2`);
    const report = await seedConformanceResources({
      repo: t.services.repo,
      registry: t.services.registry,
      resources: [phq2 as never, renamed as never],
      logger: pino({ level: 'silent' }),
    });
    expect(report).toEqual({ created: [`ValueSet/contact-type (${CB}/ValueSet/contact-type-2)`], updated: [], unchanged: [], ambiguous: [`Questionnaire/phq-2 (${CB}/Questionnaire/phq-2)`] });
    expect((await request(t.app).get('/fhir/ValueSet/contact-type')).body.url).toBe(`${CB}/ValueSet/contact-type`);
    const copy = (await search(t, `ValueSet?url=${encodeURIComponent(`${CB}/ValueSet/contact-type-2`)}`)).body as Bundle;
    expect(copy.entry?.[0]?.resource?.id).not.toBe('contact-type');
  });
});

describe('our search parameters', () => {
  beforeAll(async () => {
    const milestone = (target: string, type = 'milestone') => ({
      url: GOAL_RELATIONSHIP,
      extension: [
        { url: 'type', valueCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/goal-relationship-type', code: type }] } },
        { url: 'target', valueReference: { reference: target } },
      ],
    });
    const puts: [string, Json][] = [
      ['Patient/sp-client', example('cb-client', { id: 'sp-client' })],
      ['CareTeam/sp-team', { resourceType: 'CareTeam', id: 'sp-team', status: 'active', subject: { reference: 'Patient/sp-client' } }],
      ['EpisodeOfCare/sp-case', example('cb-case', { id: 'sp-case', patient: { reference: 'Patient/sp-client' }, team: [{ reference: 'CareTeam/sp-team' }] })],
      ['Goal/sp-objective', example('cb-objective', { id: 'sp-objective', subject: { reference: 'Patient/sp-client' } })],
      ['Flag/sp-hazard', example('cb-risk-flag', { id: 'sp-hazard', subject: { reference: 'Patient/sp-client' } })],
      ['Flag/sp-old', example('cb-risk-flag', { id: 'sp-old', status: 'inactive', subject: { reference: 'Patient/sp-client' } })],
      ['Goal/sp-goal', example('cb-goal', { id: 'sp-goal', subject: { reference: 'Patient/sp-client' }, extension: [milestone('Goal/sp-objective')] })],
      ['Goal/sp-next', example('cb-goal', { id: 'sp-next', subject: { reference: 'Patient/sp-client' }, extension: [milestone('Goal/sp-objective', 'predecessor')] })],
      [
        'ServiceRequest/sp-intervention',
        example('cb-planned-intervention', {
          id: 'sp-intervention',
          subject: { reference: 'Patient/sp-client' },
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare', valueReference: { reference: 'EpisodeOfCare/sp-case' } },
            { url: 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal', valueReference: { reference: 'Goal/sp-objective' } },
          ],
        }),
      ],
      [
        'CarePlan/sp-plan',
        example('cb-service-plan', {
          id: 'sp-plan',
          subject: { reference: 'Patient/sp-client' },
          extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare', valueReference: { reference: 'EpisodeOfCare/sp-case' } }],
          goal: [{ reference: 'Goal/sp-goal' }, { reference: 'Goal/sp-objective' }],
          activity: [{ reference: { reference: 'ServiceRequest/sp-intervention' } }],
        }),
      ],
    ];
    for (const [path, body] of puts) {
      const res = await put(path, body);
      expect([res.status, res.body.issue]).toEqual([201, undefined]);
    }
  });

  test.each([
    ['the parent of an objective', 'Goal?milestone=Goal/sp-objective', ['Goal/sp-goal'], []],
    ['a goal with its objectives', 'Goal?_id=sp-goal&_include=Goal:milestone', ['Goal/sp-goal'], ['Goal/sp-objective']],
    ['an objective with its parent', 'Goal?_id=sp-objective&_revinclude=Goal:milestone', ['Goal/sp-objective'], ['Goal/sp-goal']],
    ['the plan of a case', 'CarePlan?episode-of-care=EpisodeOfCare/sp-case', ['CarePlan/sp-plan'], []],
    ['the services of a case', 'ServiceRequest?episode-of-care=sp-case', ['ServiceRequest/sp-intervention'], []],
    ['the services serving an objective', 'ServiceRequest?pertains-to-goal=Goal/sp-objective', ['ServiceRequest/sp-intervention'], []],
    ['the active safety flags of a client', 'Flag?patient=sp-client&status=active&category=safety', ['Flag/sp-hazard'], []],
    ['the inactive flags', 'Flag?patient=sp-client&status=inactive', ['Flag/sp-old'], []],
    ['a case by its team, with the team', 'EpisodeOfCare?team=CareTeam/sp-team&_include=EpisodeOfCare:team', ['EpisodeOfCare/sp-case'], ['CareTeam/sp-team']],
    [
      'the US Core care-plan query',
      'CarePlan?patient=sp-client&category=assess-plan&status=active&_include=CarePlan:goal',
      ['CarePlan/sp-plan'],
      ['Goal/sp-goal', 'Goal/sp-objective'],
    ],
  ])('%s: %s', async (_what, query, matches, included) => {
    const res = await search(t, query, { Prefer: 'handling=strict' });
    expect(res.status).toBe(200);
    expect(idsOf(res.body)).toEqual(matches);
    expect(idsOf(res.body, 'include')).toEqual(included);
  });
});
