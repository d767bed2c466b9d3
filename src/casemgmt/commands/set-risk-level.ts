/**
 * Set the risk level: a RiskAssessment (cb-risk-assessment) of the case manager's judgement,
 * method "case manager judgement", one prediction with the qualitative risk and its rationale.
 * A high level also raises a safety Flag (cb-risk-flag, code case-management#high-risk, its
 * flag-detail → the RiskAssessment); every later risk level ends the high-risk Flags still
 * active for the client (status inactive, period.end), so the flags say what the latest
 * judgement says. Flags raised otherwise (PHQ-9 item 9, significant events) are left alone.
 * See: https://hl7.org/fhir/R4/riskassessment.html, https://hl7.org/fhir/R4/flag.html
 */
import type { Flag, RiskAssessment } from '@medplum/fhirtypes';
import type { PlannedWrite } from '../../store/repository';
import { loadCase, searchAll } from '../case-record';
import { assertCommandAllowed } from '../lifecycle';
import { withoutServerMeta } from '../../fhir/resource-body';
import { type CaseCommand, created, updated } from '../command';
import { type SetRiskLevelPayload, setRiskLevelSchema } from '../schemas/set-risk-level';
import { qualitativeRisk } from '../derivations/risk';
import { CASE_MANAGEMENT_SYSTEM, claiming, coding, ref, safetyFlag } from '../vocabulary';

export const HIGH_RISK = coding(CASE_MANAGEMENT_SYSTEM, 'high-risk', 'High risk');

export const setRiskLevel: CaseCommand<SetRiskLevelPayload> = {
  name: 'set-risk-level',
  schema: setRiskLevelSchema,
  async plan({ services, payload, params, ids, now }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertCommandAllowed(caseRecord.resource, 'set-risk-level', 'set the risk level');
    const assessed = payload.assessed ?? now.toISOString();
    const performer = payload.assessedBy ?? payload.recordedBy;
    const concern = payload.concern ?? 'Risk of harm to self or others';
    const assessment: RiskAssessment & { id: string } = {
      resourceType: 'RiskAssessment',
      id: ids.next('risk'),
      ...claiming('cb-risk-assessment'),
      status: 'final',
      method: { text: 'Case manager judgement' },
      code: { text: concern },
      subject: ref(caseRecord.client),
      occurrenceDateTime: assessed,
      ...(performer ? { performer: ref(performer) } : {}),
      ...(payload.basis ? { basis: payload.basis.map((b) => ref(b)) } : {}),
      prediction: [{ outcome: { text: concern }, qualitativeRisk: qualitativeRisk(payload.level), rationale: payload.rationale }],
    };
    const writes: PlannedWrite[] = [created(assessment)];
    // The flags say what the latest judgement says: earlier high-risk flags end here, and a
    // high level raises its own (pointing at this assessment and its rationale).
    const flags = await searchAll(services, 'Flag', { patient: caseRecord.client });
    for (const found of flags.matches) {
      const flag = found.resource as Flag & { id: string };
      if (flag.status === 'active' && flag.code.coding?.some((c) => c.system === HIGH_RISK.system && c.code === HIGH_RISK.code)) {
        writes.push(updated({ ...withoutServerMeta(flag), status: 'inactive', period: { ...flag.period, end: laterOf(assessed, flag.period?.start) } }, found.versionId));
      }
    }
    if (payload.level === 'high') {
      const flag = safetyFlag({
        id: ids.next('risk-flag'),
        detail: `RiskAssessment/${assessment.id}`,
        code: { coding: [HIGH_RISK], text: `High risk: ${payload.rationale}` },
        subject: caseRecord.client,
        start: assessed,
        ...(performer ? { author: ref(performer) } : {}),
      });
      writes.push(created(flag));
    }
    return { caseId: caseRecord.resource.id, writes };
  },
};

/** The end of a period cannot precede its start. */
function laterOf(at: string, start: string | undefined): string {
  return start !== undefined && new Date(start).getTime() > new Date(at).getTime() ? start : at;
}
