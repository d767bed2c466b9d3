import type { Flag, Observation, QuestionnaireResponse, Reference, RiskAssessment } from '@medplum/fhirtypes';
import { GAD7, type Instrument, PHQ2, PHQ9 } from '../../../src/casemgmt/instruments';
import { answeredItems, scoreResponse } from '../../../src/casemgmt/scoring';
import { RISK_BY_BAND } from '../../../src/casemgmt/derivations/risk';
import {
  DERIVED,
  type DerivationState,
  type ScoredQuestionnaireResponse,
  derivedId,
  derivedIds,
  enteredInError,
  referenceType,
  scoreResults,
} from '../../../src/casemgmt/derivations/score-results';
import { FhirError } from '../../../src/fhir/outcomes';
import { validateResource } from '../../../src/fhir/validation';

const AUTHORED = '2025-03-04T10:00:00Z';

function response(instrument: Instrument, scores: number[], extra: Partial<QuestionnaireResponse> = {}): ScoredQuestionnaireResponse {
  return {
    resourceType: 'QuestionnaireResponse',
    id: 'qr1',
    questionnaire: instrument.url,
    status: 'completed',
    subject: { reference: 'Patient/p1', display: 'Ada Okafor' },
    encounter: { reference: 'Encounter/e1' },
    authored: AUTHORED,
    author: { reference: 'Practitioner/cm1' },
    item: answeredItems(instrument, scores),
    ...extra,
  };
}

function results(qr: ScoredQuestionnaireResponse, state: DerivationState = {}) {
  const all = scoreResults(qr, scoreResponse(qr), state);
  return {
    all,
    observation: all.find((r) => r.resourceType === 'Observation') as Observation,
    risk: all.find((r) => r.resourceType === 'RiskAssessment') as RiskAssessment,
    flag: all.find((r) => r.resourceType === 'Flag') as Flag | undefined,
  };
}

const ITEM9 = [0, 1, 1, 2, 1, 0, 0, 0, 1];

describe('the score Observation', () => {
  test('carries the LOINC total, the band, the context of the response and derivedFrom', () => {
    const { observation } = results(response(PHQ9, [2, 2, 2, 2, 2, 0, 0, 1, 0]));
    expect(observation).toEqual({
      resourceType: 'Observation',
      id: 'qr1-score',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey', display: 'Survey' }] }],
      code: {
        coding: [{ system: 'http://loinc.org', code: '44261-6', display: 'Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]' }],
        text: 'PHQ-9 total score',
      },
      subject: { reference: 'Patient/p1', display: 'Ada Okafor' },
      encounter: { reference: 'Encounter/e1' },
      effectiveDateTime: AUTHORED,
      performer: [{ reference: 'Practitioner/cm1' }],
      valueInteger: 11,
      interpretation: [
        { coding: [{ system: 'http://casebridge.org/fhir/CodeSystem/severity-band', code: 'moderate', display: 'Moderate' }], text: 'Moderate depression (PHQ-9 10-14)' },
      ],
      derivedFrom: [{ reference: 'QuestionnaireResponse/qr1' }],
    });
  });

  test.each([
    [PHQ2, '55758-7'],
    [GAD7, '70274-6'],
  ].map(([i, code]) => [(i as Instrument).title, code as string, i as Instrument]))('%s: code %s', (_, code, instrument) => {
    const { observation } = results(response(instrument, instrument.items.map(() => 1)));
    expect(observation.code.coding?.[0]?.code).toBe(code);
  });

  test('PHQ-2 interpretation codes the screen result twice: band and POS/NEG', () => {
    const { observation } = results(response(PHQ2, [2, 1]));
    expect(observation.interpretation?.[0]?.coding?.map((c) => c.code)).toEqual(['screen-positive', 'POS']);
  });

  test('is amended when the response is', () => {
    expect(results(response(PHQ9, ITEM9, { status: 'amended' })).observation.status).toBe('amended');
  });

  test('omits what the response does not have: encounter, authored, author', () => {
    const { observation, risk } = results(response(GAD7, [0, 0, 0, 0, 0, 0, 0], { encounter: undefined, authored: undefined, author: undefined }));
    expect(observation).not.toHaveProperty('encounter');
    expect(observation).not.toHaveProperty('effectiveDateTime');
    expect(observation).not.toHaveProperty('performer');
    expect(risk).not.toHaveProperty('occurrenceDateTime');
  });

  test('a Device author is not a performer (Observation.performer does not accept it), but authors the Flag', () => {
    const { observation, flag } = results(response(PHQ9, ITEM9, { author: { reference: 'Device/kiosk' } }));
    expect(observation).not.toHaveProperty('performer');
    expect(flag?.author).toEqual({ reference: 'Device/kiosk' });
  });

  test('a RelatedPerson author performs the Observation but does not author the Flag', () => {
    const { observation, flag } = results(response(PHQ9, ITEM9, { author: { reference: 'RelatedPerson/mum' } }));
    expect(observation.performer).toEqual([{ reference: 'RelatedPerson/mum' }]);
    expect(flag).not.toHaveProperty('author');
  });

  test('a reference to a resource contained in the response is not copied', () => {
    const { observation } = results(response(PHQ9, ITEM9, { author: { reference: '#me' }, encounter: { reference: '#enc' } }));
    expect(observation).not.toHaveProperty('performer');
    expect(observation).not.toHaveProperty('encounter');
  });
});

describe('the RiskAssessment', () => {
  test('has basis → response and Observation, and a prediction from the band', () => {
    const { risk } = results(response(PHQ9, [3, 3, 3, 3, 3, 1, 0, 0, 0]));
    expect(risk).toEqual({
      resourceType: 'RiskAssessment',
      id: 'qr1-risk',
      status: 'final',
      method: { coding: [{ system: 'http://loinc.org', code: '44249-1', display: 'PHQ-9 quick depression assessment panel [Reported.PHQ]' }], text: 'PHQ-9' },
      code: { text: 'Depression risk from PHQ-9 screening' },
      subject: { reference: 'Patient/p1', display: 'Ada Okafor' },
      encounter: { reference: 'Encounter/e1' },
      occurrenceDateTime: AUTHORED,
      basis: [{ reference: 'QuestionnaireResponse/qr1' }, { reference: 'Observation/qr1-score' }],
      prediction: [
        {
          outcome: { coding: [{ system: 'http://snomed.info/sct', code: '35489007', display: 'Depressive disorder' }], text: 'Depression' },
          qualitativeRisk: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/risk-probability', code: 'high', display: 'High likelihood' }] },
          rationale: expect.stringMatching(/^PHQ-9 total 16: Moderately severe depression \(PHQ-9 15-19\)\. .*CaseBridge convention, not a clinical judgement/),
        },
      ],
    });
  });

  test.each([
    ['PHQ-9', PHQ9, [0, 0, 0, 0, 0, 0, 0, 0, 0], 'low'],
    ['PHQ-9', PHQ9, [1, 1, 1, 1, 1, 0, 0, 0, 0], 'low'],
    ['PHQ-9', PHQ9, [2, 2, 2, 2, 2, 0, 0, 0, 0], 'moderate'],
    ['PHQ-9', PHQ9, [3, 3, 3, 3, 3, 0, 0, 0, 0], 'high'],
    ['PHQ-9', PHQ9, [3, 3, 3, 3, 3, 3, 3, 0, 0], 'high'],
    ['GAD-7', GAD7, [1, 1, 1, 0, 0, 0, 0], 'low'],
    ['GAD-7', GAD7, [1, 1, 1, 1, 1, 0, 0], 'low'],
    ['GAD-7', GAD7, [2, 2, 2, 2, 2, 0, 0], 'moderate'],
    ['GAD-7', GAD7, [3, 3, 3, 3, 3, 0, 0], 'high'],
    ['PHQ-2', PHQ2, [1, 1], 'low'],
    ['PHQ-2', PHQ2, [2, 1], 'moderate'],
  ] as const)('%s %j → qualitative risk %s', (_, instrument, scores, risk) => {
    expect(results(response(instrument, [...scores])).risk.prediction?.[0]?.qualitativeRisk?.coding?.[0]?.code).toBe(risk);
  });

  test('every band of every instrument has a risk', () => {
    expect(Object.keys(RISK_BY_BAND['phq-9'])).toHaveLength(5);
    expect(Object.keys(RISK_BY_BAND['gad-7'])).toHaveLength(4);
    expect(Object.keys(RISK_BY_BAND['phq-2'])).toHaveLength(2);
  });

  test('GAD-7 predicts anxiety disorder', () => {
    expect(results(response(GAD7, [0, 0, 0, 0, 0, 0, 0])).risk.prediction?.[0]?.outcome?.coding?.[0]?.code).toBe('197480006');
  });

  test('notes a positive PHQ-9 item 9 and points to the Flag', () => {
    expect(results(response(PHQ9, ITEM9)).risk.note).toEqual([{ text: expect.stringContaining('see Flag/qr1-item9') }]);
    expect(results(response(PHQ9, [1, 1, 1, 1, 1, 1, 1, 1, 0])).risk).not.toHaveProperty('note');
  });
});

describe('the PHQ-9 item 9 Flag', () => {
  const active: Flag = {
    resourceType: 'Flag',
    id: 'qr1-item9',
    meta: { versionId: '1' },
    status: 'active',
    code: { text: 'x' },
    subject: { reference: 'Patient/p1' },
    period: { start: '2025-03-01T09:00:00Z' },
  };

  test('is active when item 9 is positive', () => {
    expect(results(response(PHQ9, ITEM9)).flag).toEqual({
      resourceType: 'Flag',
      id: 'qr1-item9',
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/flag-detail', valueReference: { reference: 'QuestionnaireResponse/qr1' } }],
      status: 'active',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'safety', display: 'Safety' }] }],
      code: { text: 'Positive PHQ-9 item 9: thoughts of self-harm — assess suicide risk' },
      subject: { reference: 'Patient/p1', display: 'Ada Okafor' },
      period: { start: AUTHORED },
      encounter: { reference: 'Encounter/e1' },
      author: { reference: 'Practitioner/cm1' },
    });
  });

  test('is not written when item 9 is 0 and no Flag is active', () => {
    expect(results(response(PHQ9, [3, 3, 3, 3, 3, 3, 3, 3, 0])).flag).toBeUndefined();
    expect(results(response(PHQ9, [3, 3, 3, 3, 3, 3, 3, 3, 0]), { selfHarmFlag: { ...active, status: 'inactive' } }).flag).toBeUndefined();
  });

  test('keeps its start while item 9 stays positive', () => {
    expect(results(response(PHQ9, ITEM9, { status: 'amended' }), { selfHarmFlag: active }).flag?.period).toEqual({ start: '2025-03-01T09:00:00Z' });
  });

  test('becomes inactive, ended when the amended response was authored, once item 9 is 0', () => {
    const { flag } = results(response(PHQ9, [1, 0, 0, 0, 0, 0, 0, 0, 0], { status: 'amended' }), { selfHarmFlag: active });
    expect(flag?.status).toBe('inactive');
    expect(flag?.period).toEqual({ start: '2025-03-01T09:00:00Z', end: AUTHORED });
  });

  test('is ended when it is computed if the amendment is dated before the Flag started, or not dated', () => {
    const now = '2025-03-10T08:00:00.000Z';
    const early = results(response(PHQ9, [1, 0, 0, 0, 0, 0, 0, 0, 0], { status: 'amended', authored: '2025-02-01' }), { selfHarmFlag: active, now });
    expect(early.flag?.period).toEqual({ start: '2025-03-01T09:00:00Z', end: now });
    const undated = results(response(PHQ9, [1, 0, 0, 0, 0, 0, 0, 0, 0], { status: 'amended', authored: undefined }), { selfHarmFlag: active, now });
    expect(undated.flag?.period).toEqual({ start: '2025-03-01T09:00:00Z', end: now });
  });

  test('is never ended before it started', () => {
    const { flag } = results(response(PHQ9, [1, 0, 0, 0, 0, 0, 0, 0, 0], { status: 'amended', authored: '2025-02-01' }), { selfHarmFlag: active, now: '2025-02-02' });
    expect(flag?.period).toEqual({ start: '2025-03-01T09:00:00Z' });
  });

  test('starts when it is computed if the response is not dated', () => {
    const { flag } = results(response(PHQ9, ITEM9, { authored: undefined }), { now: '2025-03-10T08:00:00.000Z' });
    expect(flag?.period).toEqual({ start: '2025-03-10T08:00:00.000Z' });
  });

  test('starts again when item 9 is positive after an inactive Flag', () => {
    const { flag } = results(response(PHQ9, ITEM9), { selfHarmFlag: { ...active, status: 'inactive', period: { start: '2025-01-01', end: '2025-02-01' } } });
    expect(flag?.status).toBe('active');
    expect(flag?.period).toEqual({ start: AUTHORED });
  });

  test.each([GAD7, PHQ2].map((i) => [i.title, i] as const))('%s never has one', (_, instrument) => {
    expect(results(response(instrument, instrument.items.map(() => 3))).flag).toBeUndefined();
  });
});

describe('every derived resource is valid R4, without warnings', () => {
  test.each([
    ['PHQ-9 positive item 9, completed', response(PHQ9, ITEM9), {}],
    ['PHQ-9 amended, Flag inactive', response(PHQ9, [0, 0, 0, 0, 0, 0, 0, 0, 0], { status: 'amended' }), { selfHarmFlag: { resourceType: 'Flag', status: 'active', code: {}, subject: {}, period: { start: '2025-01-01' } } as Flag }],
    ['PHQ-2 positive', response(PHQ2, [3, 3]), {}],
    ['GAD-7 severe', response(GAD7, [3, 3, 3, 3, 3, 3, 3]), {}],
    ['GAD-7, minimal context', response(GAD7, [0, 0, 0, 0, 0, 0, 0], { encounter: undefined, authored: undefined, author: undefined }), {}],
    ['PHQ-9 by a device', response(PHQ9, ITEM9, { author: { reference: 'Device/kiosk' } }), {}],
    ['PHQ-9 with identifier-only subject', response(PHQ9, ITEM9, { subject: { identifier: { system: 'urn:agency:clients', value: 'C-1' } } }), {}],
  ] as const)('%s', (_, qr, current) => {
    const { all } = results(qr, current);
    for (const resource of all) {
      expect([resource.resourceType, validateResource(resource, { expectedType: resource.resourceType })]).toEqual([resource.resourceType, []]);
    }
    for (const resource of all.map((r) => enteredInError(r))) {
      expect(validateResource(resource)).toEqual([]);
    }
  });
});

describe('derived resources conform to CaseBridge profiles when the response gives what they need', () => {
  const claim = <T extends { resourceType: string }>(resource: T) => ({ ...resource, meta: { profile: [Object.values(DERIVED).find((d) => d.resourceType === resource.resourceType)?.profile] } });

  test.each([
    ['item 9 positive', response(PHQ9, ITEM9), {}],
    ['Flag turned inactive', response(PHQ9, [0, 0, 0, 0, 0, 0, 0, 0, 0], { status: 'amended' }), { selfHarmFlag: { resourceType: 'Flag', status: 'active', code: {}, subject: {}, period: { start: '2025-01-01' } } as Flag }],
    ['GAD-7', response(GAD7, [1, 2, 3, 0, 1, 2, 3]), {}],
    ['PHQ-2', response(PHQ2, [1, 2]), {}],
  ] as const)('%s', (_, qr, state) => {
    const { all } = results(qr, state);
    expect(all.map((r) => validateResource(claim(r)))).toEqual(all.map(() => []));
  });

  test('without authored they do not (the score Observation needs effective[x]), which is why the claim is conditional', () => {
    const { observation } = results(response(PHQ9, ITEM9, { authored: undefined }));
    expect(validateResource(claim(observation))).toEqual([expect.objectContaining({ severity: 'error', code: 'required' })]);
  });
});

describe('the response must name its client', () => {
  test.each<[string, Reference | undefined]>([
    ['no subject', undefined],
    ['a Practitioner subject', { reference: 'Practitioner/x' }],
    ['a contained subject', { reference: '#p' }],
    ['a typed non-client subject', { type: 'Location', identifier: { value: 'x' } }],
  ])('%s is refused at QuestionnaireResponse.subject', (_, subject) => {
    const qr = response(PHQ9, ITEM9, { subject });
    let error: unknown;
    try {
      scoreResults(qr, scoreResponse(qr));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).status).toBe(422);
    expect((error as FhirError).outcome.issue).toEqual([expect.objectContaining({ code: 'business-rule', expression: ['QuestionnaireResponse.subject'] })]);
  });

  test.each([
    [{ reference: 'Patient/p1' }],
    [{ reference: 'http://other.example/fhir/Patient/p1' }],
    [{ reference: 'Group/g1' }],
    [{ identifier: { system: 'urn:agency:clients', value: 'C-1' } }],
  ])('%j is accepted', (subject) => {
    const qr = response(PHQ9, ITEM9, { subject });
    expect(results(qr).observation.subject).toEqual(subject);
  });
});

describe('derived ids', () => {
  test('are <response id>-score, -risk, -item9', () => {
    expect(derivedIds('abc')).toEqual({ score: 'abc-score', risk: 'abc-risk', selfHarmFlag: 'abc-item9' });
  });

  test('stay within 64 characters, deterministically, for long response ids', () => {
    const long = 'a'.repeat(60);
    const id = derivedId(long, 'score');
    expect(id).toHaveLength(64);
    expect(id).toMatch(/^[0-9a-f]{58}-score$/);
    expect(derivedId(long, 'score')).toBe(id);
    expect(derivedId('b'.repeat(60), 'score')).not.toBe(id);
    expect(derivedId('a'.repeat(58), 'score')).toBe(`${'a'.repeat(58)}-score`);
  });
});

describe('referenceType', () => {
  test.each<[Reference, string | undefined]>([
    [{ reference: 'Patient/1' }, 'Patient'],
    [{ reference: 'Patient/1/_history/2' }, 'Patient'],
    [{ reference: 'https://x.example/fhir/Practitioner/a.b-c' }, 'Practitioner'],
    [{ type: 'Group', reference: 'Patient/1' }, 'Group'],
    [{ reference: 'urn:uuid:1234' }, undefined],
    [{ reference: '#c' }, undefined],
    [{ identifier: { value: 'x' } }, undefined],
  ])('%j → %s', (reference, type) => {
    expect(referenceType(reference)).toBe(type);
  });
});
