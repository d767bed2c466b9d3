/**
 * The two standard instruments the synthetic clients answer: PHQ-9 (depression) and GAD-7
 * (anxiety). Item and answer codes are LOINC (LL358-3 answer list: 0–3 per item); the total is
 * the sum of the item scores. See: https://loinc.org/44249-1 and https://loinc.org/69737-5
 */
import type { Questionnaire, QuestionnaireItem } from '@medplum/fhirtypes';
import { EXTENSION, QUESTIONNAIRE_BASE, SYSTEM } from './vocabulary';

export interface Answer {
  readonly code: string;
  readonly display: string;
  readonly score: number;
}

/** LOINC answer list LL358-3, shared by PHQ-9 and GAD-7 items. */
export const ANSWERS: readonly Answer[] = [
  { code: 'LA6568-5', display: 'Not at all', score: 0 },
  { code: 'LA6569-3', display: 'Several days', score: 1 },
  { code: 'LA6570-1', display: 'More than half the days', score: 2 },
  { code: 'LA6571-9', display: 'Nearly every day', score: 3 },
];

export interface Instrument {
  readonly key: 'phq-9' | 'gad-7';
  readonly id: string;
  readonly name: string;
  readonly title: string;
  readonly panel: { code: string; display: string };
  readonly total: { code: string; display: string };
  readonly items: readonly { code: string; text: string }[];
  /** Lower bounds of the severity bands, highest first. */
  readonly bands: readonly (readonly [number, string])[];
}

export const PHQ9: Instrument = {
  key: 'phq-9',
  id: 'casebridge-phq-9',
  name: 'PHQ9',
  title: 'Patient Health Questionnaire-9 (PHQ-9)',
  panel: { code: '44249-1', display: 'PHQ-9 quick depression assessment panel [Reported.PHQ]' },
  total: { code: '44261-6', display: 'Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]' },
  items: [
    { code: '44250-9', text: 'Little interest or pleasure in doing things' },
    { code: '44255-8', text: 'Feeling down, depressed, or hopeless' },
    { code: '44259-0', text: 'Trouble falling or staying asleep, or sleeping too much' },
    { code: '44254-1', text: 'Feeling tired or having little energy' },
    { code: '44251-7', text: 'Poor appetite or overeating' },
    { code: '44258-2', text: 'Feeling bad about yourself - or that you are a failure or have let yourself or your family down' },
    { code: '44252-5', text: 'Trouble concentrating on things, such as reading the newspaper or watching television' },
    { code: '44253-3', text: 'Moving or speaking so slowly that other people could have noticed, or the opposite - being so fidgety or restless that you have been moving around a lot more than usual' },
    { code: '44260-8', text: 'Thoughts that you would be better off dead, or of hurting yourself in some way' },
  ],
  bands: [[20, 'severe'], [15, 'moderately severe'], [10, 'moderate'], [5, 'mild'], [0, 'minimal']],
};

export const GAD7: Instrument = {
  key: 'gad-7',
  id: 'casebridge-gad-7',
  name: 'GAD7',
  title: 'Generalized Anxiety Disorder 7-item (GAD-7)',
  panel: { code: '69737-5', display: 'Generalized anxiety disorder 7 item (GAD-7)' },
  total: { code: '70274-6', display: 'Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]' },
  items: [
    { code: '69725-0', text: 'Feeling nervous, anxious, or on edge' },
    { code: '68509-9', text: 'Not being able to stop or control worrying' },
    { code: '69733-4', text: 'Worrying too much about different things' },
    { code: '69734-2', text: 'Trouble relaxing' },
    { code: '69735-9', text: 'Being so restless that it is hard to sit still' },
    { code: '69689-8', text: 'Becoming easily annoyed or irritable' },
    { code: '69736-7', text: 'Feeling afraid, as if something awful might happen' },
  ],
  bands: [[15, 'severe'], [10, 'moderate'], [5, 'mild'], [0, 'minimal']],
};

export const INSTRUMENTS: readonly Instrument[] = [PHQ9, GAD7];

export const VERSION = '1.0.0';

export function canonical(instrument: Instrument): string {
  return `${QUESTIONNAIRE_BASE}/${instrument.key}|${VERSION}`;
}

export function severity(instrument: Instrument, total: number): string {
  return (instrument.bands.find(([low]) => total >= low) ?? instrument.bands[instrument.bands.length - 1] ?? [0, ''])[1];
}

export function answerFor(score: number): Answer {
  return ANSWERS[Math.max(0, Math.min(3, score))] as Answer;
}

/** The Questionnaire each QuestionnaireResponse points at; answer scores as ordinalValue. */
export function questionnaire(instrument: Instrument): Questionnaire {
  const items: QuestionnaireItem[] = instrument.items.map((item) => ({
    linkId: item.code,
    code: [{ system: SYSTEM.loinc, code: item.code, display: item.text }],
    text: item.text,
    type: 'choice',
    required: true,
    answerOption: ANSWERS.map((a) => ({
      extension: [{ url: EXTENSION.ordinalValue, valueDecimal: a.score }],
      valueCoding: { system: SYSTEM.loinc, code: a.code, display: a.display },
    })),
  }));
  items.push({
    linkId: instrument.total.code,
    code: [{ system: SYSTEM.loinc, code: instrument.total.code, display: instrument.total.display }],
    text: 'Total score',
    type: 'integer',
    readOnly: true,
  });
  return {
    resourceType: 'Questionnaire',
    id: instrument.id,
    url: `${QUESTIONNAIRE_BASE}/${instrument.key}`,
    version: VERSION,
    name: instrument.name,
    title: instrument.title,
    status: 'active',
    subjectType: ['Patient'],
    code: [{ system: SYSTEM.loinc, code: instrument.panel.code, display: instrument.panel.display }],
    item: items,
  };
}
