import type { Flag, RiskAssessment } from '@medplum/fhirtypes';
import { currentRisk, flagsOpenFirst } from '../../../src/casemgmt/safety';

const judgement = (id: string, level: string, at: string): RiskAssessment & { id: string } => ({
  resourceType: 'RiskAssessment',
  id,
  status: 'final',
  subject: { reference: 'Patient/p' },
  method: { text: 'Case manager judgement' },
  occurrenceDateTime: at,
  prediction: [{ qualitativeRisk: { coding: [{ code: level }] } }],
});
const score = (id: string, level: string, at: string): RiskAssessment & { id: string } => ({
  ...judgement(id, level, at),
  method: { coding: [{ system: 'http://loinc.org', code: '44249-1' }], text: 'PHQ-9' },
});

describe('currentRisk', () => {
  test('none: undefined', () => {
    expect(currentRisk([])).toBeUndefined();
  });
  test('the latest judgement stands against a newer lower score', () => {
    const r = currentRisk([score('s', 'low', '2025-02-10'), judgement('j1', 'moderate', '2025-01-01'), judgement('j2', 'high', '2025-02-01')]);
    expect(r).toMatchObject({ level: 'high', source: 'judgement', reviewNeeded: false });
    expect(r?.newerScores.map((s) => s.id)).toEqual(['s']);
  });
  test('a newer higher score raises it and asks for a review; an older one does not', () => {
    expect(currentRisk([judgement('j', 'low', '2025-02-01'), score('s', 'high', '2025-02-10')])).toMatchObject({ level: 'high', source: 'score', reviewNeeded: true });
    expect(currentRisk([judgement('j', 'low', '2025-02-01'), score('s', 'high', '2025-01-10')])).toMatchObject({ level: 'low', source: 'judgement', reviewNeeded: false });
  });
  test('without a judgement, the highest score', () => {
    expect(currentRisk([score('a', 'moderate', '2025-02-01'), score('b', 'low', '2025-02-10')])).toMatchObject({ level: 'moderate', source: 'score' });
  });
  test('entered-in-error assessments are ignored', () => {
    expect(currentRisk([{ ...judgement('j', 'high', '2025-03-01'), status: 'entered-in-error' }, judgement('k', 'low', '2025-01-01')])?.level).toBe('low');
  });
});

test('flagsOpenFirst: active first, newest first within', () => {
  const flag = (id: string, status: Flag['status'], start: string): Flag & { id: string } => ({ resourceType: 'Flag', id, status, code: {}, subject: { reference: 'Patient/p' }, period: { start } });
  expect(flagsOpenFirst([flag('a', 'inactive', '2025-03-01'), flag('b', 'active', '2025-01-01'), flag('c', 'active', '2025-02-01'), flag('d', 'entered-in-error', '2025-04-01')]).map((f) => f.id)).toEqual(['c', 'b', 'a']);
});
