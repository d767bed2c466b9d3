// One valid instance of each CaseBridge profile (profiles/), built by functions so that no test
// can mutate another's input. They refer to each other (client-1, case-1, goal-1 …) as a small
// case would; the targets need not exist for validation.
type Json = Record<string, unknown>;

export const CB = 'http://casebridge.org/fhir';
export const CM = `${CB}/CodeSystem/case-management`;
export const profileUrl = (id: string) => `${CB}/StructureDefinition/${id}`;
export const LOINC = 'http://loinc.org';
export const WORKFLOW_EPISODE = 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare';
export const PERTAINS_TO_GOAL = 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal';
export const GOAL_RELATIONSHIP = 'http://hl7.org/fhir/StructureDefinition/goal-relationship';

const meta = (id: string) => ({ profile: [profileUrl(id)] });
const ref = (reference: string) => ({ reference });
const coded = (system: string, code: string, display?: string) => ({ coding: [{ system, code, ...(display ? { display } : {}) }] });
const caseLink = () => ({ url: WORKFLOW_EPISODE, valueReference: ref('EpisodeOfCare/case-1') });
const client = () => ref('Patient/client-1');

export const EXAMPLES: Record<string, () => Json> = {
  'cb-client': () => ({
    resourceType: 'Patient',
    meta: meta('cb-client'),
    identifier: [{ system: 'urn:agency:clients', value: 'C-1001' }],
    name: [{ family: 'Okafor', given: ['Ada'] }],
    gender: 'female',
    birthDate: '1984-03-02',
  }),
  'cb-case': () => ({
    resourceType: 'EpisodeOfCare',
    meta: meta('cb-case'),
    status: 'active',
    statusHistory: [
      { status: 'waitlist', period: { start: '2025-01-06', end: '2025-01-20' } },
      { status: 'active', period: { start: '2025-01-20' } },
    ],
    type: [coded(CM, 'case-management', 'Case management')],
    patient: client(),
    managingOrganization: ref('Organization/agency'),
    period: { start: '2025-01-20' },
    careManager: ref('PractitionerRole/cm-1'),
    team: [ref('CareTeam/team-1')],
  }),
  'cb-service-plan': () => ({
    resourceType: 'CarePlan',
    meta: meta('cb-service-plan'),
    extension: [caseLink()],
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Service plan: reduce anxiety</div>' },
    status: 'active',
    intent: 'plan',
    category: [coded('http://hl7.org/fhir/us/core/CodeSystem/careplan-category', 'assess-plan'), coded(CM, 'service-plan', 'Service plan')],
    subject: client(),
    period: { start: '2025-01-20' },
    goal: [ref('Goal/goal-1'), ref('Goal/objective-1')],
    activity: [{ reference: ref('ServiceRequest/intervention-1') }],
  }),
  'cb-goal': () => ({
    resourceType: 'Goal',
    meta: meta('cb-goal'),
    extension: [
      {
        url: GOAL_RELATIONSHIP,
        extension: [
          { url: 'type', valueCodeableConcept: coded('http://terminology.hl7.org/CodeSystem/goal-relationship-type', 'milestone') },
          { url: 'target', valueReference: ref('Goal/objective-1') },
        ],
      },
    ],
    lifecycleStatus: 'active',
    achievementStatus: coded('http://terminology.hl7.org/CodeSystem/goal-achievement', 'in-progress'),
    description: { text: 'Reduce anxiety' },
    subject: client(),
    startDate: '2025-01-20',
  }),
  'cb-objective': () => ({
    resourceType: 'Goal',
    meta: meta('cb-objective'),
    lifecycleStatus: 'active',
    description: { text: 'Practise deep breathing 10 minutes a day' },
    subject: client(),
    startDate: '2025-01-20',
    target: [
      {
        measure: { text: 'Minutes of deep breathing per day' },
        detailQuantity: { value: 10, unit: 'min/d', system: 'http://unitsofmeasure.org', code: 'min/d' },
        dueDate: '2025-04-30',
      },
    ],
  }),
  'cb-planned-intervention': () => ({
    resourceType: 'ServiceRequest',
    meta: meta('cb-planned-intervention'),
    extension: [caseLink(), { url: PERTAINS_TO_GOAL, valueReference: ref('Goal/goal-1') }],
    status: 'active',
    intent: 'plan',
    code: { text: 'Cognitive behavioural therapy for anxiety' },
    subject: client(),
    authoredOn: '2025-01-20',
  }),
  'cb-referral': () => ({
    resourceType: 'ServiceRequest',
    meta: meta('cb-referral'),
    extension: [caseLink()],
    status: 'active',
    intent: 'order',
    code: { text: 'Housing search assistance' },
    subject: client(),
    authoredOn: '2025-02-01',
    requester: ref('PractitionerRole/cm-1'),
    performer: [ref('Organization/housing-partner')],
    supportingInfo: [ref('Consent/consent-1')],
  }),
  'cb-referral-task': () => ({
    resourceType: 'Task',
    meta: meta('cb-referral-task'),
    status: 'requested',
    intent: 'order',
    code: coded('http://hl7.org/fhir/CodeSystem/task-code', 'fulfill'),
    focus: ref('ServiceRequest/referral-1'),
    for: client(),
    authoredOn: '2025-02-01T10:00:00-08:00',
    requester: ref('PractitionerRole/cm-1'),
    owner: ref('Organization/housing-partner'),
  }),
  'cb-contact': () => ({
    resourceType: 'Encounter',
    meta: meta('cb-contact'),
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH', display: 'home health' },
    type: [coded(CM, 'home-visit', 'Home visit')],
    subject: client(),
    episodeOfCare: [ref('EpisodeOfCare/case-1')],
    period: { start: '2025-02-03T10:00:00-08:00', end: '2025-02-03T11:00:00-08:00' },
  }),
  'cb-case-note': () => ({
    resourceType: 'DocumentReference',
    meta: meta('cb-case-note'),
    status: 'current',
    type: coded(LOINC, '28656-7', 'Social worker Progress note'),
    category: [coded('http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category', 'clinical-note')],
    subject: client(),
    date: '2025-02-03T12:00:00-08:00',
    author: [ref('PractitionerRole/cm-1')],
    content: [{ attachment: { contentType: 'text/plain; charset=utf-8', data: 'SG9tZSB2aXNpdDogY2xpZW50IHdlbGwu' } }],
    context: { encounter: [ref('Encounter/contact-1')], period: { start: '2025-02-03T10:00:00-08:00', end: '2025-02-03T11:00:00-08:00' } },
  }),
  'cb-screening-response': () => ({
    resourceType: 'QuestionnaireResponse',
    meta: meta('cb-screening-response'),
    extension: [caseLink()],
    questionnaire: `${CB}/Questionnaire/phq-2`,
    status: 'completed',
    subject: client(),
    authored: '2025-01-20T10:00:00-08:00',
    item: [
      { linkId: '44250-9', answer: [{ valueCoding: { system: LOINC, code: 'LA6569-3' } }] },
      { linkId: '44255-8', answer: [{ valueCoding: { system: LOINC, code: 'LA6570-1' } }] },
    ],
  }),
  'cb-score-observation': () => ({
    resourceType: 'Observation',
    meta: meta('cb-score-observation'),
    status: 'final',
    category: [coded('http://terminology.hl7.org/CodeSystem/observation-category', 'survey')],
    code: coded(LOINC, '55758-7'),
    subject: client(),
    effectiveDateTime: '2025-01-20T10:00:00-08:00',
    valueInteger: 3,
    derivedFrom: [ref('QuestionnaireResponse/qr-1')],
  }),
  'cb-risk-assessment': () => ({
    resourceType: 'RiskAssessment',
    meta: meta('cb-risk-assessment'),
    status: 'final',
    subject: client(),
    occurrenceDateTime: '2025-01-20',
    basis: [ref('Observation/score-1')],
    prediction: [{ qualitativeRisk: coded('http://terminology.hl7.org/CodeSystem/risk-probability', 'moderate') }],
  }),
  'cb-risk-flag': () => ({
    resourceType: 'Flag',
    meta: meta('cb-risk-flag'),
    status: 'active',
    category: [coded('http://terminology.hl7.org/CodeSystem/flag-category', 'safety')],
    code: { text: 'Dog at the home: visit in pairs' },
    subject: client(),
    period: { start: '2025-02-03' },
  }),
  'cb-consent': () => ({
    resourceType: 'Consent',
    meta: meta('cb-consent'),
    status: 'active',
    scope: coded('http://terminology.hl7.org/CodeSystem/consentscope', 'patient-privacy'),
    category: [coded('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'IDSCL')],
    patient: client(),
    dateTime: '2025-01-20',
    organization: [ref('Organization/agency')],
    policyRule: coded('http://terminology.hl7.org/CodeSystem/consentpolicycodes', 'hipaa-auth'),
    provision: {
      type: 'permit',
      period: { start: '2025-01-20', end: '2026-01-20' },
      actor: [{ role: coded('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'IRCP'), reference: ref('Organization/housing-partner') }],
      purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }],
    },
  }),
};
