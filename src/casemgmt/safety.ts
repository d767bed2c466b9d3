/**
 * The client's safety state (pure), so that it never contradicts itself:
 *
 * - the current risk level is the case manager's latest judgement (set-risk-level: a
 *   RiskAssessment whose method is not an instrument) until a newer judgement supersedes it;
 * - a screening score (a RiskAssessment whose method codes the instrument's LOINC panel) informs
 *   it: a newer score that predicts a HIGHER level raises the current level and asks for a review;
 *   a newer score that predicts a lower level changes nothing (it is shown, never applied):
 *   only the case manager lowers a risk level;
 * - with no judgement at all, the highest level of the scores since the last judgement stands;
 * - open flags come first.
 * See: https://hl7.org/fhir/R4/riskassessment.html, https://hl7.org/fhir/R4/flag.html
 */
import type { Flag, RiskAssessment } from '@medplum/fhirtypes';

export const RISK_ORDER = ['negligible', 'low', 'moderate', 'high', 'certain'] as const;
export type RiskLevel = (typeof RISK_ORDER)[number];

const rank = (level: string | undefined): number => RISK_ORDER.indexOf(level as RiskLevel);

export function levelOf(assessment: RiskAssessment): RiskLevel | undefined {
  const code = assessment.prediction?.[0]?.qualitativeRisk?.coding?.[0]?.code;
  return rank(code) >= 0 ? (code as RiskLevel) : undefined;
}

/** A score-derived assessment names its instrument in `method.coding` (LOINC panel); a judgement does not. */
export function isScoreDerived(assessment: RiskAssessment): boolean {
  return (assessment.method?.coding ?? []).some((c) => c.system === 'http://loinc.org');
}

export interface CurrentRisk<T extends RiskAssessment> {
  readonly level: RiskLevel;
  /** `judgement`: the case manager's; `score`: raised (or, with no judgement, set) by a screening score. */
  readonly source: 'judgement' | 'score';
  /** The assessment the level comes from. */
  readonly assessment: T;
  /** The latest judgement, when the level comes from a score. */
  readonly judgement?: T;
  /** Scores newer than the judgement (newest first), whatever they predict. */
  readonly newerScores: readonly T[];
  /** True when a newer score predicts a higher level than the judgement: the case manager should review it. */
  readonly reviewNeeded: boolean;
}

const when = (a: RiskAssessment): number => Date.parse(a.occurrenceDateTime ?? a.meta?.lastUpdated ?? '') || 0;

/** The current risk from every RiskAssessment of the client (any order), or undefined when none has a level. */
export function currentRisk<T extends RiskAssessment>(assessments: readonly T[]): CurrentRisk<T> | undefined {
  const usable = assessments.filter((a) => a.status !== 'entered-in-error' && a.status !== 'cancelled' && levelOf(a) !== undefined).sort((a, b) => when(b) - when(a));
  const judgement = usable.find((a) => !isScoreDerived(a));
  const newerScores = usable.filter((a) => isScoreDerived(a) && (judgement === undefined || when(a) > when(judgement)));
  const highestScore = [...newerScores].sort((a, b) => rank(levelOf(b)) - rank(levelOf(a)))[0];
  if (judgement) {
    const judged = levelOf(judgement) as RiskLevel;
    if (highestScore && rank(levelOf(highestScore)) > rank(judged)) {
      return { level: levelOf(highestScore) as RiskLevel, source: 'score', assessment: highestScore, judgement, newerScores, reviewNeeded: true };
    }
    return { level: judged, source: 'judgement', assessment: judgement, newerScores, reviewNeeded: false };
  }
  if (!highestScore) return undefined;
  return { level: levelOf(highestScore) as RiskLevel, source: 'score', assessment: highestScore, newerScores, reviewNeeded: false };
}

/** Flags, open (active) first, then by start, newest first. */
export function flagsOpenFirst<T extends Flag>(flags: readonly T[]): T[] {
  const start = (f: Flag) => Date.parse(f.period?.start ?? '') || 0;
  return [...flags].filter((f) => f.status !== 'entered-in-error').sort((a, b) => Number(b.status === 'active') - Number(a.status === 'active') || start(b) - start(a));
}

/** How a flag review is written in its case note (description), and read back. */
export const FLAG_REVIEW_TITLES = { keep: 'Safety flag review: kept', resolve: 'Safety flag review: resolved' } as const;

export interface FlagReview {
  readonly date: string | undefined;
  readonly decision: 'keep' | 'resolve';
  readonly reason: string | undefined;
  readonly by: string | undefined;
  readonly note: string;
}

/** The review a case note records (its description says the decision, its text the reason), or undefined. */
export function flagReviewOf(note: { id?: string; description?: string; date?: string; author?: { reference?: string }[]; content?: { attachment: { data?: string } }[] }): FlagReview | undefined {
  const decision = (Object.entries(FLAG_REVIEW_TITLES) as ['keep' | 'resolve', string][]).find(([, title]) => title === note.description)?.[0];
  if (!decision) return undefined;
  const data = note.content?.[0]?.attachment.data;
  return {
    date: note.date,
    decision,
    reason: data !== undefined ? Buffer.from(data, 'base64').toString('utf8') : undefined,
    by: note.author?.[0]?.reference,
    note: note.id ?? '',
  };
}
