/**
 * The items of a response from item scores: what a client answering on paper, or the case API
 * recording a screening, holds. Each answer is the instrument's LOINC answer code (valueCoding),
 * the form CaseBridge's Questionnaires ask for.
 */
import type { QuestionnaireResponseItem } from '@medplum/fhirtypes';
import { type Instrument, LOINC_SYSTEM } from '../instruments';

/** `scores[i]` answers the instrument's item i; throws when the scores do not fit the instrument. */
export function answeredItems(instrument: Instrument, scores: readonly number[]): QuestionnaireResponseItem[] {
  if (scores.length !== instrument.items.length) {
    throw new RangeError(`${instrument.title} has ${instrument.items.length} items, got ${scores.length} scores`);
  }
  return instrument.items.map((item, i) => {
    const answer = instrument.answers.find((a) => a.score === scores[i]);
    if (!answer) {
      throw new RangeError(`${scores[i]} is not a score of a ${instrument.title} item`);
    }
    return { linkId: item.code, text: item.text, answer: [{ valueCoding: { system: LOINC_SYSTEM, code: answer.code, display: answer.display } }] };
  });
}
