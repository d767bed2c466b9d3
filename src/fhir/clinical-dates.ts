/**
 * The clinical date of each resource type of the Patient compartment: the date of care a
 * record is about (the date of service, the period, the authored date), as opposed to when the
 * record was written or last changed. `$everything`'s `start` and `end` select on it:
 * "The date range relates to care dates, not record currency dates — e.g. all records relating
 * to care provided in a certain date range."
 * See: https://hl7.org/fhir/R4/patient-operation-everything.html and the R4 shared `clinical-date`
 * search parameter (https://hl7.org/fhir/R4/searchparameter-registry.html#clinical-date), whose
 * `date` is the clinical date of the 17 types it covers. R5 gives each type of the compartment
 * a `startParam` for the same purpose (https://hl7.org/fhir/R5/compartmentdefinition.html).
 *
 * Each type is filtered on one search parameter: an R4 one where its element is the date of
 * care, or CaseBridge's `clinical-date` (profiles/SearchParameter-clinical-date.json) where the
 * date of care is one element with a fallback on another (a note's service period, else the
 * date it was written). Types absent here carry no date of care (Patient, RelatedPerson,
 * Coverage, …): a date window leaves them in. Pure data; docs/workflows.md lists it.
 */

export interface ClinicalDate {
  /** The search parameter `start`/`end` become (`ge…`, `le…`): periods overlapping the window match. */
  readonly parameter: string;
  /** The element(s) it reads, for the documentation. */
  readonly element: string;
}

const r4 = (parameter: string, element: string): ClinicalDate => ({ parameter, element });
/** CaseBridge's `clinical-date` search parameter (with a fallback element). */
const ours = (element: string): ClinicalDate => ({ parameter: 'clinical-date', element });

export const CLINICAL_DATES: ReadonlyMap<string, ClinicalDate> = new Map([
  ['Account', r4('period', 'servicePeriod')],
  ['AdverseEvent', r4('date', 'date (when the event occurred)')],
  ['AllergyIntolerance', r4('date', 'recordedDate')],
  ['Appointment', r4('date', 'start')],
  ['Basic', r4('created', 'created')],
  ['CarePlan', ours('period, else created')],
  ['CareTeam', r4('date', 'period')],
  ['ChargeItem', r4('occurrence', 'occurrence[x]')],
  ['Claim', r4('created', 'created')],
  ['ClaimResponse', r4('created', 'created')],
  ['ClinicalImpression', r4('date', 'date')],
  ['Communication', ours('sent, else received')],
  ['CommunicationRequest', ours('occurrence[x], else authoredOn')],
  ['Composition', r4('date', 'date')],
  ['Condition', ours('onset[x], else recordedDate')],
  ['Consent', r4('date', 'dateTime')],
  ['CoverageEligibilityRequest', r4('created', 'created')],
  ['CoverageEligibilityResponse', r4('created', 'created')],
  ['DetectedIssue', r4('identified', 'identified[x]')],
  ['DeviceRequest', r4('event-date', 'occurrence[x]')],
  ['DiagnosticReport', r4('date', 'effective[x]')],
  ['DocumentManifest', r4('created', 'created')],
  ['DocumentReference', ours('context.period (the service documented), else date')],
  ['Encounter', r4('date', 'period')],
  ['EpisodeOfCare', r4('date', 'period')],
  ['ExplanationOfBenefit', r4('created', 'created')],
  ['FamilyMemberHistory', r4('date', 'date')],
  ['Flag', r4('date', 'period')],
  ['Goal', ours('start[x] (a date), else statusDate')],
  ['ImagingStudy', r4('started', 'started')],
  ['Immunization', r4('date', 'occurrence[x]')],
  ['ImmunizationEvaluation', r4('date', 'date')],
  ['ImmunizationRecommendation', r4('date', 'date')],
  ['Invoice', r4('date', 'date')],
  ['List', r4('date', 'date')],
  ['MeasureReport', r4('period', 'period')],
  ['Media', r4('created', 'created[x]')],
  ['MedicationAdministration', r4('effective-time', 'effective[x]')],
  ['MedicationDispense', r4('whenhandedover', 'whenHandedOver')],
  ['MedicationRequest', r4('authoredon', 'authoredOn')],
  ['MedicationStatement', r4('effective', 'effective[x]')],
  ['NutritionOrder', r4('datetime', 'dateTime')],
  ['Observation', r4('date', 'effective[x]')],
  ['Procedure', r4('date', 'performed[x]')],
  ['Provenance', r4('recorded', 'recorded')],
  ['QuestionnaireResponse', r4('authored', 'authored')],
  ['RequestGroup', r4('authored', 'authoredOn')],
  ['ResearchSubject', r4('date', 'period')],
  ['RiskAssessment', r4('date', 'occurrence[x]')],
  ['Schedule', r4('date', 'planningHorizon')],
  ['ServiceRequest', ours('occurrence[x], else authoredOn')],
  ['Specimen', r4('collected', 'collection.collected[x]')],
  ['SupplyRequest', r4('date', 'authoredOn')],
  ['Task', ours('executionPeriod, else authoredOn')],
  ['VisionPrescription', r4('datewritten', 'dateWritten')],
]);

/** The search parameter holding the clinical date of `resourceType`; undefined for a type without one. */
export function clinicalDateParameter(resourceType: string): string | undefined {
  return CLINICAL_DATES.get(resourceType)?.parameter;
}
