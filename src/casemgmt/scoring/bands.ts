/**
 * Severity bands of each instrument's total score, as published by the instrument's authors.
 *
 * - PHQ-9: Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression
 *   severity measure. J Gen Intern Med. 2001;16(9):606-613. doi:10.1046/j.1525-1497.2001.016009606.x
 *   — "PHQ-9 scores of 5, 10, 15, and 20 represented mild, moderate, moderately severe, and severe
 *   depression, respectively": 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe.
 * - GAD-7: Spitzer RL, Kroenke K, Williams JBW, Löwe B. A brief measure for assessing generalized
 *   anxiety disorder: the GAD-7. Arch Intern Med. 2006;166(10):1092-1097.
 *   doi:10.1001/archinte.166.10.1092 — "Cut points of 5, 10, and 15 might be interpreted as
 *   representing mild, moderate, and severe levels of anxiety on the GAD-7": 0-4 minimal, 5-9 mild,
 *   10-14 moderate, 15-21 severe.
 * - PHQ-2: Kroenke K, Spitzer RL, Williams JBW. The Patient Health Questionnaire-2: validity of a
 *   two-item depression screener. Med Care. 2003;41(11):1284-1292.
 *   doi:10.1097/01.MLR.0000093487.78664.3C — "a PHQ-2 score ≥3 had a sensitivity of 83% and a
 *   specificity of 92% for major depression … a PHQ-2 score of 3 as the optimal cutpoint for
 *   screening purposes": 0-2 negative, 3-6 positive screen.
 *
 * Band codes come from CaseBridge's own code system (SEVERITY_BAND_SYSTEM): the HL7
 * ObservationInterpretation code system has no severity levels, and no LOINC answer list for these
 * bands could be verified. PHQ-2's bands are also coded with ObservationInterpretation POS / NEG,
 * which mean the same thing.
 */
import type { Coding } from '@medplum/fhirtypes';
import type { InstrumentId } from '../instruments';

/** CaseBridge code system of score severity bands (to be published with profiles/). */
export const SEVERITY_BAND_SYSTEM = 'http://casebridge.org/fhir/CodeSystem/severity-band';

export const OBSERVATION_INTERPRETATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

export type BandCode = 'minimal' | 'mild' | 'moderate' | 'moderately-severe' | 'severe' | 'screen-negative' | 'screen-positive';

/** Display of each band code in SEVERITY_BAND_SYSTEM, the same whatever the instrument. */
export const BAND_DISPLAYS: Readonly<Record<BandCode, string>> = {
  minimal: 'Minimal',
  mild: 'Mild',
  moderate: 'Moderate',
  'moderately-severe': 'Moderately severe',
  severe: 'Severe',
  'screen-negative': 'Negative screen',
  'screen-positive': 'Positive screen',
};

export interface SeverityBand {
  readonly code: BandCode;
  /** Lowest and highest total score in the band, inclusive. */
  readonly min: number;
  readonly max: number;
  /** Reads on its own: "Moderate depression (PHQ-9 10-14)". */
  readonly text: string;
  /** Further codings meaning the same band (PHQ-2: ObservationInterpretation POS / NEG). */
  readonly equivalents?: readonly Coding[];
}

const band = (code: BandCode, [min, max]: [number, number], text: string, equivalents?: Coding[]): SeverityBand => ({
  code,
  min,
  max,
  text,
  ...(equivalents ? { equivalents } : {}),
});

export const BANDS: Readonly<Record<InstrumentId, readonly SeverityBand[]>> = {
  'phq-9': [
    band('minimal', [0, 4], 'Minimal depression (PHQ-9 0-4)'),
    band('mild', [5, 9], 'Mild depression (PHQ-9 5-9)'),
    band('moderate', [10, 14], 'Moderate depression (PHQ-9 10-14)'),
    band('moderately-severe', [15, 19], 'Moderately severe depression (PHQ-9 15-19)'),
    band('severe', [20, 27], 'Severe depression (PHQ-9 20-27)'),
  ],
  'gad-7': [
    band('minimal', [0, 4], 'Minimal anxiety (GAD-7 0-4)'),
    band('mild', [5, 9], 'Mild anxiety (GAD-7 5-9)'),
    band('moderate', [10, 14], 'Moderate anxiety (GAD-7 10-14)'),
    band('severe', [15, 21], 'Severe anxiety (GAD-7 15-21)'),
  ],
  'phq-2': [
    band('screen-negative', [0, 2], 'Negative depression screen (PHQ-2 below 3)', [{ system: OBSERVATION_INTERPRETATION_SYSTEM, code: 'NEG', display: 'Negative' }]),
    band('screen-positive', [3, 6], 'Positive depression screen (PHQ-2 3 or more)', [{ system: OBSERVATION_INTERPRETATION_SYSTEM, code: 'POS', display: 'Positive' }]),
  ],
};

/** The band a total falls in; throws for a total outside the instrument's range (a bug upstream). */
export function bandFor(instrument: InstrumentId, total: number): SeverityBand {
  const found = BANDS[instrument].find((b) => total >= b.min && total <= b.max);
  if (!found) {
    throw new Error(`${instrument} total ${total} is outside every severity band`);
  }
  return found;
}
