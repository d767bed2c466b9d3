/**
 * The standard instruments CaseBridge scores, in one place that the Questionnaires (profiles/),
 * scoring (scoring/) and the case API share: the canonical URL of the Questionnaire CaseBridge
 * publishes for each, and the LOINC codes of its panel, total score, items and answers.
 *
 * Conventions a Questionnaire (and so each QuestionnaireResponse) must follow to be scored:
 * - `url` is the canonical below (a response's `questionnaire` may add `|version`);
 * - items sit at the top level, not inside a group, and each item's linkId IS its LOINC item code;
 * - scored items are `choice` items answered with the LOINC answer codes below (valueCoding,
 *   system http://loinc.org); a response may also carry the item value as valueInteger 0-3;
 * - the optional calculated total item (linkId = the LOINC total code, valueInteger) may be present
 *   and must then equal the sum; any other linkId is an error. PHQ-9's unscored difficulty question
 *   (LOINC 69722-7) is not in CaseBridge's PHQ-9 Questionnaire, so it is refused too: add it to
 *   the instrument (as an item that is not summed) if the Questionnaire gains it.
 *
 * LOINC codes, where verified (see also ../shared/design/CASE-MANAGEMENT-FHIR.md §6):
 * - PHQ-9 panel 44249-1, total 44261-6, the nine item codes and the four LA answer codes: in the
 *   US Core examples, and as linkIds/answers in the HL7 Personal Health Record Format IG's PHQ-9
 *   example (HL7/personal-health-record-format-ig, QuestionnaireResponse-ScoredAssessment-PHQ9.fsh).
 * - GAD-7 panel 69737-5 and its seven item codes with the same LA answer codes: HL7 PHR Format IG
 *   (Questionnaire-ScoredAssessment-GAD7.fsh); total 70274-6: German MII PRO module
 *   (medizininformatik-initiative/kerndatensatzmodul-proms) and other third-party code.
 * - PHQ-2 panel 55757-9, total 55758-7 ("Patient Health Questionnaire 2 item (PHQ-2) total score
 *   [Reported]", as emitted by Synthea), items = PHQ-9 items 1 and 2: third-party sources only.
 * - PHQ-9 difficulty item 69722-7, answers LA6572-7, LA6573-5, LA6575-0, LA6574-3 (LHC-Forms and MII
 *   PHQ-9 Questionnaires; third-party sources disagree on which of LA6574-3 / LA6575-0 is "Very" and
 *   which "Extremely difficult"): not used, see above.
 * None of these was checked at loinc.org itself (no access from where this was written).
 */
import type { Coding } from '@medplum/fhirtypes';

export const LOINC_SYSTEM = 'http://loinc.org';

/** Base of the canonical URLs of CaseBridge's Questionnaires. */
export const QUESTIONNAIRE_BASE = 'http://casebridge.org/fhir/Questionnaire';

export type InstrumentId = 'phq-9' | 'phq-2' | 'gad-7';

export interface InstrumentItem {
  /** LOINC item code; also the item's linkId in the Questionnaire and in its responses. */
  readonly code: string;
  /** The question as the instrument words it (public domain, Pfizer: no permission required). */
  readonly text: string;
}

/** One answer of a LOINC answer list, with the points it scores when the item is scored. */
export interface InstrumentAnswer {
  readonly code: string;
  readonly display: string;
  readonly score: number;
}

export interface Instrument {
  readonly id: InstrumentId;
  /** Short human name: "PHQ-9". */
  readonly title: string;
  /** Canonical URL of CaseBridge's Questionnaire for it. */
  readonly url: string;
  /** LOINC panel (the Questionnaire's code; the RiskAssessment's method). */
  readonly panel: Required<Pick<Coding, 'system' | 'code' | 'display'>>;
  /**
   * LOINC code of the total score: the score Observation's code, and the linkId of the optional
   * calculated total item of a response (valueInteger, equal to the sum when present).
   */
  readonly total: Required<Pick<Coding, 'system' | 'code' | 'display'>>;
  /** What the instrument measures, for texts: "depression", "anxiety". */
  readonly construct: string;
  /** The scored items, in the instrument's order. */
  readonly items: readonly InstrumentItem[];
  /** The answers of every scored item. */
  readonly answers: readonly InstrumentAnswer[];
}

/** LOINC answers "over the last 2 weeks, how often…" shared by PHQ-9, PHQ-2 and GAD-7. */
export const FREQUENCY_ANSWERS: readonly InstrumentAnswer[] = [
  { code: 'LA6568-5', display: 'Not at all', score: 0 },
  { code: 'LA6569-3', display: 'Several days', score: 1 },
  { code: 'LA6570-1', display: 'More than half the days', score: 2 },
  { code: 'LA6571-9', display: 'Nearly every day', score: 3 },
];

/** PHQ-9 item 9: thoughts that you would be better off dead, or of hurting yourself. */
export const PHQ9_SELF_HARM_ITEM = '44260-8';

const PHQ9_ITEMS: readonly InstrumentItem[] = [
  { code: '44250-9', text: 'Little interest or pleasure in doing things' },
  { code: '44255-8', text: 'Feeling down, depressed, or hopeless' },
  { code: '44259-0', text: 'Trouble falling or staying asleep, or sleeping too much' },
  { code: '44254-1', text: 'Feeling tired or having little energy' },
  { code: '44251-7', text: 'Poor appetite or overeating' },
  { code: '44258-2', text: 'Feeling bad about yourself - or that you are a failure or have let yourself or your family down' },
  { code: '44252-5', text: 'Trouble concentrating on things, such as reading the newspaper or watching television' },
  {
    code: '44253-3',
    text: 'Moving or speaking so slowly that other people could have noticed. Or the opposite - being so fidgety or restless that you have been moving around a lot more than usual',
  },
  { code: PHQ9_SELF_HARM_ITEM, text: 'Thoughts that you would be better off dead, or of hurting yourself in some way' },
];

const loinc = (code: string, display: string) => ({ system: LOINC_SYSTEM, code, display });

export const PHQ9: Instrument = {
  id: 'phq-9',
  title: 'PHQ-9',
  url: `${QUESTIONNAIRE_BASE}/phq-9`,
  panel: loinc('44249-1', 'PHQ-9 quick depression assessment panel [Reported.PHQ]'),
  total: loinc('44261-6', 'Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]'),
  construct: 'depression',
  items: PHQ9_ITEMS,
  answers: FREQUENCY_ANSWERS,
};

export const PHQ2: Instrument = {
  id: 'phq-2',
  title: 'PHQ-2',
  url: `${QUESTIONNAIRE_BASE}/phq-2`,
  panel: loinc('55757-9', 'Patient Health Questionnaire 2 item (PHQ-2) [Reported]'),
  total: loinc('55758-7', 'Patient Health Questionnaire 2 item (PHQ-2) total score [Reported]'),
  construct: 'depression',
  items: PHQ9_ITEMS.slice(0, 2),
  answers: FREQUENCY_ANSWERS,
};

export const GAD7: Instrument = {
  id: 'gad-7',
  title: 'GAD-7',
  url: `${QUESTIONNAIRE_BASE}/gad-7`,
  panel: loinc('69737-5', 'Generalized anxiety disorder 7 item (GAD-7)'),
  total: loinc('70274-6', 'Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]'),
  construct: 'anxiety',
  items: [
    { code: '69725-0', text: 'Feeling nervous, anxious, or on edge' },
    { code: '68509-9', text: 'Not being able to stop or control worrying' },
    { code: '69733-4', text: 'Worrying too much about different things' },
    { code: '69734-2', text: 'Trouble relaxing' },
    { code: '69735-9', text: "Being so restless that it's hard to sit still" },
    { code: '69689-8', text: 'Becoming easily annoyed or irritable' },
    { code: '69736-7', text: 'Feeling afraid as if something awful might happen' },
  ],
  answers: FREQUENCY_ANSWERS,
};

export const INSTRUMENTS: readonly Instrument[] = [PHQ9, PHQ2, GAD7];

/**
 * The instrument a response answers, from its `questionnaire` canonical (a `|version` suffix is
 * ignored); undefined for a questionnaire CaseBridge does not score.
 */
export function instrumentFor(questionnaire: string | undefined): Instrument | undefined {
  if (questionnaire === undefined) {
    return undefined;
  }
  const url = questionnaire.split('|')[0];
  return INSTRUMENTS.find((i) => i.url === url);
}
