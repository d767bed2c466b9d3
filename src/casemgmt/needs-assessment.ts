/**
 * The comprehensive needs and psychosocial assessment (pure): its domains — those the seeds'
 * comprehensive assessment covers — and how each is coded. Questionnaire needs-assessment
 * (profiles/) asks, per domain, the level of need and a note; record-assessment writes the
 * response, one Observation per domain answered, and one Condition (a health concern) per domain
 * with a need, which a plan's goals can address (Goal.addresses).
 *
 * Where the Gravity Project has an SDOH domain (SDOHCC temporary codes), the Observation is also
 * categorised `sdoh` (US Core) and the Condition carries the domain as a category, so SDOH-aware
 * EHRs find them (Condition?category=housing-instability). Substance use, physical health and
 * legal have no such domain: they are categorised by CaseBridge's codes only.
 * See: http://hl7.org/fhir/us/sdoh-clinicalcare/ (SDOHCC Condition, Observation Assessment)
 */
import type { CodeableConcept } from '@medplum/fhirtypes';
import { CASE_MANAGEMENT_SYSTEM, coded } from './vocabulary';

export const NEEDS_QUESTIONNAIRE = 'http://casebridge.org/fhir/Questionnaire/needs-assessment';
export const SDOHCC_SYSTEM = 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes';

export interface Domain {
  readonly title: string;
  /** CaseBridge's code of the assessment (Observation.code). */
  readonly code: string;
  /** The Gravity SDOH domain, where there is one. */
  readonly sdoh?: { readonly code: string; readonly display: string };
}

export const DOMAINS = {
  housing: { title: 'Housing', code: 'need-housing', sdoh: { code: 'housing-instability', display: 'Housing Instability' } },
  income: { title: 'Income', code: 'need-income', sdoh: { code: 'financial-insecurity', display: 'Financial Insecurity' } },
  employment: { title: 'Employment', code: 'need-employment', sdoh: { code: 'employment-status', display: 'Employment Status' } },
  'social-support': { title: 'Social support', code: 'need-social-support', sdoh: { code: 'social-connection', display: 'Social Connection' } },
  'substance-use': { title: 'Substance use', code: 'need-substance-use' },
  'physical-health': { title: 'Physical health', code: 'need-physical-health' },
  legal: { title: 'Legal', code: 'need-legal' },
} as const satisfies Record<string, Domain>;

export type DomainKey = keyof typeof DOMAINS;
export const DOMAIN_KEYS = Object.keys(DOMAINS) as DomainKey[];

export const NEED_LEVELS = { 'no-need': 'No need', need: 'Need', 'urgent-need': 'Urgent need' } as const;
export type NeedLevel = keyof typeof NEED_LEVELS;

export const needConcept = (level: NeedLevel): CodeableConcept => coded(CASE_MANAGEMENT_SYSTEM, level, NEED_LEVELS[level]);
export const domainConcept = (key: DomainKey): CodeableConcept => coded(CASE_MANAGEMENT_SYSTEM, DOMAINS[key].code, `${DOMAINS[key].title} need`);
