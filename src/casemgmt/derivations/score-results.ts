/**
 * The resources a scored QuestionnaireResponse brings with it (pure: no I/O):
 * - the total score Observation: category survey, code = the instrument's LOINC total, valueInteger,
 *   the severity band in `interpretation`, derivedFrom → the response;
 * - a RiskAssessment: basis → the response and the Observation, one prediction whose
 *   qualitativeRisk comes from the band (risk.ts: a CaseBridge convention);
 * - for PHQ-9 item 9 above zero, a safety Flag; when an amended response is no longer positive,
 *   that Flag becomes inactive (never deleted).
 *
 * Why the band is in Observation.interpretation: R4 defines interpretation as "a categorical
 * assessment of an observation value" (high, low, normal…), which a severity band of a total is.
 * The binding (ObservationInterpretationCodes) is extensible and has no severity levels, so the
 * band is coded in CaseBridge's own code system, with PHQ-2's positive/negative screen also coded
 * POS / NEG. A component would need a "severity" observation code (none verified in LOINC) and is
 * meant for values measured together (systolic/diastolic), and valueCodeableConcept would displace
 * the integer total that searches and trends read.
 *
 * Ids are derived from the response id, so a recomputation updates the same resources.
 * See: https://hl7.org/fhir/R4/observation.html, riskassessment.html, flag.html
 */
import { createHash } from 'node:crypto';
import type { CodeableConcept, Flag, Observation, QuestionnaireResponse, Reference, RiskAssessment } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/outcomes';
import { type InstrumentScore, SEVERITY_BAND_SYSTEM, BAND_DISPLAYS, type SeverityBand } from '../scoring';
import { FLAG_DETAIL, SYSTEMS, profile } from '../vocabulary';
import { PREDICTED_OUTCOMES, qualitativeRisk, riskFor } from './risk';

export type ScoredQuestionnaireResponse = QuestionnaireResponse & { id: string };

export const OBSERVATION_CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const SELF_HARM_FLAG_TEXT = 'Positive PHQ-9 item 9: thoughts of self-harm — assess suicide risk';

/**
 * What derives from a response `<id>`: ids `<id>-score`, `<id>-risk`, `<id>-item9`, and the
 * CaseBridge profile (profiles/) each claims when it conforms.
 */
export const DERIVED = {
  score: { resourceType: 'Observation', suffix: 'score', profile: profile('cb-score-observation') },
  risk: { resourceType: 'RiskAssessment', suffix: 'risk', profile: profile('cb-risk-assessment') },
  selfHarmFlag: { resourceType: 'Flag', suffix: 'item9', profile: profile('cb-risk-flag') },
} as const;

const MAX_ID_LENGTH = 64;

/**
 * `<responseId>-<suffix>`; when that would pass FHIR's 64 characters, a hash of the response id
 * takes its place (still deterministic).
 */
export function derivedId(responseId: string, suffix: string): string {
  const plain = `${responseId}-${suffix}`;
  if (plain.length <= MAX_ID_LENGTH) {
    return plain;
  }
  const hash = createHash('sha256').update(responseId).digest('hex');
  return `${hash.slice(0, MAX_ID_LENGTH - suffix.length - 1)}-${suffix}`;
}

/** The ids of the resources that derive (or may derive) from a response. */
export function derivedIds(responseId: string) {
  return {
    score: derivedId(responseId, DERIVED.score.suffix),
    risk: derivedId(responseId, DERIVED.risk.suffix),
    selfHarmFlag: derivedId(responseId, DERIVED.selfHarmFlag.suffix),
  };
}

export interface DerivationState {
  /** The Flag stored under the response's `-item9` id (absent when never written or deleted). */
  readonly selfHarmFlag?: Flag;
  /**
   * When the results are computed (a dateTime): the Flag's start, or end, when the response's
   * `authored` cannot serve (absent, or before the Flag started).
   */
  readonly now?: string;
}

/**
 * Every resource to write with a scored response: the score Observation, the RiskAssessment
 * and, when item 9 is positive or a Flag for it is active, the Flag. Throws FhirError
 * BUSINESS_RULE when the response lacks what they need (a subject that is a client).
 */
export function scoreResults(
  response: ScoredQuestionnaireResponse,
  score: InstrumentScore,
  state: DerivationState = {},
): (Observation | RiskAssessment | Flag)[] {
  const context = responseContext(response);
  const observation = scoreObservation(response, score, context);
  const risk = riskAssessment(response, score, context);
  const flag = selfHarmFlag(response, score, context, state);
  return flag ? [observation, risk, flag] : [observation, risk];
}

/**
 * What the derived resources copy from the response. References are typed `Reference<never>`
 * (assignable to any element's reference type) because their target types are checked at run
 * time, against what each element accepts.
 */
export interface ResponseContext {
  readonly subject: Reference<never>;
  readonly encounter?: Reference<never>;
  readonly authored?: string;
  readonly author?: Reference<never>;
  readonly self: Reference<never>;
}

/** Reference types each derived element accepts (R4). */
const SUBJECT_TYPES = ['Patient', 'Group'];
const OBSERVATION_PERFORMER_TYPES = ['Practitioner', 'PractitionerRole', 'Organization', 'CareTeam', 'Patient', 'RelatedPerson'];
const FLAG_AUTHOR_TYPES = ['Device', 'Organization', 'Patient', 'Practitioner', 'PractitionerRole'];

export function responseContext(response: ScoredQuestionnaireResponse): ResponseContext {
  const subject = response.subject;
  const subjectType = subject ? referenceType(subject) : undefined;
  if (!subject || isLocal(subject) || (subjectType !== undefined && !SUBJECT_TYPES.includes(subjectType))) {
    const message = `A scored response's subject must reference the client it is about (a Patient, or a Group), got ${JSON.stringify(subject ?? null)}`;
    throw new FhirError('BUSINESS_RULE', message, { expression: ['QuestionnaireResponse.subject'] });
  }
  return {
    subject: portable(subject),
    ...(response.encounter && !isLocal(response.encounter) ? { encounter: portable(response.encounter) } : {}),
    ...(response.authored ? { authored: response.authored } : {}),
    ...(response.author && !isLocal(response.author) ? { author: portable(response.author) } : {}),
    self: { reference: `QuestionnaireResponse/${response.id}` },
  };
}

export function scoreObservation(response: ScoredQuestionnaireResponse, score: InstrumentScore, context = responseContext(response)): Observation & { id: string } {
  const { instrument } = score;
  const performer = context.author && accepts(context.author, OBSERVATION_PERFORMER_TYPES) ? [context.author] : undefined;
  return {
    resourceType: 'Observation',
    id: derivedId(response.id, DERIVED.score.suffix),
    status: response.status === 'amended' ? 'amended' : 'final',
    category: [{ coding: [{ system: OBSERVATION_CATEGORY_SYSTEM, code: 'survey', display: 'Survey' }] }],
    code: { coding: [{ ...instrument.total }], text: `${instrument.title} total score` },
    subject: context.subject,
    ...(context.encounter ? { encounter: context.encounter } : {}),
    ...(context.authored ? { effectiveDateTime: context.authored } : {}),
    ...(performer ? { performer } : {}),
    valueInteger: score.total,
    interpretation: [bandConcept(score.band)],
    derivedFrom: [context.self],
  };
}

export function riskAssessment(response: ScoredQuestionnaireResponse, score: InstrumentScore, context = responseContext(response)): RiskAssessment & { id: string } {
  const { instrument, band } = score;
  const risk = riskFor(instrument.id, band.code);
  const flagId = derivedId(response.id, DERIVED.selfHarmFlag.suffix);
  return {
    resourceType: 'RiskAssessment',
    id: derivedId(response.id, DERIVED.risk.suffix),
    status: response.status === 'amended' ? 'amended' : 'final',
    method: { coding: [{ ...instrument.panel }], text: instrument.title },
    code: { text: `${capitalised(instrument.construct)} risk from ${instrument.title} screening` },
    subject: context.subject,
    ...(context.encounter ? { encounter: context.encounter } : {}),
    ...(context.authored ? { occurrenceDateTime: context.authored } : {}),
    basis: [context.self, { reference: `Observation/${derivedId(response.id, DERIVED.score.suffix)}` }],
    prediction: [
      {
        outcome: structuredClone(PREDICTED_OUTCOMES[instrument.id]),
        qualitativeRisk: qualitativeRisk(risk),
        rationale: `${instrument.title} total ${score.total}: ${band.text}. CaseBridge records this band as ${risk} likelihood (a CaseBridge convention, not a clinical judgement).`,
      },
    ],
    ...(score.selfHarmPositive
      ? { note: [{ text: `PHQ-9 item 9 is positive (thoughts of self-harm): suicide risk is not assessed by this score; see Flag/${flagId}.` }] }
      : {}),
  };
}

/**
 * The Flag to write for PHQ-9 item 9, or undefined when there is nothing to write: active while
 * item 9 is positive (since the first positive response it follows), inactive once an amended
 * response no longer is, its period ended when that response was authored.
 */
export function selfHarmFlag(
  response: ScoredQuestionnaireResponse,
  score: InstrumentScore,
  context: ResponseContext,
  state: DerivationState,
): (Flag & { id: string }) | undefined {
  const current = state.selfHarmFlag;
  if (score.selfHarmPositive === undefined) {
    return undefined;
  }
  const wasActive = current?.status === 'active';
  if (!score.selfHarmPositive && !wasActive) {
    return undefined;
  }
  const start = (wasActive ? current?.period?.start : undefined) ?? context.authored ?? state.now;
  const end = score.selfHarmPositive ? undefined : [context.authored, state.now].find((at) => at !== undefined && notBefore(at, start));
  const period = start || end ? { ...(start ? { start } : {}), ...(end ? { end } : {}) } : undefined;
  return {
    resourceType: 'Flag',
    id: derivedId(response.id, DERIVED.selfHarmFlag.suffix),
    extension: [{ url: FLAG_DETAIL, valueReference: context.self }],
    status: score.selfHarmPositive ? 'active' : 'inactive',
    category: [{ coding: [{ system: SYSTEMS.flagCategory, code: 'safety', display: 'Safety' }] }],
    code: { text: SELF_HARM_FLAG_TEXT },
    subject: context.subject,
    ...(period ? { period } : {}),
    ...(context.encounter ? { encounter: context.encounter } : {}),
    ...(context.author && accepts(context.author, FLAG_AUTHOR_TYPES) ? { author: context.author } : {}),
  };
}

/** A derived resource withdrawn with its response: the same content, status entered-in-error. */
export function enteredInError<T extends Observation | RiskAssessment | Flag>(current: T): T {
  const { meta: _meta, ...rest } = current;
  return { ...rest, status: 'entered-in-error' } as T;
}

function bandConcept(band: SeverityBand): CodeableConcept {
  return {
    coding: [{ system: SEVERITY_BAND_SYSTEM, code: band.code, display: BAND_DISPLAYS[band.code] }, ...(band.equivalents ?? []).map((c) => ({ ...c }))],
    text: band.text,
  };
}

/**
 * The resource type a reference names, from `type` or a `Type/id` (relative or absolute) URL;
 * undefined when it cannot be told (identifier-only, urn:, contained).
 */
export function referenceType(reference: Reference): string | undefined {
  if (reference.type) {
    return reference.type;
  }
  const match = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(reference.reference ?? '');
  return match?.[1];
}

/** A reference to a resource contained in the response cannot be copied to another resource. */
function isLocal(reference: Reference): boolean {
  return reference.reference?.startsWith('#') ?? false;
}

/** Only what locates the target: `reference`, `type`, `identifier`, `display`. */
function portable(reference: Reference): Reference<never> {
  const { reference: ref, type, identifier, display } = reference;
  return { ...(ref ? { reference: ref } : {}), ...(type ? { type } : {}), ...(identifier ? { identifier } : {}), ...(display ? { display } : {}) };
}

/** True unless the reference names a type the element does not accept. */
function accepts(reference: Reference, types: readonly string[]): boolean {
  const type = referenceType(reference);
  return type === undefined || types.includes(type);
}

/** `later` is not before `earlier` (or either cannot be compared, then false). */
function notBefore(later: string, earlier: string | undefined): boolean {
  if (earlier === undefined) {
    return true;
  }
  const [a, b] = [Date.parse(later), Date.parse(earlier)];
  return !Number.isNaN(a) && !Number.isNaN(b) && a >= b;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
