/**
 * Record a screening or assessment: a completed QuestionnaireResponse (cb-screening-response) to
 * CaseBridge's Questionnaire of the instrument, linked to the case; the write pipeline adds what
 * scoring derives from it (score Observation, RiskAssessment, PHQ-9 item 9 Flag: ../derivations)
 * to the same unit. Answers scoring refuses (out of range, missing, unknown items) are 422, located at the
 * command's field (`answers[3]`, `answers['44250-9']`).
 */
import type { QuestionnaireResponse, QuestionnaireResponseItem } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../fhir/outcomes';
import { loadCase } from '../case-record';
import { assertCommandAllowed } from '../lifecycle';
import { type CaseCommand, created } from '../command';
import { INSTRUMENTS, type Instrument, LOINC_SYSTEM } from '../instruments';
import { type RecordScreeningPayload, recordScreeningSchema } from '../schemas/record-screening';
import { caseLink, claiming, ref } from '../vocabulary';

export const recordScreening: CaseCommand<RecordScreeningPayload> = {
  name: 'record-screening',
  schema: recordScreeningSchema,
  async plan({ services, payload, params, ids }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertCommandAllowed(caseRecord.resource, 'record-screening', 'record a screening');
    const instrument = INSTRUMENTS.find((i) => i.id === payload.instrument) as Instrument;
    const { items, fields } = responseItems(instrument, payload.answers);
    const response: QuestionnaireResponse & { id: string } = {
      resourceType: 'QuestionnaireResponse',
      id: ids.next('screening'),
      ...claiming('cb-screening-response'),
      extension: [caseLink(caseRecord.resource.id)],
      questionnaire: instrument.url,
      status: 'completed',
      subject: ref(caseRecord.client),
      ...(payload.contact ? { encounter: ref(payload.contact) } : {}),
      authored: payload.authored,
      ...(payload.performer ? { author: ref(payload.performer) } : {}),
      item: items,
    };
    // Scoring derives from the response in the write pipeline; what it refuses is placed at the answers.
    return {
      caseId: caseRecord.resource.id,
      writes: [created(response)],
      locate: (err) => (err.code === 'BUSINESS_RULE' ? locatedInCommand(err, fields) : err),
    };
  },
};

/**
 * The response's items, in the instrument's order, and for each item index the command field it
 * came from. An answer that is one of the instrument's scores is written as its LOINC answer
 * code (as CaseBridge's Questionnaires ask); any other integer is written as it is, for scoring to
 * refuse with its location.
 */
function responseItems(instrument: Instrument, answers: RecordScreeningPayload['answers']): { items: QuestionnaireResponseItem[]; fields: string[] } {
  const given = new Map<string, { value: number; field: string }>();
  const unknown: string[] = [];
  if (Array.isArray(answers)) {
    answers.forEach((value, i) => {
      const item = instrument.items[i];
      if (item) given.set(item.code, { value, field: `answers[${i}]` });
      else unknown.push(`answers[${i}]`);
    });
  } else {
    for (const [key, value] of Object.entries(answers)) {
      const field = `answers['${key}']`;
      const item = /^\d+$/.test(key) ? instrument.items[Number(key) - 1] : instrument.items.find((it) => it.code === key);
      if (!item) unknown.push(field);
      else if (given.has(item.code)) throw refusal(instrument, [issue('BUSINESS_RULE', `${field} answers item ${key} again`, [field])]);
      else given.set(item.code, { value, field });
    }
  }
  if (unknown.length > 0) {
    throw refusal(
      instrument,
      unknown.map((field) => issue('BUSINESS_RULE', `${field}: ${instrument.title} has ${instrument.items.length} items; this is not one of them`, [field])),
    );
  }
  const items: QuestionnaireResponseItem[] = [];
  const fields: string[] = [];
  for (const item of instrument.items) {
    const answer = given.get(item.code);
    if (!answer) continue;
    const coded = instrument.answers.find((a) => a.score === answer.value);
    items.push({
      linkId: item.code,
      text: item.text,
      answer: [coded ? { valueCoding: { system: LOINC_SYSTEM, code: coded.code, display: coded.display } } : { valueInteger: answer.value }],
    });
    fields.push(answer.field);
  }
  return { items, fields };
}

function refusal(instrument: Instrument, issues: ReturnType<typeof issue>[]): FhirError {
  return new FhirError('BUSINESS_RULE', `These ${instrument.title} answers cannot be scored`, { issues });
}

/** Scoring locates problems in the response (`QuestionnaireResponse.item[3]…`); the caller wrote `answers[3]`. */
function locatedInCommand(err: FhirError, fields: readonly string[]): FhirError {
  const issues = err.outcome.issue.map((i) => ({
    ...i,
    ...(i.expression
      ? {
          expression: i.expression.map((e) => {
            const m = /^QuestionnaireResponse\.item\[(\d+)\]/.exec(e);
            if (m) return fields[Number(m[1])] ?? 'answers';
            return e.startsWith('QuestionnaireResponse.item') ? 'answers' : e;
          }),
        }
      : {}),
  }));
  return new FhirError('BUSINESS_RULE', err.message, { issues, cause: err });
}
