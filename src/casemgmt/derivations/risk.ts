/**
 * How a score's severity band becomes a RiskAssessment prediction. This is a CaseBridge
 * convention so that risk can be listed and sorted across instruments, NOT a clinical claim: the
 * instruments' authors publish severity bands (../scoring/bands.ts), not probabilities. The
 * mapping is deliberately coarse and conservative:
 * - a screening score never makes an outcome `certain`, nor `negligible` ("exceptionally
 *   unlikely"): the lowest bands map to `low`;
 * - moderate bands map to `moderate`; PHQ-9 moderately severe and severe, GAD-7 severe map to `high`;
 * - a positive PHQ-2 screen maps to `moderate`: it calls for a full assessment (PHQ-9), it does
 *   not by itself establish a high likelihood.
 * The predicted outcome is the disorder the instrument screens for (SNOMED CT 35489007 Depressive
 * disorder, 197480006 Anxiety disorder: codes seen consistently in third-party code, not checked
 * in a SNOMED CT browser).
 * See: https://hl7.org/fhir/R4/codesystem-risk-probability.html
 */
import type { CodeableConcept } from '@medplum/fhirtypes';
import type { InstrumentId } from '../instruments';
import type { BandCode } from '../scoring';
import { SYSTEMS } from '../vocabulary';

export type QualitativeRisk = 'low' | 'moderate' | 'high';

const RISK_DISPLAYS: Readonly<Record<QualitativeRisk, string>> = {
  low: 'Low likelihood',
  moderate: 'Moderate likelihood',
  high: 'High likelihood',
};

export const RISK_BY_BAND: Readonly<Record<InstrumentId, Partial<Record<BandCode, QualitativeRisk>>>> = {
  'phq-9': { minimal: 'low', mild: 'low', moderate: 'moderate', 'moderately-severe': 'high', severe: 'high' },
  'gad-7': { minimal: 'low', mild: 'low', moderate: 'moderate', severe: 'high' },
  'phq-2': { 'screen-negative': 'low', 'screen-positive': 'moderate' },
};

const SNOMED = 'http://snomed.info/sct';

export const PREDICTED_OUTCOMES: Readonly<Record<InstrumentId, CodeableConcept>> = {
  'phq-9': { coding: [{ system: SNOMED, code: '35489007', display: 'Depressive disorder' }], text: 'Depression' },
  'phq-2': { coding: [{ system: SNOMED, code: '35489007', display: 'Depressive disorder' }], text: 'Depression' },
  'gad-7': { coding: [{ system: SNOMED, code: '197480006', display: 'Anxiety disorder' }], text: 'Anxiety' },
};

/** The qualitative risk CaseBridge records for a band of an instrument. */
export function riskFor(instrument: InstrumentId, band: BandCode): QualitativeRisk {
  const risk = RISK_BY_BAND[instrument][band];
  if (risk === undefined) {
    throw new Error(`No risk mapping for ${instrument} band ${band}`);
  }
  return risk;
}

export function qualitativeRisk(risk: QualitativeRisk): CodeableConcept {
  return { coding: [{ system: SYSTEMS.riskProbability, code: risk, display: RISK_DISPLAYS[risk] }] };
}
