/**
 * Evaluation and outcomes (pure): what a case achieved, and the agency's aggregate measures,
 * computed from the stored FHIR resources only.
 *
 * Per case: goals met (the top-level goals, cb-goal, of the case's latest plan, achieved), the
 * PHQ-9 total at intake (the first score dated in the case's period) and at closure (the last),
 * response (a fall of at least 50% from a baseline of 10 or more) and remission (the last score
 * under 5) — the usual PHQ-9 definitions (Kroenke, Spitzer and Williams; also NCQA's depression
 * measures), not clinical judgements here.
 *
 * Measures over a period [start, end] (FHIR dates, inclusive), for all cases or one case manager's:
 *   caseload-size           cases open on any day of the period (cohort)
 *   time-to-first-contact   cases opened in the period: days from opening to the first contact (mean; continuous variable)
 *   referral-loop-closure   referrals made in the period whose Task is completed (proportion)
 *   goals-met               goals of the cases closed in the period that were achieved (proportion)
 *   phq9-response           cases closed in the period with a baseline PHQ-9 ≥ 10 and a later score: responded (proportion)
 *   phq9-remission          the same cases: last score < 5 (proportion)
 */
import type { CarePlan, Encounter, EpisodeOfCare, Goal, Observation, ServiceRequest, Task } from '@medplum/fhirtypes';
import { achievementCode } from './progress';
import { WORKFLOW_EPISODE, localReference, profile } from './vocabulary';

export const PHQ9_TOTAL = '44261-6';

type WithId<T> = T & { id: string };

export interface CaseData {
  readonly episode: WithId<EpisodeOfCare>;
  readonly plans: readonly WithId<CarePlan>[];
  readonly goals: ReadonlyMap<string, WithId<Goal>>;
  readonly encounters: readonly WithId<Encounter>[];
  readonly referrals: readonly WithId<ServiceRequest>[];
  readonly tasks: readonly WithId<Task>[];
  /** PHQ-9 totals of the client (any date: the case period selects). */
  readonly phq9: readonly WithId<Observation>[];
}

export interface ScorePoint {
  readonly score: number;
  readonly date: string;
  readonly observation: string;
}

export interface CaseOutcome {
  readonly goals: { readonly total: number; readonly achieved: number; readonly items: readonly { id: string; description: string; lifecycleStatus: string; achievementStatus: string | undefined }[] };
  readonly phq9: { readonly intake: ScorePoint | null; readonly latest: ScorePoint | null; readonly response: boolean | null; readonly remission: boolean | null };
}

const day = (d: string | undefined): string => (d ?? '').slice(0, 10);

/** The latest plan of the case (by created, then lastUpdated). */
export function latestPlan(plans: readonly WithId<CarePlan>[]): WithId<CarePlan> | undefined {
  return [...plans].filter((p) => p.status !== 'entered-in-error').sort((a, b) => ((b.created ?? b.meta?.lastUpdated ?? '') < (a.created ?? a.meta?.lastUpdated ?? '') ? -1 : 1))[0];
}

export function caseOutcome(data: CaseData): CaseOutcome {
  const plan = latestPlan(data.plans);
  const goals = (plan?.goal ?? [])
    .map((g) => data.goals.get(localReference(g)?.replace(/^Goal\//, '') ?? ''))
    .filter((g): g is WithId<Goal> => g !== undefined && (g.meta?.profile ?? []).includes(profile('cb-goal')));
  const items = goals.map((g) => ({ id: g.id, description: g.description.text ?? '', lifecycleStatus: g.lifecycleStatus, achievementStatus: achievementCode(g) }));
  const scores = phq9InCase(data);
  const intake = scores[0] ?? null;
  const latest = scores.length > 1 ? (scores[scores.length - 1] as ScorePoint) : null;
  const baseline = intake !== null && intake.score >= 10 && latest !== null;
  return {
    goals: { total: items.length, achieved: items.filter((g) => g.achievementStatus === 'achieved').length, items },
    phq9: {
      intake,
      latest,
      response: baseline ? (latest as ScorePoint).score <= intake.score / 2 : null,
      remission: baseline ? (latest as ScorePoint).score < 5 : null,
    },
  };
}

/** The client's PHQ-9 totals dated within the case's period, oldest first. */
function phq9InCase(data: CaseData): ScorePoint[] {
  const start = day(data.episode.period?.start);
  const end = data.episode.period?.end ? day(data.episode.period.end) : '9999-12-31';
  return data.phq9
    .filter((o) => o.status !== 'entered-in-error' && o.status !== 'cancelled' && typeof o.valueInteger === 'number' && o.effectiveDateTime !== undefined)
    .filter((o) => day(o.effectiveDateTime) >= start && day(o.effectiveDateTime) <= end)
    .sort((a, b) => Date.parse(a.effectiveDateTime as string) - Date.parse(b.effectiveDateTime as string))
    .map((o) => ({ score: o.valueInteger as number, date: o.effectiveDateTime as string, observation: `Observation/${o.id}` }));
}

export const MEASURE_IDS = ['caseload-size', 'time-to-first-contact', 'referral-loop-closure', 'goals-met', 'phq9-response', 'phq9-remission'] as const;
export type MeasureId = (typeof MEASURE_IDS)[number];

export interface MeasureResult {
  readonly measure: MeasureId;
  readonly scoring: 'cohort' | 'proportion' | 'continuous-variable';
  /** initial-population, denominator, numerator, measure-population, measure-observation counts. */
  readonly populations: Readonly<Partial<Record<'initial-population' | 'denominator' | 'numerator' | 'measure-population' | 'measure-observation', number>>>;
  /** The cases (EpisodeOfCare ids) or referrals counted in each population. */
  readonly members: Readonly<Partial<Record<'initial-population' | 'denominator' | 'numerator' | 'measure-population', readonly string[]>>>;
  /** Cohort: the count; proportion: numerator / denominator (null when the denominator is 0); continuous: the mean (null when empty). */
  readonly score: number | null;
}

export interface Period {
  readonly start: string;
  readonly end: string;
}

const openDuring = (e: EpisodeOfCare, p: Period): boolean => {
  if (e.status === 'entered-in-error' || e.status === 'planned' || e.status === 'waitlist' || !e.period?.start) return false;
  if (e.status === 'cancelled') return false;
  return day(e.period.start) <= p.end && (e.period.end === undefined || day(e.period.end) >= p.start);
};
const within = (d: string | undefined, p: Period): boolean => d !== undefined && day(d) >= p.start && day(d) <= p.end;
const closedIn = (e: EpisodeOfCare, p: Period): boolean => e.status === 'finished' && within(e.period?.end, p);

/** Every measure over the cases given (already restricted to a case manager, if any). */
export function computeMeasures(cases: readonly CaseData[], period: Period): MeasureResult[] {
  return MEASURE_IDS.map((id) => computeMeasure(id, cases, period));
}

export function computeMeasure(id: MeasureId, cases: readonly CaseData[], period: Period): MeasureResult {
  const ids = (list: readonly CaseData[]) => list.map((c) => c.episode.id);
  switch (id) {
    case 'caseload-size': {
      const open = cases.filter((c) => openDuring(c.episode, period));
      return { measure: id, scoring: 'cohort', populations: { 'initial-population': open.length }, members: { 'initial-population': ids(open) }, score: open.length };
    }
    case 'time-to-first-contact': {
      const opened = cases.filter((c) => openDuring(c.episode, period) && within(c.episode.period?.start, period));
      const days = opened
        .map((c) => {
          const first = c.encounters
            .filter((e) => e.status !== 'entered-in-error' && e.status !== 'cancelled' && e.period?.start)
            .map((e) => day(e.period?.start))
            .filter((d) => d >= day(c.episode.period?.start))
            .sort()[0];
          return first === undefined ? undefined : { id: c.episode.id, days: Math.round((Date.parse(first) - Date.parse(day(c.episode.period?.start))) / 86_400_000) };
        })
        .filter((x): x is { id: string; days: number } => x !== undefined);
      return {
        measure: id,
        scoring: 'continuous-variable',
        populations: { 'initial-population': opened.length, 'measure-population': days.length, 'measure-observation': days.length },
        members: { 'initial-population': ids(opened), 'measure-population': days.map((d) => d.id) },
        score: days.length === 0 ? null : round(days.reduce((s, d) => s + d.days, 0) / days.length),
      };
    }
    case 'referral-loop-closure': {
      const referrals = cases.flatMap((c) => c.referrals.filter((r) => r.intent === 'order' && r.status !== 'entered-in-error' && within(r.authoredOn, period)).map((r) => ({ r, c })));
      const closed = referrals.filter(({ r, c }) => c.tasks.some((t) => localReference(t.focus) === `ServiceRequest/${r.id}` && t.status === 'completed'));
      return proportion(id, referrals.map(({ r }) => `ServiceRequest/${r.id}`), closed.map(({ r }) => `ServiceRequest/${r.id}`));
    }
    case 'goals-met': {
      const closed = cases.filter((c) => closedIn(c.episode, period));
      const goals = closed.flatMap((c) => caseOutcome(c).goals.items);
      return proportion(id, goals.map((g) => `Goal/${g.id}`), goals.filter((g) => g.achievementStatus === 'achieved').map((g) => `Goal/${g.id}`));
    }
    case 'phq9-response':
    case 'phq9-remission': {
      const closed = cases.filter((c) => closedIn(c.episode, period)).map((c) => ({ c, o: caseOutcome(c) }));
      const eligible = closed.filter(({ o }) => o.phq9.response !== null);
      const met = eligible.filter(({ o }) => (id === 'phq9-response' ? o.phq9.response : o.phq9.remission) === true);
      return proportion(id, eligible.map(({ c }) => `EpisodeOfCare/${c.episode.id}`), met.map(({ c }) => `EpisodeOfCare/${c.episode.id}`));
    }
  }
}

function proportion(measure: MeasureId, denominator: readonly string[], numerator: readonly string[]): MeasureResult {
  return {
    measure,
    scoring: 'proportion',
    populations: { 'initial-population': denominator.length, denominator: denominator.length, numerator: numerator.length },
    members: { 'initial-population': denominator, denominator, numerator },
    score: denominator.length === 0 ? null : round(numerator.length / denominator.length),
  };
}

const round = (n: number): number => Math.round(n * 10_000) / 10_000;

/** Whether the resource names the case by the workflow-episodeOfCare extension. */
export function linkedTo(resource: { extension?: { url: string; valueReference?: { reference?: string } }[] }, caseId: string): boolean {
  return (resource.extension ?? []).some((e) => e.url === WORKFLOW_EPISODE && localReference(e.valueReference) === `EpisodeOfCare/${caseId}`);
}
