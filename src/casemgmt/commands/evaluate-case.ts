/**
 * Evaluate the case's outcomes (phase 9), at or after closure: an Observation (code
 * case-management#case-evaluation, value the outcome, components the goals met out of the goals,
 * the PHQ-9 at intake and at the last screening, derivedFrom those scores; the case link
 * workflow-episodeOfCare, focus the EpisodeOfCare) — the numbers computed from the record
 * (outcomes.ts), so the evaluation cannot contradict it — and the case manager's narrative as a
 * case note. The case view keeps showing it after closure.
 */
import type { Observation, ObservationComponent } from '@medplum/fhirtypes';
import { loadCase } from '../case-record';
import { type CaseCommand, created } from '../command';
import { assertCommandAllowed } from '../lifecycle';
import { loadCaseData } from '../outcome-data';
import { caseOutcome } from '../outcomes';
import { type EvaluateCasePayload, evaluateCaseSchema } from '../schemas/evaluate-case';
import { CASE_MANAGEMENT_SYSTEM, caseLink, coded, ref, today } from '../vocabulary';
import { authorOf, caseNote } from './contact';

export const OUTCOME_DISPLAYS: Record<EvaluateCasePayload['outcome'], string> = {
  'goals-met': 'Goals met',
  'goals-partly-met': 'Goals partly met',
  'goals-not-met': 'Goals not met',
  disengaged: 'Client disengaged',
};

export const evaluateCase: CaseCommand<EvaluateCasePayload> = {
  name: 'evaluate-case',
  schema: evaluateCaseSchema,
  async plan({ services, payload, params, ids, now, agent }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertCommandAllowed(caseRecord.resource, 'evaluate-case', 'evaluate it');
    const date = payload.date ?? today(now);
    const [data] = await loadCaseData(services, { caseId: caseRecord.resource.id });
    const outcome = data ? caseOutcome(data) : undefined;
    const component = (code: string, display: string, value: number | undefined): ObservationComponent[] =>
      value === undefined ? [] : [{ code: coded(CASE_MANAGEMENT_SYSTEM, code, display), valueInteger: value }];
    const performer = payload.recordedBy ?? caseRecord.resource.careManager?.reference;
    const observation: Observation & { id: string } = {
      resourceType: 'Observation',
      id: ids.next('evaluation'),
      extension: [caseLink(caseRecord.resource.id)],
      status: 'final',
      code: coded(CASE_MANAGEMENT_SYSTEM, 'case-evaluation', 'Case outcome evaluation'),
      subject: ref(caseRecord.client),
      focus: [ref(`EpisodeOfCare/${caseRecord.resource.id}`)],
      effectiveDateTime: date,
      ...(performer ? { performer: [ref(performer)] } : {}),
      valueCodeableConcept: coded(CASE_MANAGEMENT_SYSTEM, payload.outcome, OUTCOME_DISPLAYS[payload.outcome]),
      component: [
        ...component('goals-total', 'Goals of the plan', outcome?.goals.total),
        ...component('goals-achieved', 'Goals achieved', outcome?.goals.achieved),
        ...component('phq9-at-intake', 'PHQ-9 total at intake', outcome?.phq9.intake?.score),
        ...component('phq9-at-evaluation', 'PHQ-9 total at the last screening', outcome?.phq9.latest?.score),
      ],
      ...(outcome && (outcome.phq9.intake || outcome.phq9.latest)
        ? { derivedFrom: [outcome.phq9.intake, outcome.phq9.latest].filter((p) => p !== null).map((p) => ref(p.observation)) }
        : {}),
      note: [{ text: payload.summary }],
    };
    const note = caseNote({
      id: ids.next('evaluation-note'),
      caseRecord,
      type: 'social-work-note',
      text: payload.summary,
      date: now.toISOString(),
      author: authorOf(agent, caseRecord),
      context: [],
      period: { start: date },
      description: `Case evaluation: ${OUTCOME_DISPLAYS[payload.outcome]}`,
    });
    return { caseId: caseRecord.resource.id, writes: [created(observation), created(note)] };
  },
};
