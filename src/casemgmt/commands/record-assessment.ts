/**
 * Record the comprehensive needs and psychosocial assessment (needs-assessment.ts): a
 * QuestionnaireResponse to Questionnaire needs-assessment (case link, author), one Observation per
 * domain answered (category social-history, and sdoh where Gravity has the domain; value the
 * level of need; derivedFrom the response) and, for each domain with a need, a Condition
 * (health-concern, the SDOH domain as a category; evidence → the Observation) that a plan's goals
 * can address (`goals[].addresses`).
 */
import type { Condition, Observation, QuestionnaireResponse } from '@medplum/fhirtypes';
import { loadCase } from '../case-record';
import { type CaseCommand, created } from '../command';
import { assertCommandAllowed } from '../lifecycle';
import { DOMAINS, DOMAIN_KEYS, NEEDS_QUESTIONNAIRE, NEED_LEVELS, SDOHCC_SYSTEM, domainConcept, needConcept } from '../needs-assessment';
import { type RecordAssessmentPayload, recordAssessmentSchema } from '../schemas/record-assessment';
import { CASE_MANAGEMENT_SYSTEM, SYSTEMS, caseLink, coded, coding, localReference, ref } from '../vocabulary';

const SOCIAL_HISTORY = coded('http://terminology.hl7.org/CodeSystem/observation-category', 'social-history', 'Social History');
const SDOH = coded('http://hl7.org/fhir/us/core/CodeSystem/us-core-category', 'sdoh', 'SDOH');

export const recordAssessment: CaseCommand<RecordAssessmentPayload> = {
  name: 'record-assessment',
  schema: recordAssessmentSchema,
  async plan({ services, payload, params, ids }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertCommandAllowed(caseRecord.resource, 'record-assessment', 'record an assessment');
    const performer = payload.performer ?? payload.recordedBy ?? localReference(caseRecord.resource.careManager);
    const answered = DOMAIN_KEYS.filter((k) => payload.domains[k] !== undefined);
    const response: QuestionnaireResponse & { id: string } = {
      resourceType: 'QuestionnaireResponse',
      id: ids.next('assessment'),
      extension: [caseLink(caseRecord.resource.id)],
      questionnaire: NEEDS_QUESTIONNAIRE,
      status: 'completed',
      subject: ref(caseRecord.client),
      ...(payload.contact ? { encounter: ref(payload.contact) } : {}),
      authored: payload.authored,
      ...(performer ? { author: ref(performer) } : {}),
      item: answered.map((k) => {
        const answer = payload.domains[k] as NonNullable<RecordAssessmentPayload['domains'][typeof k]>;
        return {
          linkId: k,
          text: DOMAINS[k].title,
          item: [
            { linkId: `${k}.need`, text: 'Level of need', answer: [{ valueCoding: coding(CASE_MANAGEMENT_SYSTEM, answer.need, NEED_LEVELS[answer.need]) }] },
            ...(answer.note ? [{ linkId: `${k}.note`, text: 'Notes', answer: [{ valueString: answer.note }] }] : []),
          ],
        };
      }),
    };
    const writes = [created(response)];
    for (const k of answered) {
      const answer = payload.domains[k] as NonNullable<RecordAssessmentPayload['domains'][typeof k]>;
      const domain = DOMAINS[k];
      const sdoh = 'sdoh' in domain ? domain.sdoh : undefined;
      const observation: Observation & { id: string } = {
        resourceType: 'Observation',
        id: ids.next(`assessment-${k}`),
        extension: [caseLink(caseRecord.resource.id)],
        status: 'final',
        category: [SOCIAL_HISTORY, ...(sdoh ? [SDOH] : [])],
        code: domainConcept(k),
        subject: ref(caseRecord.client),
        ...(payload.contact ? { encounter: ref(payload.contact) } : {}),
        effectiveDateTime: payload.authored,
        ...(performer ? { performer: [ref(performer)] } : {}),
        valueCodeableConcept: needConcept(answer.need),
        ...(answer.note ? { note: [{ text: answer.note }] } : {}),
        derivedFrom: [ref(`QuestionnaireResponse/${response.id}`)],
      };
      writes.push(created(observation));
      if (answer.need === 'no-need') continue;
      const condition: Condition & { id: string } = {
        resourceType: 'Condition',
        id: ids.next(`need-${k}`),
        clinicalStatus: coded(SYSTEMS.conditionClinical, 'active', 'Active'),
        verificationStatus: coded('http://terminology.hl7.org/CodeSystem/condition-ver-status', 'confirmed', 'Confirmed'),
        category: [coded(SYSTEMS.usCoreConditionCategory, 'health-concern', 'Health Concern'), ...(sdoh ? [coded(SDOHCC_SYSTEM, sdoh.code, sdoh.display)] : [])],
        ...(answer.need === 'urgent-need' ? { severity: coded('http://snomed.info/sct', '24484000', 'Severe') } : {}),
        code: { ...(answer.code ? { coding: [coding(answer.code.system, answer.code.code, answer.code.display)] } : {}), text: `${domain.title} need${answer.note ? `: ${answer.note}` : ''}`.slice(0, 1000) },
        subject: ref(caseRecord.client),
        onsetDateTime: payload.authored,
        recordedDate: payload.authored,
        ...(performer ? { recorder: ref(performer) } : {}),
        evidence: [{ detail: [ref(`Observation/${observation.id}`)] }],
      };
      writes.push(created(condition));
    }
    return { caseId: caseRecord.resource.id, writes };
  },
};
