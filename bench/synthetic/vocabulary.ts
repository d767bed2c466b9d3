/**
 * Fixed vocabulary of the synthetic data: code systems, names, places, problems, services,
 * goals. Codes are the ones the design notes verified (docs CASE-MANAGEMENT-FHIR.md §6);
 * where no verified standard code exists the generator uses a local system under
 * urn:casebridge:synthetic: rather than guess one.
 */
import type { Coding } from '@medplum/fhirtypes';

export const SYSTEM = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  ucum: 'http://unitsofmeasure.org',
  nucc: 'http://nucc.org/provider-taxonomy',
  bcp47: 'urn:ietf:bcp:47',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  confidentiality: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  dataOperation: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
  actPriority: 'http://terminology.hl7.org/CodeSystem/v3-ActPriority',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  usCoreConditionCategory: 'http://hl7.org/fhir/us/core/CodeSystem/condition-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  carePlanCategory: 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category',
  documentCategory: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
  goalAchievement: 'http://terminology.hl7.org/CodeSystem/goal-achievement',
  goalCategory: 'http://terminology.hl7.org/CodeSystem/goal-category',
  goalPriority: 'http://terminology.hl7.org/CodeSystem/goal-priority',
  goalRelationshipType: 'http://terminology.hl7.org/CodeSystem/goal-relationship-type',
  taskCode: 'http://hl7.org/fhir/CodeSystem/task-code',
  communicationCategory: 'http://terminology.hl7.org/CodeSystem/communication-category',
  consentScope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  consentPolicy: 'http://terminology.hl7.org/CodeSystem/consentpolicycodes',
  consentAction: 'http://terminology.hl7.org/CodeSystem/consentaction',
  provenanceParticipant: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
  organizationType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  diagnosisRole: 'http://terminology.hl7.org/CodeSystem/diagnosis-role',
  sdohcc: 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes',
  // Local systems: identifiers and codes no standard covers.
  client: 'urn:casebridge:synthetic:client',
  caseNumber: 'urn:casebridge:synthetic:case',
  staff: 'urn:casebridge:synthetic:staff',
  agency: 'urn:casebridge:synthetic:agency',
  program: 'urn:casebridge:synthetic:program',
  contactType: 'urn:casebridge:synthetic:contact-type',
  service: 'urn:casebridge:synthetic:service',
  serviceCategory: 'urn:casebridge:synthetic:service-category',
  carePlanKind: 'urn:casebridge:synthetic:careplan-category',
} as const;

export const EXTENSION = {
  goalRelationship: 'http://hl7.org/fhir/StructureDefinition/goal-relationship',
  pertainsToGoal: 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal',
  ordinalValue: 'http://hl7.org/fhir/StructureDefinition/ordinalValue',
} as const;

/** Canonical base of the two instruments' Questionnaires (example.org: reserved, never resolves). */
export const QUESTIONNAIRE_BASE = 'http://casebridge.example.org/fhir/Questionnaire';

/** 42 CFR Part 2 labels: the privacy law plus restricted confidentiality (DS4P). */
export const PART2_SECURITY: Coding[] = [
  { system: SYSTEM.actCode, code: '42CFRPart2', display: '42 CFR Part2' },
  { system: SYSTEM.confidentiality, code: 'R', display: 'restricted' },
];
export const PART2_POLICY_URI = 'https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2';

// ---------------------------------------------------------------------------------------------
// People

export interface NameCulture {
  readonly language: { code: string; display: string } | undefined;
  readonly female: readonly string[];
  readonly male: readonly string[];
  readonly family: readonly string[];
}

/** Small multilingual name lists, accents included; language undefined = English only. */
export const CULTURES: readonly (readonly [NameCulture, number])[] = [
  [
    {
      language: undefined,
      female: ['Emily', 'Sarah', 'Jessica', 'Ashley', 'Brianna', 'Megan', 'Tanya', 'Denise', 'Keisha', 'Crystal'],
      male: ['James', 'Michael', 'Tyler', 'Brandon', 'Darnell', 'Kevin', 'Robert', 'Marcus', 'Cody', 'Dwayne'],
      family: ['Johnson', 'Williams', 'Brown', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor', "O'Brien", 'Jackson', 'Whitehorse'],
    },
    38,
  ],
  [
    {
      language: { code: 'es', display: 'Spanish' },
      female: ['María', 'Lucía', 'Sofía', 'Ana', 'Guadalupe', 'Inés', 'Verónica', 'Mónica', 'Marisol'],
      male: ['José', 'Jesús', 'Andrés', 'Martín', 'Raúl', 'Héctor', 'Joaquín', 'Iván', 'Ramón'],
      family: ['García', 'Hernández', 'Martínez', 'López', 'González', 'Rodríguez', 'Pérez', 'Sánchez', 'Ramírez', 'Núñez', 'Peña'],
    },
    24,
  ],
  [
    {
      language: { code: 'vi', display: 'Vietnamese' },
      female: ['Thảo', 'Ngọc', 'Hương', 'Lan', 'Mai', 'Trâm'],
      male: ['Minh', 'Dũng', 'Quốc', 'Tuấn', 'Hùng', 'Khánh'],
      family: ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Đặng', 'Võ', 'Huỳnh'],
    },
    8,
  ],
  [
    {
      language: { code: 'fr', display: 'French' },
      female: ['Amélie', 'Hélène', 'Chloé', 'Renée', 'Gaëlle', 'Françoise', 'Maëlys'],
      male: ['François', 'Jérôme', 'Théo', 'Loïc', 'Benoît', 'Mathéo', 'Noël'],
      family: ['Lefèvre', 'Bélanger', 'Gagnon', 'Côté', 'Tremblay', 'Dubé', 'Leclerc', 'Mbappé'],
    },
    6,
  ],
  [
    {
      language: { code: 'pt', display: 'Portuguese' },
      female: ['Conceição', 'Luíza', 'Beatriz', 'Letícia', 'Graça'],
      male: ['João', 'Antônio', 'Sebastião', 'Gonçalo', 'Estêvão'],
      family: ['Gonçalves', 'Araújo', 'Magalhães', 'Simões', 'Brandão', 'Falcão'],
    },
    6,
  ],
  [
    {
      language: { code: 'ar', display: 'Arabic' },
      female: ['Fatima', 'Layla', 'Nour', 'Amira', 'Yasmin'],
      male: ['Omar', 'Youssef', 'Karim', 'Tariq', 'Bilal'],
      family: ['Haddad', 'Khalil', 'Mansour', 'El-Amin', 'Saleh', 'Abu-Hamdan'],
    },
    5,
  ],
  [
    {
      language: { code: 'zh', display: 'Chinese' },
      female: ['Xiaoling', 'Mei', 'Jing', 'Yan'],
      male: ['Wei', 'Jun', 'Hao', 'Zhiwei'],
      family: ['Chen', 'Li', 'Wang', 'Zhang', 'Liu'],
    },
    5,
  ],
  [
    {
      language: undefined,
      female: ['Zoë', 'Åsa', 'Małgorzata', 'Ayşe', 'Anikó', 'Björk', 'Zuzana'],
      male: ['Jürgen', 'Søren', 'Łukasz', 'Gökhan', 'Björn', 'Tomáš', 'Mikaël'],
      family: ['Müller', 'Schröder', 'Kowalczyk', 'Wiśniewski', 'Şahin', 'Yılmaz', 'Øvergaard', 'Järvinen', 'Szabó', 'Dvořák'],
    },
    8,
  ],
];

export interface Place {
  readonly city: string;
  readonly postalCodes: readonly string[];
  readonly streets: readonly string[];
}

export const STATE = 'OR';
export const AREA_CODE = '503';

export const PLACES: readonly Place[] = [
  { city: 'Portland', postalCodes: ['97202', '97206', '97211', '97217', '97220', '97230', '97233', '97266'], streets: ['NE Alberta St', 'SE Division St', 'N Lombard St', 'NE Sandy Blvd', 'SE Powell Blvd', 'NE Glisan St', 'SE Stark St', 'N Interstate Ave', 'SE 82nd Ave', 'NE Killingsworth St'] },
  { city: 'Gresham', postalCodes: ['97030', '97080'], streets: ['NE Burnside Rd', 'SE Stark St', 'W Powell Blvd', 'NE Division St'] },
  { city: 'Beaverton', postalCodes: ['97005', '97006'], streets: ['SW Canyon Rd', 'SW Allen Blvd', 'SW Farmington Rd'] },
  { city: 'Hillsboro', postalCodes: ['97123', '97124'], streets: ['SE Baseline St', 'NE Cornell Rd', 'SE Tualatin Valley Hwy'] },
  { city: 'Milwaukie', postalCodes: ['97222'], streets: ['SE King Rd', 'SE Harrison St', 'SE 32nd Ave'] },
];

// ---------------------------------------------------------------------------------------------
// Staff and agencies

export type StaffKind = 'case-manager' | 'social-worker' | 'counselor' | 'psychologist' | 'psychiatrist';

export const STAFF_ROLES: Record<StaffKind, { code: string; display: string; count: number }> = {
  'case-manager': { code: '171M00000X', display: 'Case Manager/Care Coordinator', count: 8 },
  'social-worker': { code: '104100000X', display: 'Social Worker', count: 3 },
  counselor: { code: '101YM0800X', display: 'Counselor, Mental Health', count: 2 },
  psychologist: { code: '103T00000X', display: 'Psychologist', count: 1 },
  psychiatrist: { code: '2084P0800X', display: 'Psychiatry & Neurology, Psychiatry', count: 1 },
};

export const AGENCY = {
  key: 'agency',
  name: 'Riverside Community Case Management',
  type: { code: 'prov', display: 'Healthcare Provider' },
} as const;

export type PartnerKey = 'housing' | 'food' | 'employment' | 'transport' | 'benefits' | 'counseling' | 'sud';

export const PARTNERS: Record<PartnerKey, { name: string; type: { code: string; display: string } }> = {
  housing: { name: 'Cascade Housing Navigation', type: { code: 'cg', display: 'Community Group' } },
  food: { name: 'Eastside Community Food Bank', type: { code: 'cg', display: 'Community Group' } },
  employment: { name: 'WorkBridge Employment Services', type: { code: 'govt', display: 'Government' } },
  transport: { name: 'Ride Connection Partners', type: { code: 'bus', display: 'Non-Healthcare Business' } },
  benefits: { name: 'Legal Aid & Benefits Clinic', type: { code: 'cg', display: 'Community Group' } },
  counseling: { name: 'Willamette Community Counseling', type: { code: 'prov', display: 'Healthcare Provider' } },
  sud: { name: 'New Leaf Recovery Center', type: { code: 'prov', display: 'Healthcare Provider' } },
};

// ---------------------------------------------------------------------------------------------
// Problems, services, goals

export type ConditionKind = 'depression' | 'anxiety' | 'serious-mental-illness' | 'substance-use' | 'sdoh';
export type ServiceKey =
  | 'housing-navigation'
  | 'food-pantry'
  | 'employment-support'
  | 'transport-assistance'
  | 'benefits-counseling'
  | 'peer-support'
  | 'psychotherapy'
  | 'psychiatric-evaluation'
  | 'sud-treatment';

export interface ProblemDef {
  readonly code: string;
  readonly display: string;
  readonly kind: ConditionKind;
  /** SDOHCC category code and display, for social needs (health concerns). */
  readonly sdoh?: { code: string; display: string };
  readonly service: ServiceKey;
  readonly goal: GoalDef;
}

export interface GoalDef {
  readonly text: string;
  readonly objectives: readonly string[];
}

const DEPRESSION_GOAL: GoalDef = {
  text: 'Reduce depressive symptoms',
  objectives: ['Attend weekly therapy sessions', 'Walk 30 minutes three times a week', 'Keep a daily mood journal', 'Take medication as prescribed'],
};
const ANXIETY_GOAL: GoalDef = {
  text: 'Reduce anxiety',
  objectives: ['Practise deep breathing 10 minutes a day', 'Exercise three times a week', 'Use grounding techniques when anxious', 'Attend weekly therapy sessions'],
};
const STABILITY_GOAL: GoalDef = {
  text: 'Maintain psychiatric stability and avoid hospitalisation',
  objectives: ['Attend monthly psychiatric appointments', 'Take medication as prescribed', 'Keep a regular sleep schedule'],
};

/** Mental-health problems (ICD-10-CM), the instrument that tracks them and their usual goal. */
export const MENTAL_HEALTH: readonly (readonly [ProblemDef, number])[] = [
  [{ code: 'F32.1', display: 'Major depressive disorder, single episode, moderate', kind: 'depression', service: 'psychotherapy', goal: DEPRESSION_GOAL }, 22],
  [{ code: 'F33.1', display: 'Major depressive disorder, recurrent, moderate', kind: 'depression', service: 'psychotherapy', goal: DEPRESSION_GOAL }, 14],
  [{ code: 'F41.1', display: 'Generalized anxiety disorder', kind: 'anxiety', service: 'psychotherapy', goal: ANXIETY_GOAL }, 20],
  [{ code: 'F43.10', display: 'Post-traumatic stress disorder, unspecified', kind: 'anxiety', service: 'psychotherapy', goal: ANXIETY_GOAL }, 12],
  [{ code: 'F43.20', display: 'Adjustment disorder, unspecified', kind: 'anxiety', service: 'psychotherapy', goal: ANXIETY_GOAL }, 10],
  [{ code: 'F31.9', display: 'Bipolar disorder, unspecified', kind: 'serious-mental-illness', service: 'psychiatric-evaluation', goal: STABILITY_GOAL }, 12],
  [{ code: 'F20.9', display: 'Schizophrenia, unspecified', kind: 'serious-mental-illness', service: 'psychiatric-evaluation', goal: STABILITY_GOAL }, 10],
];

/** Substance use disorders: the records 42 CFR Part 2 protects. */
export const SUBSTANCE_USE: readonly ProblemDef[] = [
  { code: 'F10.20', display: 'Alcohol dependence, uncomplicated', kind: 'substance-use', service: 'sud-treatment', goal: { text: 'Reduce alcohol use', objectives: ['Attend intake at the treatment program', 'Attend two recovery meetings a week'] } },
  { code: 'F11.20', display: 'Opioid dependence, uncomplicated', kind: 'substance-use', service: 'sud-treatment', goal: { text: 'Sustain recovery from opioid use', objectives: ['Attend intake at the treatment program', 'Keep medication-assisted treatment appointments'] } },
];

/** Social needs (ICD-10-CM Z codes) with their Gravity SDOH category. */
export const SOCIAL_NEEDS: readonly (readonly [ProblemDef, number])[] = [
  [{ code: 'Z59.00', display: 'Homelessness, unspecified', kind: 'sdoh', sdoh: { code: 'homelessness', display: 'Homelessness' }, service: 'housing-navigation', goal: { text: 'Obtain stable housing', objectives: ['Complete the coordinated entry assessment', 'Gather identity documents'] } }, 18],
  [{ code: 'Z59.41', display: 'Food insecurity', kind: 'sdoh', sdoh: { code: 'food-insecurity', display: 'Food Insecurity' }, service: 'food-pantry', goal: { text: 'Have reliable access to food', objectives: ['Enrol in SNAP benefits'] } }, 18],
  [{ code: 'Z56.0', display: 'Unemployment, unspecified', kind: 'sdoh', sdoh: { code: 'employment-status', display: 'Employment Status' }, service: 'employment-support', goal: { text: 'Find paid employment', objectives: ['Complete a résumé', 'Apply to three jobs a week'] } }, 16],
  [{ code: 'Z59.82', display: 'Transportation insecurity', kind: 'sdoh', sdoh: { code: 'transportation-insecurity', display: 'Transportation Insecurity' }, service: 'transport-assistance', goal: { text: 'Get reliable transportation to appointments', objectives: ['Apply for a reduced-fare transit pass'] } }, 10],
  [{ code: 'Z59.86', display: 'Financial insecurity', kind: 'sdoh', sdoh: { code: 'financial-insecurity', display: 'Financial Insecurity' }, service: 'benefits-counseling', goal: { text: 'Stabilise household finances', objectives: ['Apply for eligible benefits', 'Set up a monthly budget'] } }, 10],
  [{ code: 'Z60.2', display: 'Problems related to living alone', kind: 'sdoh', sdoh: { code: 'social-connection', display: 'Social Connection' }, service: 'peer-support', goal: { text: 'Build a social support network', objectives: ['Join a weekly peer support group'] } }, 8],
];

export interface ServiceDef {
  readonly display: string;
  readonly partner: PartnerKey;
  /** A standard code where one is verified (SDOHCC example); otherwise only the local code. */
  readonly snomed?: { code: string; display: string };
  readonly behavioural: boolean;
}

export const SERVICES: Record<ServiceKey, ServiceDef> = {
  'housing-navigation': { display: 'Housing navigation and application assistance', partner: 'housing', behavioural: false },
  'food-pantry': { display: 'Food pantry enrolment assistance', partner: 'food', snomed: { code: '467771000124109', display: 'Assistance with application for food pantry program' }, behavioural: false },
  'employment-support': { display: 'Supported employment services', partner: 'employment', behavioural: false },
  'transport-assistance': { display: 'Non-emergency transportation assistance', partner: 'transport', behavioural: false },
  'benefits-counseling': { display: 'Benefits and financial counselling', partner: 'benefits', behavioural: false },
  'peer-support': { display: 'Peer support group', partner: 'counseling', behavioural: true },
  psychotherapy: { display: 'Outpatient psychotherapy', partner: 'counseling', behavioural: true },
  'psychiatric-evaluation': { display: 'Psychiatric evaluation and medication management', partner: 'counseling', behavioural: true },
  'sud-treatment': { display: 'Outpatient substance use disorder treatment', partner: 'sud', behavioural: true },
};

export const PROGRAMS: readonly (readonly [{ code: string; display: string }, number])[] = [
  [{ code: 'community-case-management', display: 'Community mental health case management' }, 55],
  [{ code: 'intensive-case-management', display: 'Intensive case management' }, 25],
  [{ code: 'housing-first', display: 'Housing First case management' }, 20],
];

// ---------------------------------------------------------------------------------------------
// Contacts and notes

export type EncounterClass = 'AMB' | 'HH' | 'VR' | 'FLD';

export const ENCOUNTER_CLASS: Record<EncounterClass, string> = {
  AMB: 'ambulatory',
  HH: 'home health',
  VR: 'virtual',
  FLD: 'field',
};

export const CONTACT_TYPES: Record<string, { display: string; class: EncounterClass; minutes: [number, number] }> = {
  intake: { display: 'Intake assessment', class: 'AMB', minutes: [60, 90] },
  'office-visit': { display: 'Office visit', class: 'AMB', minutes: [30, 60] },
  'home-visit': { display: 'Home visit', class: 'HH', minutes: [45, 90] },
  phone: { display: 'Telephone contact', class: 'VR', minutes: [10, 30] },
  video: { display: 'Video visit', class: 'VR', minutes: [25, 50] },
  outreach: { display: 'Community outreach contact', class: 'FLD', minutes: [20, 60] },
  crisis: { display: 'Crisis contact', class: 'FLD', minutes: [45, 120] },
};

export const NOTE_TYPES = {
  progress: { code: '11506-3', display: 'Progress note' },
  socialWork: { code: '28656-7', display: 'Social work Progress note' },
  discharge: { code: '18842-5', display: 'Discharge summary' },
} as const;

export const CLIENT_REPORTS = [
  'sleeping better since the last contact',
  'ongoing worry about rent and utilities',
  'feeling isolated and staying home most days',
  'improved mood after starting group sessions',
  'difficulty keeping appointments without transport',
  'conflict with a roommate, now resolved',
  'a missed medication refill last week',
  'applying for two jobs this week',
  'cravings under control with support from peers',
  'increased stress after a family loss',
];

export const INTERVENTIONS = [
  'motivational interviewing',
  'safety planning',
  'benefits application assistance',
  'coordination with the primary care clinic',
  'problem-solving skills practice',
  'psychoeducation on sleep hygiene',
  'linkage to the partner agency',
  'review of the crisis plan',
];
