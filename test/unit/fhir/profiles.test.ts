// CaseBridge's profiles (profiles/) applied to resources that claim them: a valid example of
// each passes with no issue; each invalid variant fails with a 422 PROFILE_VIOLATION whose issues
// carry the expected issue code, location and constraint.
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { ERROR_CODE_SYSTEM, FhirError } from '../../../src/fhir/outcomes';
import { assertValid, validateResource } from '../../../src/fhir/validation';
import { CM, EXAMPLES, LOINC, WORKFLOW_EPISODE, profileUrl } from '../../support/profile-examples';

type Json = Record<string, unknown>;
type Mutation = (r: Json) => void;

/** profile, what is wrong, the change, then the expected error issues: [code, expression, constraint key]. */
type Case = [string, string, Mutation, [string, string, string][]];

const INVALID: Case[] = [
  ['cb-client', 'no gender', (r) => delete r.gender, [['required', 'Patient.gender', 'Patient.gender/min']]],
  ['cb-client', 'an identifier without system', (r) => (r.identifier = [{ value: 'C-1' }]), [['required', 'Patient.identifier[0].system', 'Patient.identifier.system/min']]],
  ['cb-client', 'a name with only a use', (r) => (r.name = [{ use: 'official' }]), [['invariant', 'Patient.name[0]', 'cb-client-1']]],
  ['cb-case', 'no case-management type', (r) => (r.type = [{ text: 'Housing programme' }]), [['required', 'EpisodeOfCare.type', 'EpisodeOfCare.type:CaseManagement/min']]],
  ['cb-case', 'no managing agency', (r) => delete r.managingOrganization, [['required', 'EpisodeOfCare.managingOrganization', 'EpisodeOfCare.managingOrganization/min']]],
  ['cb-case', 'closed without an end date', (r) => (r.status = 'finished'), [['invariant', 'EpisodeOfCare', 'cb-case-2']]],
  ['cb-case', 'active without a start date', (r) => delete r.period, [['invariant', 'EpisodeOfCare', 'cb-case-1']]],
  [
    'cb-service-plan',
    'an inline activity.detail',
    (r) => (r.activity = [{ detail: { status: 'scheduled', description: 'Weekly CBT' } }]),
    [
      ['invariant', 'CarePlan.activity[0]', 'cb-plan-1'],
      ['structure', 'CarePlan.activity[0].detail', 'CarePlan.activity.detail/max'],
    ],
  ],
  ['cb-service-plan', 'intent order', (r) => (r.intent = 'order'), [['value', 'CarePlan.intent', 'CarePlan.intent/fixed']]],
  ['cb-service-plan', 'no assess-plan category', (r) => (r.category = [{ coding: [{ system: CM, code: 'service-plan' }] }]), [['required', 'CarePlan.category', 'CarePlan.category:AssessPlan/min']]],
  [
    'cb-service-plan',
    'a CaseBridge category that is not a plan category',
    (r) => ((r.category as Json[])[1] = { coding: [{ system: CM, code: 'home-visit' }] }),
    [['value', 'CarePlan.category[1]', 'CarePlan.category:PlanKind/binding']],
  ],
  ['cb-service-plan', 'a group as subject', (r) => (r.subject = { reference: 'Group/g1' }), [['value', 'CarePlan.subject', 'CarePlan.subject/type']]],
  ['cb-service-plan', 'no link to the case', (r) => delete r.extension, [['required', 'CarePlan.extension', 'CarePlan.extension:episodeOfCare/min']]],
  [
    'cb-service-plan',
    'a case link to a Patient',
    (r) => (r.extension = [{ url: WORKFLOW_EPISODE, valueReference: { reference: 'Patient/client-1' } }]),
    [['value', 'CarePlan.extension[0].valueReference', 'CarePlan.extension:episodeOfCare.value[x]/type']],
  ],
  [
    'cb-goal',
    'a relationship without a target',
    (r) => ((r.extension as Json[])[0] as Json).extension = [((r.extension as Json[])[0]?.extension as Json[])[0]],
    [['required', 'Goal.extension[0].extension', 'Goal.extension:relationship.extension:target/min']],
  ],
  [
    'cb-goal',
    'a relationship whose target is a Condition',
    (r) => (((r.extension as Json[])[0]?.extension as Json[])[1] = { url: 'target', valueReference: { reference: 'Condition/c1' } }),
    [['value', 'Goal.extension[0].extension[1].valueReference', 'Goal.extension:relationship.extension:target.value[x]/type']],
  ],
  [
    'cb-goal',
    'a goal that is its own milestone',
    (r) => {
      r.id = 'objective-1';
    },
    [['invariant', 'Goal', 'cb-goal-1']],
  ],
  ['cb-objective', 'no target', (r) => delete r.target, [['required', 'Goal.target', 'Goal.target/min']]],
  ['cb-objective', 'a target without a due date', (r) => delete (r.target as Json[])[0]?.dueDate, [['required', 'Goal.target[0].due', 'Goal.target.due[x]/min']]],
  ['cb-objective', 'a target with only a due date', (r) => (r.target = [{ dueDate: '2025-04-30' }]), [['invariant', 'Goal.target[0]', 'cb-objective-1']]],
  ['cb-planned-intervention', 'intent order', (r) => (r.intent = 'order'), [['value', 'ServiceRequest.intent', 'ServiceRequest.intent/fixed']]],
  ['cb-planned-intervention', 'no code', (r) => delete r.code, [['required', 'ServiceRequest.code', 'ServiceRequest.code/min']]],
  ['cb-referral', 'no requester', (r) => delete r.requester, [['required', 'ServiceRequest.requester', 'ServiceRequest.requester/min']]],
  ['cb-referral', 'a patient as performer', (r) => (r.performer = [{ reference: 'Patient/client-1' }]), [['value', 'ServiceRequest.performer[0]', 'ServiceRequest.performer/type']]],
  ['cb-referral-task', 'status ready', (r) => (r.status = 'ready'), [['value', 'Task.status', 'Task.status/binding']]],
  ['cb-referral-task', 'another task code', (r) => (r.code = { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'approve' }] }), [['value', 'Task.code', 'Task.code/pattern']]],
  ['cb-referral-task', 'a focus that is not a ServiceRequest', (r) => (r.focus = { reference: 'Task/t0' }), [['value', 'Task.focus', 'Task.focus/type']]],
  ['cb-referral-task', 'a statusReason without text', (r) => Object.assign(r, { status: 'rejected', statusReason: { coding: [{ system: 'urn:x', code: 'full' }] } }), [['required', 'Task.statusReason.text', 'Task.statusReason.text/min']]],
  ['cb-referral-task', 'no authoredOn', (r) => delete r.authoredOn, [['required', 'Task.authoredOn', 'Task.authoredOn/min']]],
  ['cb-contact', 'an inpatient class', (r) => (r.class = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }), [['value', 'Encounter.class', 'Encounter.class/binding']]],
  ['cb-contact', 'no case', (r) => delete r.episodeOfCare, [['required', 'Encounter.episodeOfCare', 'Encounter.episodeOfCare/min']]],
  ['cb-contact', 'an event code as contact type', (r) => (r.type = [{ coding: [{ system: CM, code: 'crisis' }] }]), [['value', 'Encounter.type[0]', 'Encounter.type:ContactType/binding']]],
  ['cb-contact', 'a period without start', (r) => (r.period = { end: '2025-02-03T11:00:00-08:00' }), [['required', 'Encounter.period.start', 'Encounter.period.start/min']]],
  ['cb-case-note', 'a discharge summary type', (r) => (r.type = { coding: [{ system: LOINC, code: '18842-5' }] }), [['value', 'DocumentReference.type', 'DocumentReference.type/binding']]],
  ['cb-case-note', 'no clinical-note category', (r) => (r.category = [{ coding: [{ system: CM, code: 'crisis' }] }]), [['required', 'DocumentReference.category', 'DocumentReference.category:ClinicalNote/min']]],
  [
    'cb-case-note',
    'two event categories',
    (r) => (r.category as Json[]).push({ coding: [{ system: CM, code: 'crisis' }] }, { coding: [{ system: CM, code: 'hospitalization' }] }),
    [['structure', 'DocumentReference.category[2]', 'DocumentReference.category:EventType/max']],
  ],
  ['cb-case-note', 'an attachment without data or url', (r) => (r.content = [{ attachment: { contentType: 'text/plain', title: 'Note' } }]), [['invariant', 'DocumentReference.content[0]', 'cb-note-1']]],
  ['cb-case-note', 'about a Patient rather than a contact', (r) => (r.context = { encounter: [{ reference: 'Patient/client-1' }] }), [['value', 'DocumentReference.context.encounter[0]', 'DocumentReference.context.encounter/type']]],
  ['cb-screening-response', 'no authored date', (r) => delete r.authored, [['required', 'QuestionnaireResponse.authored', 'QuestionnaireResponse.authored/min']]],
  ['cb-screening-response', 'completed without answers', (r) => delete r.item, [['invariant', 'QuestionnaireResponse', 'cb-qr-1']]],
  ['cb-score-observation', 'a SNOMED code', (r) => (r.code = { coding: [{ system: 'http://snomed.info/sct', code: '720433000' }] }), [['value', 'Observation.code', 'Observation.code/pattern']]],
  ['cb-score-observation', 'no derivedFrom', (r) => delete r.derivedFrom, [['required', 'Observation.derivedFrom', 'Observation.derivedFrom/min']]],
  ['cb-score-observation', 'a month as date', (r) => (r.effectiveDateTime = '2025-01'), [['invariant', 'Observation.effectiveDateTime', 'cb-score-2']]],
  ['cb-score-observation', 'a string value', (r) => (delete r.valueInteger, (r.valueString = 'three')), [['structure', 'Observation.valueString', 'Observation.value[x]/type']]],
  ['cb-score-observation', 'no value', (r) => delete r.valueInteger, [['invariant', 'Observation', 'cb-score-1']]],
  ['cb-score-observation', 'no survey category', (r) => delete r.category, [['required', 'Observation.category', 'Observation.category/min'], ['required', 'Observation.category', 'Observation.category:survey/min']]],
  [
    'cb-risk-assessment',
    'a certain risk',
    (r) => (r.prediction = [{ qualitativeRisk: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/risk-probability', code: 'certain' }] } }]),
    [['value', 'RiskAssessment.prediction[0].qualitativeRisk', 'RiskAssessment.prediction.qualitativeRisk/binding']],
  ],
  ['cb-risk-assessment', 'no prediction', (r) => delete r.prediction, [['required', 'RiskAssessment.prediction', 'RiskAssessment.prediction/min']]],
  ['cb-risk-flag', 'no period', (r) => delete r.period, [['required', 'Flag.period', 'Flag.period/min']]],
  ['cb-consent', 'a research scope', (r) => (r.scope = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }] }), [['value', 'Consent.scope', 'Consent.scope/pattern']]],
  ['cb-consent', 'a policy without uri', (r) => (delete r.policyRule, (r.policy = [{ authority: 'https://agency.example.org' }])), [['invariant', 'Consent', 'cb-consent-1']]],
  ['cb-consent', 'no dateTime', (r) => delete r.dateTime, [['required', 'Consent.dateTime', 'Consent.dateTime/min']]],
];

function example(profile: string, mutate?: Mutation): Json {
  const resource = { id: 'x1', ...(EXAMPLES[profile] as () => Json)() };
  mutate?.(resource);
  return resource;
}

function profileError(resource: Json): FhirError {
  try {
    assertValid(resource, resource.resourceType as string);
  } catch (err) {
    if (err instanceof FhirError) return err;
    throw err;
  }
  throw new Error('expected a FhirError');
}

const errorsOf = (issues: readonly OperationOutcomeIssue[]) => issues.filter((i) => i.severity === 'error');

describe('each CaseBridge profile', () => {
  test.each(Object.keys(EXAMPLES))('accepts its valid example (%s) with no issue at all', (profile) => {
    expect(validateResource(example(profile))).toEqual([]);
  });

  test.each(INVALID)('%s: %s → 422 PROFILE_VIOLATION, located', (profile, _what, mutate, expected) => {
    const resource = example(profile, mutate);
    const error = profileError(resource);
    expect(error.code).toBe('PROFILE_VIOLATION');
    expect(error.status).toBe(422);
    const issues = errorsOf(error.outcome.issue ?? []);
    expect(issues.map((i) => [i.code, i.expression?.[0]])).toEqual(expected.map(([code, expression]) => [code, expression]));
    issues.forEach((issue, i) => {
      expect(issue.details?.coding).toEqual([{ system: ERROR_CODE_SYSTEM, code: 'PROFILE_VIOLATION' }]);
      expect(issue.details?.text).toContain(`profile ${profileUrl(profile)}, constraint ${expected[i]?.[2]})`);
    });
  });
});

describe('warning-level constraints', () => {
  test.each([
    ['cb-referral', 'without a consent in supportingInfo', (r: Json) => delete r.supportingInfo, 'ServiceRequest', 'cb-referral-1'],
    ['cb-referral-task', 'rejected without a reason', (r: Json) => (r.status = 'rejected'), 'Task', 'cb-task-1'],
    ['cb-contact', 'finished without an end time', (r: Json) => (r.period = { start: '2025-02-03T10:00:00-08:00' }), 'Encounter', 'cb-contact-1'],
    ['cb-risk-flag', 'inactive without an end', (r: Json) => (r.status = 'inactive'), 'Flag', 'cb-flag-1'],
    [
      'cb-consent',
      'under 42 CFR Part 2 without an expiry',
      (r: Json) => {
        r.policy = [{ uri: 'https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2' }];
        delete (r.provision as Json).period;
      },
      'Consent',
      'cb-consent-2',
    ],
  ])('%s %s: accepted with a warning', (profile, _what, mutate, expression, key) => {
    const warnings = assertValid(example(profile, mutate), undefined);
    expect(warnings).toEqual([expect.objectContaining({ severity: 'warning', code: 'invariant', expression: [expression] })]);
    expect(warnings[0]?.details?.text).toContain(`constraint ${key})`);
  });
});

describe('the objective and goal profiles together', () => {
  test('an objective is a Goal; the goal links it with a milestone relationship (the objective does not point back)', () => {
    const goal = example('cb-goal');
    const objective = example('cb-objective');
    expect(validateResource(goal)).toEqual([]);
    expect(validateResource(objective)).toEqual([]);
    expect(objective.extension).toBeUndefined();
  });

  test('a Goal may claim both profiles: a goal with targets and its own milestones', () => {
    const both = example('cb-goal', (r) => {
      r.meta = { profile: [profileUrl('cb-goal'), profileUrl('cb-objective')] };
      r.target = [{ measure: { coding: [{ system: LOINC, code: '70274-6' }] }, detailQuantity: { value: 5, comparator: '<' }, dueDate: '2025-06-30' }];
    });
    expect(validateResource(both)).toEqual([]);
  });
});
