// Scoring through the FHIR API: a QuestionnaireResponse to one of CaseBridge's instruments
// brings its score Observation, RiskAssessment and (PHQ-9 item 9) Flag in the same unit, over
// POST, PUT, PATCH and transaction Bundles; what cannot be scored leaves no trace.
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import request from 'supertest';
import { GAD7, type Instrument, PHQ9 } from '../../../src/casemgmt/instruments';
import { answeredItems } from '../../../src/casemgmt/scoring';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';
import { databaseContents } from '../../support/database';

let t: TestApp;
let tick = 0;
const clock = () => new Date(Date.UTC(2025, 2, 1) + tick++ * 1000);
beforeAll(async () => {
  t = await testApp({ now: clock });
});
afterAll(async () => {
  await t.close();
});

const snapshot = () => databaseContents(t.database.connection.db);

async function newPatient(): Promise<string> {
  const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', name: [{ family: 'Okafor' }] });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

function response(instrument: Instrument, scores: number[], patientId: string, extra: Partial<QuestionnaireResponse> = {}): QuestionnaireResponse {
  return {
    resourceType: 'QuestionnaireResponse',
    questionnaire: instrument.url,
    status: 'completed',
    subject: { reference: `Patient/${patientId}` },
    authored: '2025-03-01T09:30:00Z',
    author: { reference: 'Practitioner/case-manager-1' },
    item: answeredItems(instrument, scores),
    ...extra,
  };
}

const send = {
  post: (body: object) => request(t.app).post('/fhir/QuestionnaireResponse').set('Content-Type', FHIR_JSON).send(JSON.stringify(body)),
  put: (id: string, body: object) => request(t.app).put(`/fhir/QuestionnaireResponse/${id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...body, id })),
  bundle: (body: object) => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(body)),
};

async function derivedFrom(responseId: string) {
  const res = await request(t.app).get(`/fhir/Observation?derived-from=QuestionnaireResponse/${responseId}`);
  expect(res.status).toBe(200);
  return (res.body.entry ?? []).map((e: { resource: object }) => e.resource);
}

const read = (path: string) => request(t.app).get(`/fhir/${path}`);

// PHQ-9 total 13 (moderate), item 9 answered "several days".
const POSITIVE = [2, 2, 1, 2, 2, 1, 1, 1, 1];
// PHQ-9 total 6 (mild), item 9 "not at all".
const NEGATIVE = [1, 1, 1, 1, 1, 1, 0, 0, 0];

describe('a completed PHQ-9 response, created', () => {
  let patientId: string;
  let qrId: string;
  beforeAll(async () => {
    patientId = await newPatient();
    const res = await send.post(response(PHQ9, POSITIVE, patientId));
    expect(res.status).toBe(201);
    qrId = res.body.id;
  });

  test('brings its total score Observation, found by derived-from', async () => {
    const [observation, ...others] = await derivedFrom(qrId);
    expect(others).toEqual([]);
    expect(observation).toMatchObject({
      resourceType: 'Observation',
      id: `${qrId}-score`,
      meta: { versionId: '1', profile: ['http://casebridge.org/fhir/StructureDefinition/cb-score-observation'] },
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '44261-6' }] },
      subject: { reference: `Patient/${patientId}` },
      effectiveDateTime: '2025-03-01T09:30:00Z',
      performer: [{ reference: 'Practitioner/case-manager-1' }],
      valueInteger: 13,
      interpretation: [{ coding: [{ system: 'http://casebridge.org/fhir/CodeSystem/severity-band', code: 'moderate' }], text: 'Moderate depression (PHQ-9 10-14)' }],
      derivedFrom: [{ reference: `QuestionnaireResponse/${qrId}` }],
    });
  });

  test('is found among the client score Observations by LOINC code', async () => {
    const res = await read(`Observation?subject=Patient/${patientId}&code=http://loinc.org|44261-6`);
    expect(res.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([`${qrId}-score`]);
  });

  test('brings a RiskAssessment based on the response and the Observation', async () => {
    const res = await read(`RiskAssessment?patient=${patientId}`);
    expect(res.body.entry).toHaveLength(1);
    expect(res.body.entry[0].resource).toMatchObject({
      id: `${qrId}-risk`,
      meta: { profile: ['http://casebridge.org/fhir/StructureDefinition/cb-risk-assessment'] },
      status: 'final',
      subject: { reference: `Patient/${patientId}` },
      occurrenceDateTime: '2025-03-01T09:30:00Z',
      basis: [{ reference: `QuestionnaireResponse/${qrId}` }, { reference: `Observation/${qrId}-score` }],
      prediction: [
        {
          outcome: { text: 'Depression' },
          qualitativeRisk: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/risk-probability', code: 'moderate' }] },
        },
      ],
    });
  });

  test('brings an active safety Flag for the positive item 9', async () => {
    const res = await read(`Flag?patient=${patientId}`);
    expect(res.body.entry).toHaveLength(1);
    expect(res.body.entry[0].resource).toMatchObject({
      id: `${qrId}-item9`,
      meta: { profile: ['http://casebridge.org/fhir/StructureDefinition/cb-risk-flag'] },
      status: 'active',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'safety' }] }],
      code: { text: 'Positive PHQ-9 item 9: thoughts of self-harm — assess suicide risk' },
      subject: { reference: `Patient/${patientId}` },
      period: { start: '2025-03-01T09:30:00Z' },
      author: { reference: 'Practitioner/case-manager-1' },
    });
  });

  describe('then amended with item 9 at 0', () => {
    let amended: request.Response;
    beforeAll(async () => {
      amended = await send.put(qrId, response(PHQ9, NEGATIVE, patientId, { status: 'amended', authored: '2025-03-08T10:00:00Z' }));
    });

    test('the response is updated', () => {
      expect(amended.status).toBe(200);
      expect(amended.body.meta.versionId).toBe('2');
    });

    test('the Observation is updated: version 2, amended, the new total and band', async () => {
      const [observation] = await derivedFrom(qrId);
      expect(observation).toMatchObject({ meta: { versionId: '2' }, status: 'amended', valueInteger: 6, effectiveDateTime: '2025-03-08T10:00:00Z' });
      expect(observation.interpretation[0].coding[0].code).toBe('mild');
      const history = await read(`Observation/${qrId}-score/_history`);
      expect(history.body.entry.map((e: { resource: { valueInteger: number } }) => e.resource.valueInteger)).toEqual([6, 13]);
    });

    test('the RiskAssessment is updated with the new band', async () => {
      const risk = await read(`RiskAssessment/${qrId}-risk`);
      expect(risk.body.meta.versionId).toBe('2');
      expect(risk.body.status).toBe('amended');
      expect(risk.body.prediction[0].qualitativeRisk.coding[0].code).toBe('low');
    });

    test('the Flag becomes inactive, ended when the amendment was authored, not deleted', async () => {
      const flag = await read(`Flag/${qrId}-item9`);
      expect(flag.status).toBe(200);
      expect(flag.body).toMatchObject({ meta: { versionId: '2' }, status: 'inactive', period: { start: '2025-03-01T09:30:00Z', end: '2025-03-08T10:00:00Z' } });
    });

    test('a PATCH making item 9 positive again re-scores and reactivates the Flag', async () => {
      const res = await request(t.app)
        .patch(`/fhir/QuestionnaireResponse/${qrId}`)
        .set('Content-Type', 'application/json-patch+json')
        .send([
          { op: 'replace', path: '/item/8/answer/0', value: { valueCoding: { system: 'http://loinc.org', code: 'LA6571-9' } } },
          { op: 'replace', path: '/authored', value: '2025-03-09T10:00:00Z' },
        ]);
      expect(res.status).toBe(200);
      expect(res.body.meta.versionId).toBe('3');
      const [observation] = await derivedFrom(qrId);
      expect(observation).toMatchObject({ meta: { versionId: '3' }, valueInteger: 9 });
      const flag = await read(`Flag/${qrId}-item9`);
      expect(flag.body).toMatchObject({ meta: { versionId: '3' }, status: 'active', period: { start: '2025-03-09T10:00:00Z' } });
      expect(flag.body.period.end).toBeUndefined();
    });

    test('a PATCH that makes the response unscorable is 422 and changes nothing', async () => {
      const before = await snapshot();
      const res = await request(t.app)
        .patch(`/fhir/QuestionnaireResponse/${qrId}`)
        .set('Content-Type', 'application/json-patch+json')
        .send([{ op: 'replace', path: '/item/2/answer/0', value: { valueInteger: 5 } }]);
      expect(res.status).toBe(422);
      expect(res.body.issue).toEqual([expect.objectContaining({ code: 'business-rule', expression: ['QuestionnaireResponse.item[2].answer[0].valueInteger'] })]);
      expect(await snapshot()).toEqual(before);
    });
  });
});

describe('responses that derive nothing', () => {
  test('an in-progress response is stored, not scored', async () => {
    const patientId = await newPatient();
    const items = answeredItems(PHQ9, POSITIVE).slice(0, 4);
    const res = await send.post({ ...response(PHQ9, POSITIVE, patientId, { status: 'in-progress' }), item: items });
    expect(res.status).toBe(201);
    expect(await derivedFrom(res.body.id)).toEqual([]);
    expect((await read(`RiskAssessment/${res.body.id}-risk`)).status).toBe(404);
    expect((await read(`Flag/${res.body.id}-item9`)).status).toBe(404);
  });

  test('a response to a questionnaire CaseBridge does not score is stored as is', async () => {
    const patientId = await newPatient();
    const res = await send.post({ ...response(PHQ9, POSITIVE, patientId), questionnaire: 'http://example.org/Questionnaire/intake', item: [{ linkId: 'q1', answer: [{ valueString: 'x' }] }] });
    expect(res.status).toBe(201);
    expect(await derivedFrom(res.body.id)).toEqual([]);
  });

  test('the derived resources of a response without authored are stored without claiming their profiles', async () => {
    const patientId = await newPatient();
    const { authored: _authored, ...undated } = response(PHQ9, POSITIVE, patientId);
    const res = await send.post(undated);
    expect(res.status).toBe(201);
    const [observation] = await derivedFrom(res.body.id);
    expect(observation.meta.profile).toBeUndefined();
    expect(observation.effectiveDateTime).toBeUndefined();
    const flag = await read(`Flag/${res.body.id}-item9`);
    expect(flag.body.period.start).toEqual(expect.stringMatching(/^2025-03-01T/));
  });

  test('a GAD-7 response brings an Observation and a RiskAssessment, no Flag', async () => {
    const patientId = await newPatient();
    const res = await send.post(response(GAD7, [3, 3, 3, 3, 3, 0, 0], patientId));
    expect(res.status).toBe(201);
    const [observation] = await derivedFrom(res.body.id);
    expect(observation).toMatchObject({ code: { coding: [{ code: '70274-6' }] }, valueInteger: 15 });
    expect(observation.interpretation[0].coding[0].code).toBe('severe');
    expect((await read(`RiskAssessment/${res.body.id}-risk`)).body.prediction[0].qualitativeRisk.coding[0].code).toBe('high');
    expect((await read(`Flag?patient=${patientId}`)).body.entry).toBeUndefined();
  });
});

describe('a response that cannot be scored is refused and leaves no trace', () => {
  test('POST of a completed PHQ-9 with problems: 422, each issue located, nothing stored', async () => {
    const patientId = await newPatient();
    const items = answeredItems(PHQ9, POSITIVE);
    items[3] = { ...items[3], answer: [{ valueInteger: 4 }] } as (typeof items)[number];
    items[5] = { ...items[5], answer: [{ valueCoding: { system: 'http://loinc.org', code: 'LA9999-9' } }] } as (typeof items)[number];
    const before = await snapshot();
    const res = await send.post({ ...response(PHQ9, POSITIVE, patientId), item: [...items.slice(0, 8), items[0]] });
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue.map((i: { code: string; expression: string[] }) => [i.code, i.expression[0]])).toEqual([
      ['business-rule', 'QuestionnaireResponse.item[3].answer[0].valueInteger'],
      ['business-rule', 'QuestionnaireResponse.item[5].answer[0].valueCoding'],
      ['business-rule', 'QuestionnaireResponse.item[8]'],
      ['business-rule', 'QuestionnaireResponse.item'],
    ]);
    expect(res.body.issue[3].diagnostics).toMatch(/44260-8/);
    expect(await snapshot()).toEqual(before);
    expect((await read(`QuestionnaireResponse?subject=Patient/${patientId}`)).body.entry).toBeUndefined();
  });

  test('$validate reports what scoring would refuse, and that a scorable response is fine', async () => {
    const patientId = await newPatient();
    const items = answeredItems(PHQ9, POSITIVE);
    items[3] = { ...items[3], answer: [{ valueInteger: 4 }] } as (typeof items)[number];
    const before = await snapshot();
    const validate = (body: object) => request(t.app).post('/fhir/QuestionnaireResponse/$validate?mode=create').set('Content-Type', FHIR_JSON).send(body);
    const bad = await validate({ ...response(PHQ9, POSITIVE, patientId), item: items });
    expect(bad.status).toBe(200);
    expect(bad.body.issue.map((i: { code: string; expression: string[] }) => [i.code, i.expression[0]])).toEqual([
      ['business-rule', 'QuestionnaireResponse.item[3].answer[0].valueInteger'],
    ]);
    const good = await validate(response(PHQ9, POSITIVE, patientId));
    expect(good.body.issue).toEqual([expect.objectContaining({ severity: 'information' })]);
    expect(await snapshot()).toEqual(before);
  });

  test('a completed PHQ-9 without a subject: 422 at QuestionnaireResponse.subject, nothing stored', async () => {
    const before = await snapshot();
    const { subject: _subject, ...withoutSubject } = response(PHQ9, POSITIVE, 'none');
    const res = await send.post(withoutSubject);
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['QuestionnaireResponse.subject']);
    expect(await snapshot()).toEqual(before);
  });

  test('PUT of an unscorable amendment keeps the response and what it derived as they were', async () => {
    const patientId = await newPatient();
    const created = await send.post(response(PHQ9, POSITIVE, patientId));
    const before = await snapshot();
    const res = await send.put(created.body.id, { ...response(PHQ9, POSITIVE, patientId, { status: 'amended' }), item: answeredItems(PHQ9, POSITIVE).slice(1) });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['QuestionnaireResponse.item']);
    expect(await snapshot()).toEqual(before);
  });
});

describe('a response entered in error', () => {
  test('withdraws what it derived: entered-in-error, not deleted', async () => {
    const patientId = await newPatient();
    const created = await send.post(response(PHQ9, POSITIVE, patientId));
    const res = await send.put(created.body.id, response(PHQ9, POSITIVE, patientId, { status: 'entered-in-error' }));
    expect(res.status).toBe(200);
    for (const path of [`Observation/${created.body.id}-score`, `RiskAssessment/${created.body.id}-risk`, `Flag/${created.body.id}-item9`]) {
      const derived = await read(path);
      expect([path, derived.body.meta.versionId, derived.body.status]).toEqual([path, '2', 'entered-in-error']);
    }
  });
});

describe('in a transaction Bundle', () => {
  const CLIENT = 'urn:uuid:5a1c0de0-0000-4000-8000-000000000001';
  const RESPONSE = 'urn:uuid:5a1c0de0-0000-4000-8000-000000000002';
  const transaction = (qr: QuestionnaireResponse, more: object[] = []) => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: CLIENT, resource: { resourceType: 'Patient', name: [{ family: 'Mensah' }] }, request: { method: 'POST', url: 'Patient' } },
      { fullUrl: RESPONSE, resource: { ...qr, subject: { reference: CLIENT } }, request: { method: 'POST', url: 'QuestionnaireResponse' } },
      ...more,
    ],
  });

  test('the derived resources land with the response, references rewritten', async () => {
    const res = await send.bundle(transaction(response(PHQ9, POSITIVE, 'x')));
    expect(res.status).toBe(200);
    const patientId = res.body.entry[0].resource.id as string;
    const qrId = res.body.entry[1].resource.id as string;
    const [observation] = await derivedFrom(qrId);
    expect(observation).toMatchObject({ id: `${qrId}-score`, subject: { reference: `Patient/${patientId}` }, valueInteger: 13 });
    expect((await read(`RiskAssessment/${qrId}-risk`)).body.subject).toEqual({ reference: `Patient/${patientId}` });
    expect((await read(`Flag/${qrId}-item9`)).body.status).toBe('active');
  });

  test('an unscorable response fails the transaction with 422 located in its entry, no trace', async () => {
    const qr = response(PHQ9, POSITIVE, 'x');
    const before = await snapshot();
    const res = await send.bundle(transaction({ ...qr, item: qr.item?.slice(0, 8) }));
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[1].resource.item']);
    expect(await snapshot()).toEqual(before);
  });

  test('a failing entry elsewhere (stale If-Match, at write time) rolls back the response and its derived resources', async () => {
    const existing = await newPatient();
    const before = await snapshot();
    const stale = { resource: { resourceType: 'Patient', id: existing, active: true }, request: { method: 'PUT', url: `Patient/${existing}`, ifMatch: 'W/"9"' } };
    const res = await send.bundle(transaction(response(PHQ9, POSITIVE, 'x'), [stale]));
    expect(res.status).toBe(412);
    expect(await snapshot()).toEqual(before);
  });

  test('a PUT of an amended response in a transaction updates what it derived', async () => {
    const patientId = await newPatient();
    const created = await send.post(response(PHQ9, POSITIVE, patientId));
    const id = created.body.id as string;
    const res = await send.bundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { ...response(PHQ9, NEGATIVE, patientId, { status: 'amended' }), id }, request: { method: 'PUT', url: `QuestionnaireResponse/${id}` } }],
    });
    expect(res.status).toBe(200);
    expect((await derivedFrom(id))[0]).toMatchObject({ meta: { versionId: '2' }, status: 'amended', valueInteger: 6 });
    expect((await read(`Flag/${id}-item9`)).body.status).toBe('inactive');
  });
});
