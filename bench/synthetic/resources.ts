/**
 * Renders a ClientPlan as FHIR R4 resources, following docs CASE-MANAGEMENT-FHIR.md §5:
 * ids are UUIDs from the client's stream, references are `Type/id` (the emitters rewrite them
 * for transactions). Resources of 42 CFR Part 2 clients that reveal substance use carry the
 * 42CFRPart2 + R security labels.
 */
import type {
  CarePlan,
  CareTeam,
  CareTeamParticipant,
  CodeableConcept,
  Coding,
  Communication,
  Condition,
  Consent,
  ContactPoint,
  DocumentReference,
  Encounter,
  EpisodeOfCare,
  Extension,
  Goal,
  Meta,
  Observation,
  Patient,
  Provenance,
  QuestionnaireResponse,
  Reference,
  Resource,
  ServiceRequest,
  Task,
} from '@medplum/fhirtypes';
import { ANSWERS, canonical, severity } from './instruments';
import { emailLocal, mobile, streetAddress } from './people';
import type { ClientPlan, Contact, GoalPlan, Referral } from './plan';
import type { SharedPool, StaffMember } from './pool';
import { reference } from './pool';
import type { Random } from './random';
import { DAY_MS, date, dateTime, localInstant } from './time';
import {
  CLIENT_REPORTS,
  CONTACT_TYPES,
  ENCOUNTER_CLASS,
  EXTENSION,
  INTERVENTIONS,
  NOTE_TYPES,
  PART2_POLICY_URI,
  PART2_SECURITY,
  SERVICES,
  STAFF_ROLES,
  SYSTEM,
} from './vocabulary';

const concept = (system: string, code: string, display: string, text?: string): CodeableConcept => ({
  coding: [{ system, code, display }],
  ...(text !== undefined ? { text } : {}),
});
/** `Type/id`; Reference<never> fits every typed reference element (see pool.ts reference()). */
const ref = (type: string, id: string): Reference<never> => ({ reference: `${type}/${id}` });
const PART2_META: Meta = { security: PART2_SECURITY };

/** XML text escaping for the narrative. */
function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function roleCode(staff: StaffMember): CodeableConcept {
  const def = STAFF_ROLES[staff.kind];
  return concept(SYSTEM.nucc, def.code, def.display);
}

interface Ids {
  patient: string;
  episode: string;
  careTeam: string;
  carePlan: string;
  consent: string;
  contacts: string[];
  responses: string[];
  observations: string[];
  conditions: string[];
  goals: string[];
  requests: string[];
  tasks: string[];
}

/** Renders the plan; resources come out Patient first, in dependency order. */
export function renderClient(rng: Random, plan: ClientPlan, pool: SharedPool): Resource[] {
  const ids: Ids = {
    patient: rng.uuid(),
    episode: rng.uuid(),
    careTeam: rng.uuid(),
    carePlan: rng.uuid(),
    consent: rng.uuid(),
    contacts: plan.contacts.map(() => rng.uuid()),
    responses: plan.assessments.map(() => rng.uuid()),
    observations: plan.assessments.map(() => rng.uuid()),
    conditions: plan.problems.map(() => rng.uuid()),
    goals: plan.goals.map(() => rng.uuid()),
    requests: plan.referrals.map(() => rng.uuid()),
    tasks: plan.referrals.map(() => rng.uuid()),
  };
  const r = new Renderer(rng, plan, pool, ids);
  return [
    r.patient(),
    r.episodeOfCare(),
    r.careTeam(),
    ...plan.contacts.map((c, i) => r.encounter(c, i)),
    ...plan.assessments.flatMap((_, i) => [r.questionnaireResponse(i), r.scoreObservation(i)]),
    ...plan.problems.map((_, i) => r.condition(i)),
    ...plan.goals.map((_, i) => r.goal(i)),
    r.consent(),
    ...plan.referrals.flatMap((_, i) => [r.serviceRequest(i), r.task(i)]),
    ...plan.referrals.flatMap((_, i) => r.communications(i)),
    r.carePlan(),
    ...plan.contacts.flatMap((c, i) => (c.note ? [r.caseNote(c, i)] : [])),
    r.provenance(),
  ];
}

class Renderer {
  private readonly patientRef: Reference<never>;
  private readonly agencyRef: Reference<never>;

  constructor(
    private readonly rng: Random,
    private readonly plan: ClientPlan,
    private readonly pool: SharedPool,
    private readonly ids: Ids,
  ) {
    this.patientRef = ref('Patient', ids.patient);
    this.agencyRef = reference(pool.agency);
  }

  private get fullName(): string {
    return `${this.plan.name.given} ${this.plan.name.family}`;
  }

  private partnerOf(referral: Referral): Reference<never> {
    return reference(this.pool.partners[SERVICES[referral.service].partner]);
  }

  /** Part 2 labels go on what reveals substance use: that problem and the referrals for it. */
  private labelled(problem: number): boolean {
    return this.plan.problems[problem]?.def.kind === 'substance-use';
  }

  patient(): Patient {
    const { plan, rng } = this;
    const telecom: ContactPoint[] = [];
    if (rng.chance(0.85)) telecom.push(mobile(rng));
    if (rng.chance(0.35)) {
      telecom.push({ system: 'email', value: `${emailLocal(plan.name.given, plan.name.family)}${rng.int(1, 99)}@example.com`, use: 'home' });
    }
    const language = plan.name.culture.language;
    const address = plan.homeless
      ? { use: 'temp' as const, text: 'No fixed address; mail held at the agency', city: this.pool.agency.address?.[0]?.city ?? 'Portland', state: 'OR', country: 'US' }
      : streetAddress(rng, 'home');
    return {
      resourceType: 'Patient',
      id: this.ids.patient,
      identifier: [
        {
          use: 'usual',
          type: concept('http://terminology.hl7.org/CodeSystem/v2-0203', 'MR', 'Medical record number'),
          system: SYSTEM.client,
          value: plan.identifierValue,
          assigner: this.agencyRef,
        },
      ],
      active: plan.status !== 'finished',
      name: [{ use: 'official', family: plan.name.family, given: plan.middle ? [plan.name.given, plan.middle] : [plan.name.given] }],
      ...(telecom.length > 0 ? { telecom } : {}),
      gender: plan.gender,
      birthDate: date(plan.birthDay),
      address: [address],
      ...(language
        ? { communication: [{ language: { coding: [{ system: SYSTEM.bcp47, code: language.code, display: language.display }], text: language.display }, preferred: true }] }
        : {}),
      managingOrganization: this.agencyRef,
    };
  }

  episodeOfCare(): EpisodeOfCare {
    const { plan } = this;
    return {
      resourceType: 'EpisodeOfCare',
      id: this.ids.episode,
      identifier: [{ system: SYSTEM.caseNumber, value: `${plan.identifierValue}-C1` }],
      status: plan.status,
      statusHistory: plan.history.map((h) => ({
        status: h.status,
        period: { start: date(h.startDay), ...(h.endDay !== undefined ? { end: date(h.endDay) } : {}) },
      })),
      type: [concept(SYSTEM.program, plan.program.code, plan.program.display)],
      diagnosis: plan.problems.map((_, i) => ({
        condition: ref('Condition', this.ids.conditions[i] as string),
        role: i === 0 ? concept(SYSTEM.diagnosisRole, 'CC', 'Chief complaint') : concept(SYSTEM.diagnosisRole, 'CM', 'Comorbidity diagnosis'),
        rank: i + 1,
      })),
      patient: this.patientRef,
      managingOrganization: this.agencyRef,
      period: { start: date(plan.startDay), ...(plan.endDay !== undefined ? { end: date(plan.endDay) } : {}) },
      careManager: plan.caseManager.role,
      team: [ref('CareTeam', this.ids.careTeam)],
    };
  }

  careTeam(): CareTeam {
    const { plan } = this;
    const period = { start: date(plan.startDay), ...(plan.endDay !== undefined ? { end: date(plan.endDay) } : {}) };
    const participant: CareTeamParticipant[] = [{ role: [roleCode(plan.caseManager)], member: plan.caseManager.role, period }];
    if (plan.clinician) {
      participant.push({ role: [roleCode(plan.clinician)], member: plan.clinician.role, period });
    }
    participant.push({ role: [concept(SYSTEM.snomed, '116154003', 'Patient')], member: this.patientRef });
    return {
      resourceType: 'CareTeam',
      id: this.ids.careTeam,
      status: plan.endDay !== undefined ? 'inactive' : 'active',
      name: `Care team for ${this.fullName}`,
      subject: this.patientRef,
      period,
      participant,
      managingOrganization: [this.agencyRef],
    };
  }

  encounter(contact: Contact, i: number): Encounter {
    const type = CONTACT_TYPES[contact.type] ?? { display: contact.type, class: 'AMB' as const };
    const period = { start: dateTime(contact.start), end: dateTime(contact.end) };
    return {
      resourceType: 'Encounter',
      id: this.ids.contacts[i] as string,
      status: 'finished',
      class: { system: SYSTEM.actCode, code: type.class, display: ENCOUNTER_CLASS[type.class] },
      type: [concept(SYSTEM.contactType, contact.type, type.display)],
      ...(contact.type === 'crisis' ? { priority: concept(SYSTEM.actPriority, 'EM', 'emergency') } : {}),
      subject: this.patientRef,
      episodeOfCare: [ref('EpisodeOfCare', this.ids.episode)],
      participant: [
        {
          type: [concept(SYSTEM.participationType, 'PPRF', 'primary performer')],
          individual: contact.staff.role,
          period,
        },
      ],
      period,
      length: { value: Math.round((contact.end - contact.start) / 60_000), unit: 'min', system: SYSTEM.ucum, code: 'min' },
      reasonReference: [ref('Condition', this.ids.conditions[0] as string)],
      serviceProvider: this.agencyRef,
    };
  }

  questionnaireResponse(i: number): QuestionnaireResponse {
    const a = this.plan.assessments[i] as ClientPlan['assessments'][number];
    const contact = this.plan.contacts[a.contact] as Contact;
    return {
      resourceType: 'QuestionnaireResponse',
      id: this.ids.responses[i] as string,
      questionnaire: canonical(a.instrument),
      status: 'completed',
      subject: this.patientRef,
      encounter: ref('Encounter', this.ids.contacts[a.contact] as string),
      authored: dateTime(contact.start + 10 * 60_000),
      author: contact.staff.role,
      source: this.patientRef,
      item: [
        ...a.instrument.items.map((item, k) => {
          const answer = ANSWERS[a.scores[k] ?? 0] ?? ANSWERS[0];
          return {
            linkId: item.code,
            text: item.text,
            answer: [{ valueCoding: { system: SYSTEM.loinc, code: answer?.code, display: answer?.display } }],
          };
        }),
        { linkId: a.instrument.total.code, text: 'Total score', answer: [{ valueInteger: a.total }] },
      ],
    };
  }

  scoreObservation(i: number): Observation {
    const a = this.plan.assessments[i] as ClientPlan['assessments'][number];
    const contact = this.plan.contacts[a.contact] as Contact;
    const when = dateTime(contact.start + 10 * 60_000);
    return {
      resourceType: 'Observation',
      id: this.ids.observations[i] as string,
      status: 'final',
      category: [concept(SYSTEM.observationCategory, 'survey', 'Survey')],
      code: concept(SYSTEM.loinc, a.instrument.total.code, a.instrument.total.display, `${a.instrument.key.toUpperCase()} total score`),
      subject: this.patientRef,
      encounter: ref('Encounter', this.ids.contacts[a.contact] as string),
      effectiveDateTime: when,
      issued: when,
      performer: [contact.staff.role],
      valueQuantity: { value: a.total, unit: '{score}', system: SYSTEM.ucum, code: '{score}' },
      derivedFrom: [ref('QuestionnaireResponse', this.ids.responses[i] as string)],
    };
  }

  condition(i: number): Condition {
    const problem = this.plan.problems[i] as ClientPlan['problems'][number];
    const { def } = problem;
    const intake = this.plan.contacts[0] as Contact;
    const category: CodeableConcept[] =
      def.kind === 'sdoh'
        ? [
            concept(SYSTEM.usCoreConditionCategory, 'health-concern', 'Health Concern'),
            ...(def.sdoh ? [concept(SYSTEM.sdohcc, def.sdoh.code, def.sdoh.display)] : []),
          ]
        : [concept(SYSTEM.conditionCategory, 'problem-list-item', 'Problem List Item')];
    const measure = def.kind === 'depression' ? 'phq-9' : def.kind === 'anxiety' ? 'gad-7' : undefined;
    const evidence = this.plan.assessments.findIndex((a) => a.contact === 0 && a.instrument.key === measure);
    const abated = problem.abatedDay !== undefined;
    return {
      resourceType: 'Condition',
      id: this.ids.conditions[i] as string,
      ...(this.labelled(i) ? { meta: PART2_META } : {}),
      clinicalStatus: concept(SYSTEM.conditionClinical, abated ? 'resolved' : 'active', abated ? 'Resolved' : 'Active'),
      verificationStatus: concept(SYSTEM.conditionVerification, 'confirmed', 'Confirmed'),
      category,
      code: concept(SYSTEM.icd10cm, def.code, def.display, def.display),
      subject: this.patientRef,
      encounter: ref('Encounter', this.ids.contacts[0] as string),
      onsetDateTime: date(problem.onsetDay),
      ...(abated ? { abatementDateTime: date(problem.abatedDay as number) } : {}),
      recordedDate: dateTime(intake.end),
      recorder: intake.staff.role,
      ...(evidence >= 0 ? { evidence: [{ detail: [ref('Observation', this.ids.observations[evidence] as string)] }] } : {}),
    };
  }

  goal(i: number): Goal {
    const g = this.plan.goals[i] as ClientPlan['goals'][number];
    const problem = this.plan.problems[g.problem] as ClientPlan['problems'][number];
    const milestones: Extension[] = this.plan.goals.flatMap((child, k) =>
      child.parent === i
        ? [
            {
              url: EXTENSION.goalRelationship,
              extension: [
                { url: 'type', valueCodeableConcept: concept(SYSTEM.goalRelationshipType, 'milestone', 'Milestone') },
                { url: 'target', valueReference: ref('Goal', this.ids.goals[k] as string) },
              ],
            },
          ]
        : [],
    );
    const latest = g.measure ? this.plan.assessments.map((a, k) => ({ a, k })).filter(({ a }) => a.instrument === g.measure).pop() : undefined;
    const sdoh = problem.def.sdoh;
    return {
      resourceType: 'Goal',
      id: this.ids.goals[i] as string,
      ...(this.labelled(g.problem) ? { meta: PART2_META } : {}),
      ...(milestones.length > 0 ? { extension: milestones } : {}),
      lifecycleStatus: g.lifecycle,
      achievementStatus: concept(SYSTEM.goalAchievement, g.achievement, ACHIEVEMENT[g.achievement]),
      category: [sdoh ? concept(SYSTEM.sdohcc, sdoh.code, sdoh.display) : concept(SYSTEM.goalCategory, 'behavioral', 'Behavioral')],
      ...(g.parent === undefined ? { priority: concept(SYSTEM.goalPriority, i === 0 ? 'high-priority' : 'medium-priority', i === 0 ? 'High Priority' : 'Medium Priority') } : {}),
      description: { text: g.text },
      subject: this.patientRef,
      startDate: date(g.startDay),
      target: [
        g.measure
          ? {
              measure: concept(SYSTEM.loinc, g.measure.total.code, g.measure.total.display),
              detailQuantity: { comparator: '<', value: 10, unit: '{score}', system: SYSTEM.ucum, code: '{score}' },
              dueDate: date(g.dueDay),
            }
          : { dueDate: date(g.dueDay) },
      ],
      statusDate: date(g.statusDay),
      expressedBy: this.patientRef,
      addresses: [ref('Condition', this.ids.conditions[g.problem] as string)],
      ...(latest ? { outcomeReference: [ref('Observation', this.ids.observations[latest.k] as string)] } : {}),
    };
  }

  consent(): Consent {
    const { plan } = this;
    const intake = plan.contacts[0] as Contact;
    const recipients = [...new Set(plan.referrals.map((r) => SERVICES[r.service].partner))].map((p) => reference(this.pool.partners[p]));
    const start = intake.end - 5 * 60_000;
    return {
      resourceType: 'Consent',
      id: this.ids.consent,
      status: plan.status === 'finished' ? 'inactive' : 'active',
      scope: concept(SYSTEM.consentScope, 'patient-privacy', 'Privacy Consent'),
      category: [concept(SYSTEM.actCode, 'IDSCL', 'information disclosure')],
      patient: this.patientRef,
      dateTime: dateTime(start),
      performer: [this.patientRef],
      organization: [this.agencyRef],
      sourceAttachment: { contentType: 'application/pdf', title: 'Signed authorization to release information', creation: dateTime(start) },
      ...(plan.partTwo ? { policy: [{ authority: 'https://www.ecfr.gov', uri: PART2_POLICY_URI }] } : {}),
      policyRule: concept(SYSTEM.consentPolicy, 'hipaa-auth', 'HIPAA Authorization'),
      provision: {
        type: 'permit',
        period: { start: dateTime(start), end: dateTime(start + 365 * DAY_MS) },
        actor: recipients.map((reference) => ({ role: concept(SYSTEM.participationType, 'IRCP', 'information recipient'), reference })),
        action: [concept(SYSTEM.consentAction, 'disclose', 'Disclose')],
        purpose: [{ system: SYSTEM.actReason, code: 'TREAT', display: 'treatment' }],
        ...(plan.partTwo ? { securityLabel: [PART2_SECURITY[0] as Coding] } : {}),
      },
    };
  }

  serviceRequest(i: number): ServiceRequest {
    const referral = this.plan.referrals[i] as Referral;
    const service = SERVICES[referral.service];
    const problem = this.plan.problems[referral.problem] as ClientPlan['problems'][number];
    const goal = this.plan.goals.findIndex((g) => g.problem === referral.problem && g.parent === undefined);
    const category = problem.def.sdoh
      ? [concept(SYSTEM.snomed, '410606002', 'Social service procedure'), concept(SYSTEM.sdohcc, problem.def.sdoh.code, problem.def.sdoh.display)]
      : [concept(SYSTEM.serviceCategory, 'behavioral-health', 'Behavioral health services')];
    const code: CodeableConcept = {
      coding: [
        ...(service.snomed ? [{ system: SYSTEM.snomed, code: service.snomed.code, display: service.snomed.display }] : []),
        { system: SYSTEM.service, code: referral.service, display: service.display },
      ],
      text: service.display,
    };
    return {
      resourceType: 'ServiceRequest',
      id: this.ids.requests[i] as string,
      ...(this.labelled(referral.problem) ? { meta: PART2_META } : {}),
      ...(goal >= 0 ? { extension: [{ url: EXTENSION.pertainsToGoal, valueReference: ref('Goal', this.ids.goals[goal] as string) }] } : {}),
      status: referral.status === 'completed' ? 'completed' : 'active',
      intent: 'order',
      category,
      priority: referral.urgent ? 'urgent' : 'routine',
      code,
      subject: this.patientRef,
      encounter: ref('Encounter', this.ids.contacts[referral.contact] as string),
      authoredOn: dateTime(referral.authored),
      requester: this.plan.caseManager.role,
      performer: [this.partnerOf(referral)],
      reasonReference: [ref('Condition', this.ids.conditions[referral.problem] as string)],
      supportingInfo: [ref('Consent', this.ids.consent)],
    };
  }

  task(i: number): Task {
    const referral = this.plan.referrals[i] as Referral;
    return {
      resourceType: 'Task',
      id: this.ids.tasks[i] as string,
      ...(this.labelled(referral.problem) ? { meta: PART2_META } : {}),
      status: referral.status,
      intent: 'order',
      priority: referral.urgent ? 'urgent' : 'routine',
      code: concept(SYSTEM.taskCode, 'fulfill', 'Fulfill the focal request'),
      focus: ref('ServiceRequest', this.ids.requests[i] as string),
      for: this.patientRef,
      ...(referral.started !== undefined
        ? { executionPeriod: { start: dateTime(referral.started), ...(referral.completed !== undefined ? { end: dateTime(referral.completed) } : {}) } }
        : {}),
      authoredOn: dateTime(referral.authored),
      lastModified: dateTime(referral.lastModified),
      requester: this.plan.caseManager.role,
      owner: this.partnerOf(referral),
    };
  }

  communications(i: number): Communication[] {
    const referral = this.plan.referrals[i] as Referral;
    const service = SERVICES[referral.service];
    const partner = this.pool.partners[service.partner];
    const meta = this.labelled(referral.problem) ? { meta: PART2_META } : {};
    const about = { about: [ref('Task', this.ids.tasks[i] as string)], basedOn: [ref('ServiceRequest', this.ids.requests[i] as string)] };
    const sentId = this.rng.uuid();
    const sentAt = referral.authored + 5 * 60_000;
    const messages: Communication[] = [
      {
        resourceType: 'Communication',
        id: sentId,
        ...meta,
        ...about,
        status: 'completed',
        category: [concept(SYSTEM.communicationCategory, 'notification', 'Notification')],
        subject: this.patientRef,
        sent: dateTime(sentAt),
        recipient: [this.partnerOf(referral)],
        sender: this.plan.caseManager.role,
        payload: [{ contentString: `Referral for ${service.display.toLowerCase()} sent to ${partner.name} for ${this.fullName}. Please confirm receipt.` }],
      },
    ];
    if (referral.status !== 'requested') {
      const replyAt = referral.started ?? referral.lastModified;
      const appointment = date(Math.floor(replyAt / DAY_MS) + this.rng.int(3, 10));
      const text =
        referral.status === 'completed'
          ? `Services completed for ${this.fullName}; we are closing the referral.`
          : `Referral accepted. Intake appointment offered on ${appointment}.`;
      messages.push({
        resourceType: 'Communication',
        id: this.rng.uuid(),
        ...meta,
        ...about,
        inResponseTo: [ref('Communication', sentId)],
        status: 'completed',
        category: [concept(SYSTEM.communicationCategory, 'notification', 'Notification')],
        subject: this.patientRef,
        sent: dateTime(Math.max(sentAt + 60_000, (referral.completed ?? replyAt) - 30 * 60_000)),
        recipient: [this.plan.caseManager.role],
        sender: this.partnerOf(referral),
        payload: [{ contentString: text }],
      });
    }
    return messages;
  }

  carePlan(): CarePlan {
    const { plan } = this;
    const goals = plan.goals.map((g) => `<li>${xml(g.text)}${g.parent !== undefined ? ' (objective)' : ''}: ${xml(g.achievement)}</li>`).join('');
    const problems = plan.problems.map((p) => `<li>${xml(p.def.display)}</li>`).join('');
    const services = plan.referrals.map((r) => `<li>${xml(SERVICES[r.service].display)}: ${xml(r.status)}</li>`).join('');
    const div =
      `<div xmlns="http://www.w3.org/1999/xhtml"><p>Individualised service plan for ${xml(this.fullName)}, case manager ${xml(plan.caseManager.name)}.</p>` +
      `<p>Problems and needs:</p><ul>${problems}</ul><p>Goals:</p><ul>${goals}</ul><p>Referrals:</p><ul>${services}</ul></div>`;
    return {
      resourceType: 'CarePlan',
      id: this.ids.carePlan,
      text: { status: 'generated', div },
      status: plan.status === 'finished' ? 'completed' : plan.status === 'onhold' ? 'on-hold' : 'active',
      intent: 'plan',
      category: [
        concept(SYSTEM.carePlanCategory, 'assess-plan', 'Assessment and Plan of Treatment'),
        concept(SYSTEM.carePlanKind, 'service-plan', 'Case management service plan'),
      ],
      title: 'Individualised service plan',
      subject: this.patientRef,
      encounter: ref('Encounter', this.ids.contacts[0] as string),
      period: { start: date(plan.startDay), ...(plan.endDay !== undefined ? { end: date(plan.endDay) } : {}) },
      created: dateTime(plan.carePlanCreated),
      author: plan.caseManager.role,
      contributor: [plan.caseManager.role, this.patientRef],
      careTeam: [ref('CareTeam', this.ids.careTeam)],
      addresses: plan.problems.map((_, i) => ref('Condition', this.ids.conditions[i] as string)),
      goal: plan.goals.map((_, i) => ref('Goal', this.ids.goals[i] as string)),
      activity: plan.referrals.map((_, i) => ({ reference: ref('ServiceRequest', this.ids.requests[i] as string) })),
    };
  }

  caseNote(contact: Contact, i: number): DocumentReference {
    const { plan, rng } = this;
    const discharge = plan.endDay !== undefined && i === plan.contacts.length - 1;
    const type = discharge ? NOTE_TYPES.discharge : contact.staff.kind === 'social-worker' ? NOTE_TYPES.socialWork : NOTE_TYPES.progress;
    const text = this.noteText(contact, i, discharge);
    const data = Buffer.from(text, 'utf8');
    const written = contact.end + rng.int(10, 180) * 60_000;
    return {
      resourceType: 'DocumentReference',
      id: rng.uuid(),
      ...(plan.partTwo ? { meta: PART2_META } : {}),
      status: 'current',
      docStatus: 'final',
      type: concept(SYSTEM.loinc, type.code, type.display),
      category: [concept(SYSTEM.documentCategory, 'clinical-note', 'Clinical Note')],
      subject: this.patientRef,
      date: dateTime(Math.min(written, localInstant(contact.day, 23, 30))),
      author: [contact.staff.role],
      custodian: this.agencyRef,
      ...(plan.partTwo ? { securityLabel: PART2_SECURITY.map((c) => ({ coding: [c] })) } : {}),
      content: [
        {
          attachment: {
            contentType: 'text/plain; charset=utf-8',
            language: 'en',
            data: data.toString('base64'),
            size: data.length,
            title: `${type.display} ${date(contact.day)}`,
            creation: dateTime(contact.end),
          },
        },
      ],
      context: {
        encounter: [ref('Encounter', this.ids.contacts[i] as string)],
        period: { start: dateTime(contact.start), end: dateTime(contact.end) },
      },
    };
  }

  private noteText(contact: Contact, i: number, discharge: boolean): string {
    const { plan, rng } = this;
    const type = CONTACT_TYPES[contact.type];
    const language = plan.name.culture.language;
    const minutes = Math.round((contact.end - contact.start) / 60_000);
    const lines = [
      `${type?.display ?? 'Contact'} with ${this.fullName} on ${date(contact.day)} (${minutes} min).`,
      `Present: client; ${contact.staff.name}, ${STAFF_ROLES[contact.staff.kind].display}${language && rng.chance(0.6) ? `; ${language.display} interpreter` : ''}.`,
    ];
    if (contact.type === 'crisis') {
      lines.push('Significant event: client in acute distress. Safety plan reviewed; no imminent risk identified; crisis line number given.');
    }
    lines.push(`Client reports ${rng.pick(CLIENT_REPORTS)}.`);
    for (const a of plan.assessments.filter((x) => x.contact === i)) {
      lines.push(`${a.instrument.key.toUpperCase()} administered: total ${a.total} (${severity(a.instrument, a.total)}).`);
    }
    lines.push(`Interventions: ${rng.sample(INTERVENTIONS, 2).join('; ')}.`);
    if (i === 0) {
      lines.push(`Goals agreed with the client: ${plan.goals.filter((g) => g.parent === undefined).map((g) => g.text.toLowerCase()).join('; ')}.`);
    } else {
      // Only the last contact knows how a goal ended; earlier ones see it under way.
      const goal = plan.goals[rng.int(0, plan.goals.length - 1)];
      const last = i === plan.contacts.length - 1;
      if (goal) lines.push(`Progress on goal "${goal.text}": ${last || goal.statusDay <= contact.day ? goal.achievement : 'in progress'}.`);
    }
    if (plan.partTwo) lines.push('Substance use: reviewed treatment attendance and recovery supports.');
    if (discharge) {
      lines.push(
        `Case closed after ${(plan.endDay ?? plan.startDay) - plan.startDay} days. Referrals: ${plan.referrals.map((r) => `${SERVICES[r.service].display} (${r.status})`).join(', ')}.`,
        'Client informed how to re-engage services; follow-up call offered in 30 days.',
      );
    } else {
      lines.push(`Plan: next contact within ${rng.pick([7, 14, 14, 21, 30])} days.`);
    }
    return lines.join('\n') + '\n';
  }

  provenance(): Provenance {
    const role = this.plan.caseManager.role;
    return {
      resourceType: 'Provenance',
      id: this.rng.uuid(),
      target: [ref('CarePlan', this.ids.carePlan)],
      recorded: dateTime(this.plan.carePlanCreated),
      activity: concept(SYSTEM.dataOperation, 'CREATE', 'create'),
      agent: [
        {
          type: concept(SYSTEM.provenanceParticipant, 'author', 'Author'),
          who: role,
          onBehalfOf: this.agencyRef,
        },
      ],
    };
  }
}

const ACHIEVEMENT: Record<GoalPlan['achievement'], string> = {
  'in-progress': 'In Progress',
  improving: 'Improving',
  worsening: 'Worsening',
  'no-change': 'No Change',
  achieved: 'Achieved',
  'not-achieved': 'Not Achieved',
};
