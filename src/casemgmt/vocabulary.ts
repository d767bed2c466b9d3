/**
 * The FHIR vocabulary of the case API in one place: CaseBridge's canonical URLs and profiles
 * (profiles/, docs/profiles.md), the extensions and code systems the mapping uses, and small
 * builders for references and codings.
 */
import type { CodeableConcept, Coding, Extension, Flag, HumanName, Reference } from '@medplum/fhirtypes';

export const CB = 'http://casebridge.org/fhir';
export const CASE_MANAGEMENT_SYSTEM = `${CB}/CodeSystem/case-management`;
export const profile = (name: ProfileName): string => `${CB}/StructureDefinition/${name}`;

export type ProfileName =
  | 'cb-client'
  | 'cb-case'
  | 'cb-service-plan'
  | 'cb-goal'
  | 'cb-objective'
  | 'cb-planned-intervention'
  | 'cb-referral'
  | 'cb-referral-task'
  | 'cb-contact'
  | 'cb-case-note'
  | 'cb-screening-response'
  | 'cb-score-observation'
  | 'cb-risk-assessment'
  | 'cb-risk-flag'
  | 'cb-consent';

export const claiming = (...names: ProfileName[]) => ({ meta: { profile: names.map(profile) } });

// R4 core extensions. See: https://hl7.org/fhir/R4/extension-workflow-episodeofcare.html,
// extension-goal-relationship.html, extension-resource-pertainstogoal.html, extension-flag-detail.html
export const WORKFLOW_EPISODE = 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare';
export const GOAL_RELATIONSHIP = 'http://hl7.org/fhir/StructureDefinition/goal-relationship';
export const PERTAINS_TO_GOAL = 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal';
export const FLAG_DETAIL = 'http://hl7.org/fhir/StructureDefinition/flag-detail';

export const SYSTEMS = {
  loinc: 'http://loinc.org',
  usCoreCarePlanCategory: 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category',
  usCoreDocumentCategory: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
  usCoreConditionCategory: 'http://hl7.org/fhir/us/core/CodeSystem/condition-category',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  goalAchievement: 'http://terminology.hl7.org/CodeSystem/goal-achievement',
  goalPriority: 'http://terminology.hl7.org/CodeSystem/goal-priority',
  goalRelationshipType: 'http://terminology.hl7.org/CodeSystem/goal-relationship-type',
  taskCode: 'http://hl7.org/fhir/CodeSystem/task-code',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  confidentiality: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  consentScope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  consentPolicy: 'http://terminology.hl7.org/CodeSystem/consentpolicycodes',
  flagCategory: 'http://terminology.hl7.org/CodeSystem/flag-category',
  riskProbability: 'http://terminology.hl7.org/CodeSystem/risk-probability',
  provenanceParticipant: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
  dataOperation: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
  nucc: 'http://nucc.org/provider-taxonomy',
  diagnosisRole: 'http://terminology.hl7.org/CodeSystem/diagnosis-role',
} as const;

export const ref = (reference: string, display?: string): Reference<never> => ({ reference, ...(display ? { display } : {}) });

export const coding = (system: string, code: string, display?: string): Coding => ({ system, code, ...(display ? { display } : {}) });

export const coded = (system: string, code: string, display?: string, text?: string): CodeableConcept => ({
  coding: [coding(system, code, display)],
  ...(text ? { text } : {}),
});

/** An active safety alert (cb-risk-flag); flag-detail points at the record that raised it. */
export function safetyFlag(input: { id: string; detail: string; code: CodeableConcept; subject: string; start: string; author?: Flag['author'] }): Flag & { id: string } {
  return {
    resourceType: 'Flag',
    id: input.id,
    ...claiming('cb-risk-flag'),
    extension: [{ url: FLAG_DETAIL, valueReference: ref(input.detail) }],
    status: 'active',
    category: [coded(SYSTEMS.flagCategory, 'safety', 'Safety')],
    code: input.code,
    subject: ref(input.subject),
    period: { start: input.start },
    ...(input.author ? { author: input.author } : {}),
  };
}

/** The case link every case resource carries, except Encounter (episodeOfCare) and notes (context). */
export const caseLink = (caseId: string): Extension => ({ url: WORKFLOW_EPISODE, valueReference: ref(`EpisodeOfCare/${caseId}`) });

/** `{ text, code? }` of a payload → CodeableConcept. */
export function concept(input: { text: string; code?: { system: string; code: string; display?: string } }): CodeableConcept {
  return { ...(input.code ? { coding: [coding(input.code.system, input.code.code, input.code.display)] } : {}), text: input.text };
}

/** The id of a `Type/id` reference. */
export function idOf(reference: string): string {
  return reference.slice(reference.indexOf('/') + 1);
}

/** `Type/id` of a Reference (relative, possibly versioned); undefined for anything else. */
export function localReference(reference: Reference | undefined): string | undefined {
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(reference?.reference ?? '');
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** XHTML-escaped text for narratives. */
export function escapeXhtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export const narrative = (html: string) => ({ status: 'generated' as const, div: `<div xmlns="http://www.w3.org/1999/xhtml">${html}</div>` });

/** Today (UTC) as a FHIR date. */
export const today = (now: Date): string => now.toISOString().slice(0, 10);

/**
 * The agency's programmes a case is enrolled in (EpisodeOfCare.type, beside case-management; codes
 * of CodeSystem case-management). Caseloads filter on them (`EpisodeOfCare?type=…`).
 */
export const PROGRAMMES = {
  'targeted-case-management': 'Targeted case management',
  'intensive-case-management': 'Intensive case management',
  'housing-support': 'Housing support programme',
  'recovery-support': 'Substance-use recovery support programme',
} as const;
export type Programme = keyof typeof PROGRAMMES;

/** The name a case manager reads for a client: the name's text, or its given names and family. */
export function personName(name: HumanName | undefined): string {
  return name ? (name.text ?? [name.given?.join(' '), name.family].filter(Boolean).join(' ')) : '';
}
