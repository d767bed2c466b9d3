/**
 * How recorded progress drives goal statuses (goal-achievement codes, R4
 * https://hl7.org/fhir/R4/valueset-goal-achievement.html). `statusDate` changes with them.
 *
 * An objective, from its latest measurement:
 * - met → achievementStatus `achieved`, lifecycleStatus `completed`. Met means: the case
 *   manager said so (`achieved: true`); else, for a numeric target and value, the value compares
 *   with the target by the target's comparator (`>=` when none: the target is a level to reach);
 * - not met → lifecycleStatus `active` (again, if it had been completed), achievementStatus
 *   `improving` / `worsening` / `no-change` against the previous numeric measurement (lower is
 *   better for `<` and `<=` targets), `in-progress` when there is none to compare with or the
 *   measurement is not a number.
 * Its parent goal, from its objectives (cancelled and entered-in-error ones aside):
 * - all achieved → `achieved`, lifecycleStatus `completed`;
 * - some achieved, or some improving → `improving` (lifecycleStatus `active`);
 * - otherwise `in-progress` (lifecycleStatus `active`).
 */
import type { CodeableConcept, Goal, Quantity } from '@medplum/fhirtypes';
import { achievement } from './plan-mapping';

export type AchievementCode = 'achieved' | 'improving' | 'worsening' | 'no-change' | 'in-progress';

const DISPLAYS: Record<AchievementCode, string> = {
  achieved: 'Achieved',
  improving: 'Improving',
  worsening: 'Worsening',
  'no-change': 'No Change',
  'in-progress': 'In Progress',
};

export const achievementConcept = (code: AchievementCode): CodeableConcept => achievement(code, DISPLAYS[code]);

export function achievementCode(goal: Goal): string | undefined {
  return goal.achievementStatus?.coding?.find((c) => c.system === 'http://terminology.hl7.org/CodeSystem/goal-achievement')?.code;
}

/** The objective's achievement after a measurement. */
export function objectiveAchievement(args: { target?: Quantity; value?: number; previous?: number; achieved?: boolean }): AchievementCode {
  const { target, value, previous } = args;
  const lowerIsBetter = target?.comparator === '<' || target?.comparator === '<=';
  const met = args.achieved ?? (value !== undefined && target?.value !== undefined ? compare(value, target.comparator ?? '>=', target.value) : false);
  if (met) return 'achieved';
  if (value === undefined || previous === undefined) return 'in-progress';
  if (value === previous) return 'no-change';
  return (value < previous) === lowerIsBetter ? 'improving' : 'worsening';
}

function compare(value: number, comparator: string, target: number): boolean {
  switch (comparator) {
    case '<':
      return value < target;
    case '<=':
      return value <= target;
    case '>':
      return value > target;
    default:
      return value >= target;
  }
}

/** The parent goal's achievement from its objectives' achievement codes. */
export function goalAchievement(objectives: readonly (string | undefined)[]): AchievementCode {
  if (objectives.length > 0 && objectives.every((c) => c === 'achieved')) return 'achieved';
  if (objectives.some((c) => c === 'achieved' || c === 'improving')) return 'improving';
  return 'in-progress';
}

/** The goal with a new achievement: lifecycle completed when achieved, active otherwise; statusDate when it changed. */
export function withAchievement(goal: Goal, code: AchievementCode, date: string): Goal {
  const lifecycleStatus = code === 'achieved' ? 'completed' : goal.lifecycleStatus === 'completed' ? 'active' : goal.lifecycleStatus;
  const changed = achievementCode(goal) !== code || lifecycleStatus !== goal.lifecycleStatus;
  return { ...goal, lifecycleStatus, achievementStatus: achievementConcept(code), ...(changed ? { statusDate: date.slice(0, 10) } : {}) };
}
