import type { CapabilityStatement } from '@medplum/fhirtypes';
import request from 'supertest';
import { validateResource } from '../../../src/fhir/validation';
import { R4_RESOURCE_TYPES } from '../../../src/fhir/definitions';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';

let t: TestApp;
let statement: CapabilityStatement;
beforeAll(async () => {
  t = await testApp();
  statement = (await request(t.app).get('/fhir/metadata')).body as CapabilityStatement;
});
afterAll(async () => {
  await t.close();
});

const INSTANCE_AND_TYPE = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'];

describe('CapabilityStatement', () => {
  test('GET /metadata answers a FHIR 4.0.1 server CapabilityStatement in JSON', async () => {
    const res = await request(t.app).get('/fhir/metadata');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(statement).toMatchObject({ resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1' });
    expect(statement.format).toEqual(expect.arrayContaining(['application/fhir+json', 'json']));
    expect(statement.format).not.toContain('xml');
    expect(statement.patchFormat).toEqual(['application/json-patch+json', 'application/fhir+json']);
  });

  test('its markdown holds no HTML-like placeholders (validators read <id> as HTML)', () => {
    const documentation = JSON.stringify(statement).match(/"documentation":"[^"]*"/g) ?? [];
    expect(documentation.filter((d) => /<[a-z]/i.test(d))).toEqual([]);
  });

  test('is itself a valid R4 CapabilityStatement', () => {
    expect(statement.name).toMatch(/^[A-Z][A-Za-z0-9_]*$/);
    expect(validateResource(statement).filter((issue) => issue.severity === 'error' || issue.severity === 'fatal')).toEqual([]);
  });

  test('lists every R4 resource type once, each with the interactions the router implements', () => {
    const resources = statement.rest?.[0]?.resource ?? [];
    expect(resources.map((r) => r.type).sort()).toEqual([...R4_RESOURCE_TYPES].sort());
    for (const resource of resources.filter((r) => r.type !== 'AuditEvent')) {
      expect(resource.interaction?.map((i) => i.code)).toEqual(INSTANCE_AND_TYPE);
      expect(resource.versioning).toBe('versioned-update');
      expect(resource.conditionalDelete).toBe('multiple');
    }
    // AuditEvents are CaseBridge's own record: read and searched (by auditors), never written by clients.
    const audit = resources.find((r) => r.type === 'AuditEvent');
    expect(audit?.interaction?.map((i) => i.code)).toEqual(['read', 'vread', 'history-instance', 'history-type', 'search-type']);
    expect([audit?.conditionalCreate, audit?.conditionalUpdate, audit?.conditionalDelete, audit?.updateCreate]).toEqual([undefined, undefined, undefined, undefined]);
    expect(statement.rest?.[0]?.interaction?.map((i) => i.code).sort()).toEqual(['batch', 'history-system', 'search-system', 'transaction']);
  });

  test('lists the search parameters, includes and revincludes each type supports', () => {
    const carePlan = statement.rest?.[0]?.resource?.find((r) => r.type === 'CarePlan');
    const names = carePlan?.searchParam?.map((p) => p.name) ?? [];
    expect(names).toEqual(expect.arrayContaining(['patient', 'category', 'status', 'date', 'goal', 'care-team', '_id', '_lastUpdated']));
    expect(carePlan?.searchParam?.find((p) => p.name === 'date')).toMatchObject({ type: 'date', definition: 'http://hl7.org/fhir/SearchParameter/clinical-date' });
    expect(carePlan?.searchInclude).toEqual(expect.arrayContaining(['CarePlan:goal', 'CarePlan:care-team', 'CarePlan:subject']));
    const patient = statement.rest?.[0]?.resource?.find((r) => r.type === 'Patient');
    expect(patient?.searchRevInclude).toEqual(expect.arrayContaining(['CarePlan:subject', 'Observation:subject', 'Provenance:target']));
  });

  test('declares $validate on every type and the Patient compartment', () => {
    for (const resource of statement.rest?.[0]?.resource ?? []) {
      expect(resource.operation).toContainEqual({ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' });
    }
    expect(statement.rest?.[0]?.compartment).toEqual(['http://hl7.org/fhir/CompartmentDefinition/patient']);
  });

  test.each(['Questionnaire', 'Consent', 'Flag', 'Task'])('every declared interaction answers on %s', async (type) => {
    const created = await request(t.app).post(`/fhir/${type}`).set('Content-Type', FHIR_JSON).send(minimal(type));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await request(t.app).get(`/fhir/${type}/${id}`)).status).toBe(200);
    expect((await request(t.app).get(`/fhir/${type}/${id}/_history/1`)).status).toBe(200);
    expect((await request(t.app).put(`/fhir/${type}/${id}`).set('Content-Type', FHIR_JSON).send({ ...minimal(type), id })).status).toBe(200);
    const patched = await request(t.app)
      .patch(`/fhir/${type}/${id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'add', path: '/language', value: 'fr' }]));
    expect(patched.status).toBe(200);
    expect((await request(t.app).get(`/fhir/${type}/${id}/_history`)).body.entry).toHaveLength(3);
    expect((await request(t.app).get(`/fhir/${type}/_history`)).status).toBe(200);
    expect((await request(t.app).get(`/fhir/${type}?_id=${id}`)).body.total).toBe(1);
    expect((await request(t.app).delete(`/fhir/${type}/${id}`)).status).toBe(200);
  });

  test('HEAD answers the headers without a body', async () => {
    const res = await request(t.app).head('/fhir/metadata');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(res.text ?? '').toBe('');
  });
});

describe('$validate', () => {
  test('a valid resource gets 200 and an informational outcome', async () => {
    const res = await request(t.app).post('/fhir/Patient/$validate').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', gender: 'female' });
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue).toEqual([expect.objectContaining({ severity: 'information' })]);
  });

  test('an invalid resource gets 200 with each error located, and nothing is stored', async () => {
    const res = await request(t.app)
      .post('/fhir/Patient/$validate')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', gender: 'x', birthDate: '2023-02-29' });
    expect(res.status).toBe(200);
    const expressions = res.body.issue.filter((i: { severity: string }) => i.severity === 'error').flatMap((i: { expression: string[] }) => i.expression);
    expect(expressions).toEqual(expect.arrayContaining(['Patient.gender', 'Patient.birthDate']));
    expect((await request(t.app).get('/fhir/Patient/_history')).body.entry).toBeUndefined();
  });

  test('takes a Parameters body with resource and mode', async () => {
    const res = await request(t.app)
      .post('/fhir/Patient/abc/$validate')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', id: 'other' } }, { name: 'mode', valueCode: 'update' }] });
    expect(res.status).toBe(200);
    expect(res.body.issue[0]).toMatchObject({ severity: 'error', expression: ['Patient.id'] });
  });

  test('POST [base]/$validate validates a resource of any type, in a Parameters body, located in the resource', async () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Parameters', parameter: [{ name: 'n', valueInteger: 2147483648 }] } }] };
    const res = await request(t.app).post('/fhir/$validate').set('Content-Type', FHIR_JSON).send(body);
    expect(res.status).toBe(200);
    expect(res.body.issue).toEqual([expect.objectContaining({ severity: 'error', code: 'value', expression: ['Parameters.parameter[0].value.ofType(integer)'] })]);
    const encounter = { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start: '2023-06-21', end: '2023-06-21T06:20:00Z' } };
    const plain = await request(t.app).post('/fhir/$validate').set('Content-Type', FHIR_JSON).send(encounter);
    expect(plain.status).toBe(200);
    expect(plain.body.issue).toEqual([expect.objectContaining({ severity: 'error', code: 'invariant', expression: ['Encounter.period'] })]);
  });

  test('POST [base]/$validate with mode=update is 400: it needs the instance level', async () => {
    const res = await request(t.app).post('/fhir/$validate?mode=update').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient' });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['mode']);
  });

  test('mode=delete on an unknown resource is 404; a resource of another type is an error issue', async () => {
    expect((await request(t.app).post('/fhir/Patient/nobody/$validate?mode=delete').set('Content-Type', FHIR_JSON)).status).toBe(404);
    const res = await request(t.app).post('/fhir/Patient/$validate').set('Content-Type', FHIR_JSON).send({ resourceType: 'Observation' });
    expect(res.status).toBe(200);
    expect(res.body.issue[0].severity).toBe('error');
  });
});

function minimal(type: string): Record<string, unknown> {
  switch (type) {
    case 'Questionnaire':
      return { resourceType: type, status: 'active', title: 'PHQ-9' };
    case 'Consent':
      return {
        resourceType: type,
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
      };
    case 'Flag':
      return { resourceType: type, status: 'active', code: { text: 'Safety plan in place' }, subject: { reference: 'Patient/1' } };
    case 'Task':
      return { resourceType: type, status: 'requested', intent: 'order' };
    default:
      return { resourceType: type };
  }
}
