/**
 * Scores a QuestionnaireResponse to one of CaseBridge's instruments (../instruments.ts): the total,
 * its severity band (bands.ts), the items answered above zero and, for PHQ-9, whether item 9
 * (thoughts of self-harm) was. Pure: no I/O.
 *
 * A response that cannot be scored exactly is refused, never approximated: every problem
 * (missing, duplicate or unknown items, missing, extra, unknown or out-of-range answers, a
 * calculated total item that disagrees with the sum, a status other than completed or amended) becomes one
 * OperationOutcome issue located by a FHIRPath expression, and a FhirError BUSINESS_RULE (422)
 * carries them all. Missing answers are not prorated.
 *
 * Answers are accepted as valueCoding (a LOINC answer code of the instrument, system
 * http://loinc.org) or as valueInteger (the item's points, 0-3).
 * See: https://hl7.org/fhir/R4/questionnaireresponse.html
 */
import type { OperationOutcomeIssue, QuestionnaireResponse, QuestionnaireResponseItemAnswer } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../fhir/outcomes';
import { type Instrument, type InstrumentItem, LOINC_SYSTEM, PHQ9_SELF_HARM_ITEM, instrumentFor } from '../instruments';
import { type SeverityBand, bandFor } from './bands';

/** Response statuses that are scored; an in-progress response is stored but not scored. */
export const SCORED_STATUSES: readonly string[] = ['completed', 'amended'];

export interface ItemScore {
  /** The LOINC item code (the item's linkId). */
  readonly code: string;
  readonly score: number;
  /** Where the answer is in the response: `QuestionnaireResponse.item[3].answer[0]`. */
  readonly expression: string;
}

export interface InstrumentScore {
  readonly instrument: Instrument;
  readonly total: number;
  readonly band: SeverityBand;
  /** Every scored item, in the instrument's order. */
  readonly items: readonly ItemScore[];
  /** LOINC codes of the items answered above zero ("positive"), in the instrument's order. */
  readonly positiveItems: readonly string[];
  /** PHQ-9 only: item 9 (44260-8, thoughts of self-harm) answered above zero. */
  readonly selfHarmPositive?: boolean;
}

/**
 * Scores `response` with `instrument` (by default the one its `questionnaire` names). Throws
 * FhirError BUSINESS_RULE with one located issue per problem when it cannot be scored exactly.
 */
export function scoreResponse(response: QuestionnaireResponse, instrument: Instrument | undefined = instrumentFor(response.questionnaire)): InstrumentScore {
  if (instrument === undefined) {
    throw refusal('This response cannot be scored', [
      problem(`${JSON.stringify(response.questionnaire ?? null)} is not a questionnaire CaseBridge scores`, 'QuestionnaireResponse.questionnaire'),
    ]);
  }
  if (!SCORED_STATUSES.includes(response.status)) {
    throw refusal(`This ${instrument.title} response cannot be scored`, [
      problem(`A ${instrument.title} response with status "${response.status}" is not scored: only completed or amended responses are`, 'QuestionnaireResponse.status'),
    ]);
  }
  const reading = readItems(response, instrument);
  const issues = [...reading.issues];
  for (const item of instrument.items) {
    if (!reading.seen.has(item.code)) {
      issues.push(problem(`${instrument.title} item ${describe(item)} is not answered: every item must be answered to score ${instrument.title}`, 'QuestionnaireResponse.item'));
    }
  }
  const items = instrument.items.flatMap((item) => reading.scores.get(item.code) ?? []);
  const total = items.reduce((sum, item) => sum + item.score, 0);
  if (issues.length === 0 && reading.claimedTotal && reading.claimedTotal.value !== total) {
    issues.push(
      problem(`The ${instrument.title} total given in the response (${reading.claimedTotal.value}) is not the sum of its answers (${total})`, reading.claimedTotal.expression),
    );
  }
  if (issues.length > 0) {
    throw refusal(`This ${instrument.title} response cannot be scored`, issues);
  }
  return {
    instrument,
    total,
    band: bandFor(instrument.id, total),
    items,
    positiveItems: items.filter((i) => i.score > 0).map((i) => i.code),
    ...(instrument.id === 'phq-9' ? { selfHarmPositive: (reading.scores.get(PHQ9_SELF_HARM_ITEM)?.score ?? 0) > 0 } : {}),
  };
}

interface Reading {
  readonly issues: OperationOutcomeIssue[];
  /** linkId → index of the item that answered it first. */
  readonly seen: Map<string, number>;
  readonly scores: Map<string, ItemScore>;
  claimedTotal?: { value: number; expression: string };
}

function readItems(response: QuestionnaireResponse, instrument: Instrument): Reading {
  const reading: Reading = { issues: [], seen: new Map(), scores: new Map() };
  (response.item ?? []).forEach((item, index) => {
    const at = `QuestionnaireResponse.item[${index}]`;
    const scored = instrument.items.find((i) => i.code === item.linkId);
    const isTotal = item.linkId === instrument.total.code;
    if (!scored && !isTotal) {
      reading.issues.push(problem(`Item "${item.linkId}" is not an item of ${instrument.title}`, `${at}.linkId`));
      return;
    }
    const first = reading.seen.get(item.linkId);
    if (first !== undefined) {
      reading.issues.push(problem(`${instrument.title} item ${item.linkId} is answered more than once (first at item[${first}])`, at));
      return;
    }
    reading.seen.set(item.linkId, index);
    (item.item ?? []).forEach((_, k) => reading.issues.push(problem(`${instrument.title} item ${item.linkId} has no sub-items`, `${at}.item[${k}]`)));
    const answers = item.answer ?? [];
    answers.forEach((answer, k) => {
      (answer.item ?? []).forEach((_, n) => reading.issues.push(problem(`${instrument.title} item ${item.linkId} has no sub-items`, `${at}.answer[${k}].item[${n}]`)));
      if (k > 0) {
        reading.issues.push(problem(`${instrument.title} item ${item.linkId} takes one answer`, `${at}.answer[${k}]`));
      }
    });
    const answer = answers[0];
    if (answer === undefined) {
      if (scored) {
        reading.issues.push(problem(`${instrument.title} item ${describe(scored)} has no answer`, at));
      }
      return;
    }
    const answerAt = `${at}.answer[0]`;
    if (scored) {
      const score = itemScore(instrument, answer, answerAt);
      if (typeof score === 'number') {
        reading.scores.set(item.linkId, { code: item.linkId, score, expression: answerAt });
      } else {
        reading.issues.push(score);
      }
      return;
    }
    const claimed = claimedTotal(instrument, answer, answerAt);
    if ('value' in claimed) {
      reading.claimedTotal = claimed;
    } else {
      reading.issues.push(claimed);
    }
  });
  return reading;
}

/** The points of a scored item's answer, or the issue that prevents reading them. */
function itemScore(instrument: Instrument, answer: QuestionnaireResponseItemAnswer, at: string): number | OperationOutcomeIssue {
  const max = Math.max(...instrument.answers.map((a) => a.score));
  const key = valueKey(answer);
  if (key === 'valueCoding') {
    const coding = answer.valueCoding ?? {};
    const found = coding.system === LOINC_SYSTEM ? instrument.answers.find((a) => a.code === coding.code) : undefined;
    if (!found) {
      return problem(`${codingText(coding)} is not a ${instrument.title} answer: expected one of ${instrument.answers.map((a) => a.code).join(', ')} (system ${LOINC_SYSTEM})`, `${at}.valueCoding`);
    }
    return found.score;
  }
  if (key === 'valueInteger') {
    const value = answer.valueInteger as number;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      return problem(`${value} is out of range for a ${instrument.title} item: expected an integer from 0 to ${max}`, `${at}.valueInteger`);
    }
    return value;
  }
  return problem(`A ${instrument.title} answer must be a valueCoding (LOINC answer code) or a valueInteger (0-${max}), not ${key ?? 'empty'}`, at);
}

/** The calculated total a response gives (an integer), or the issue with it. */
function claimedTotal(instrument: Instrument, answer: QuestionnaireResponseItemAnswer, at: string): { value: number; expression: string } | OperationOutcomeIssue {
  const key = valueKey(answer);
  const value = key === 'valueInteger' ? answer.valueInteger : key === 'valueDecimal' ? answer.valueDecimal : undefined;
  if (value !== undefined && Number.isInteger(value)) {
    return { value, expression: `${at}.${key}` };
  }
  return problem(`The ${instrument.title} total (${instrument.total.code}) must be a valueInteger`, key === undefined ? at : `${at}.${key}`);
}

/** The answer's value[x] element name, e.g. "valueCoding"; undefined when it has none. */
function valueKey(answer: QuestionnaireResponseItemAnswer): string | undefined {
  return Object.keys(answer).find((k) => k.startsWith('value'));
}

function codingText(coding: { system?: string; code?: string }): string {
  return `${coding.system ?? '(no system)'}|${coding.code ?? '(no code)'}`;
}

function describe(item: InstrumentItem): string {
  return `${item.code} ("${item.text}")`;
}

function problem(message: string, expression: string): OperationOutcomeIssue {
  return issue('BUSINESS_RULE', message, [expression]);
}

function refusal(message: string, issues: OperationOutcomeIssue[]): FhirError {
  return new FhirError('BUSINESS_RULE', message, { issues });
}
