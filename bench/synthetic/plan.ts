/**
 * A client's story, decided before any FHIR is written: who they are, when the case opened
 * (and closed), which problems were found, how the PHQ-9 / GAD-7 scores moved, which contacts
 * took place, which goals were set and which referrals were made and how far they got.
 * resources.ts renders it as FHIR. Every choice comes from the client's own random stream.
 */
import { GAD7, PHQ9 } from './instruments';
import type { Instrument } from './instruments';
import { personName } from './people';
import type { Gender, PersonName } from './people';
import type { SharedPool, StaffMember } from './pool';
import type { Random } from './random';
import { DAY_MS, localInstant } from './time';
import { CONTACT_TYPES, MENTAL_HEALTH, PROGRAMS, SOCIAL_NEEDS, SUBSTANCE_USE } from './vocabulary';
import type { ProblemDef, ServiceKey, StaffKind } from './vocabulary';

export type EpisodeStatus = 'waitlist' | 'active' | 'onhold' | 'finished';
export type ReferralStatus = 'requested' | 'accepted' | 'in-progress' | 'completed';

export interface Contact {
  readonly day: number;
  readonly start: number;
  readonly end: number;
  readonly type: string;
  readonly staff: StaffMember;
  readonly note: boolean;
}

export interface Assessment {
  readonly instrument: Instrument;
  readonly contact: number;
  readonly scores: readonly number[];
  readonly total: number;
}

export interface Problem {
  readonly def: ProblemDef;
  readonly onsetDay: number;
  readonly abatedDay?: number;
}

export interface GoalPlan {
  readonly problem: number;
  readonly text: string;
  /** Index of the parent goal when this goal is a measurable objective (milestone) of it. */
  readonly parent?: number;
  readonly measure?: Instrument;
  readonly startDay: number;
  readonly dueDay: number;
  readonly lifecycle: 'active' | 'completed' | 'cancelled';
  readonly achievement: 'in-progress' | 'improving' | 'worsening' | 'no-change' | 'achieved' | 'not-achieved';
  readonly statusDay: number;
}

export interface Referral {
  readonly service: ServiceKey;
  readonly problem: number;
  readonly contact: number;
  readonly authored: number;
  readonly status: ReferralStatus;
  readonly lastModified: number;
  readonly started?: number;
  readonly completed?: number;
  readonly urgent: boolean;
}

export interface ClientPlan {
  readonly index: number;
  readonly identifierValue: string;
  readonly gender: Gender;
  readonly name: PersonName;
  readonly middle?: string;
  readonly birthDay: number;
  readonly homeless: boolean;
  readonly program: { code: string; display: string };
  readonly status: EpisodeStatus;
  readonly history: readonly { status: EpisodeStatus; startDay: number; endDay?: number }[];
  readonly startDay: number;
  readonly endDay?: number;
  readonly caseManager: StaffMember;
  readonly clinician?: StaffMember;
  readonly contacts: readonly Contact[];
  readonly assessments: readonly Assessment[];
  readonly problems: readonly Problem[];
  readonly goals: readonly GoalPlan[];
  readonly referrals: readonly Referral[];
  readonly partTwo: boolean;
  readonly carePlanCreated: number;
}

const YEAR_DAYS = 365.25;

/** Moves a weekend day to the nearest weekday inside [min, max]. */
function weekday(day: number, min: number, max: number): number {
  const dow = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
  const shifted = dow === 6 ? day - 1 : dow === 0 ? day + 1 : day;
  if (shifted > max) return Math.max(min, day - 2);
  if (shifted < min) return Math.min(max, day + 2);
  return shifted;
}

function clampScore(value: number): number {
  return Math.max(0, Math.min(3, Math.round(value)));
}

/** Distinct picks from a weighted list. */
function weightedDistinct<T>(rng: Random, choices: readonly (readonly [T, number])[], count: number): T[] {
  const remaining = [...choices];
  const picked: T[] = [];
  while (picked.length < count && remaining.length > 0) {
    const value = rng.weighted(remaining);
    picked.push(value);
    remaining.splice(remaining.findIndex(([v]) => v === value), 1);
  }
  return picked;
}

export function planClient(rng: Random, options: { seed: number; index: number; refDay: number; pool: SharedPool }): ClientPlan {
  const { seed, index, refDay, pool } = options;
  const gender = rng.weighted<Gender>([['female', 55], ['male', 41], ['other', 3], ['unknown', 1]]);
  const name = personName(rng, gender);
  const middle = rng.chance(0.3) ? rng.pick(rng.chance(0.5) ? name.culture.female : name.culture.male) : undefined;
  const age = rng.weighted([[rng.int(18, 24), 15], [rng.int(25, 44), 45], [rng.int(45, 64), 32], [rng.int(65, 84), 8]]);
  const birthDay = refDay - Math.floor(age * YEAR_DAYS) - rng.int(0, 364);

  // The episode: opened 3 weeks to a year before the reference date, maybe after a waitlist.
  const length = rng.int(21, 365);
  const startDay = weekday(refDay - length, refDay - 400, refDay - 1);
  const history: { status: EpisodeStatus; startDay: number; endDay?: number }[] = [];
  if (rng.chance(0.35)) {
    history.push({ status: 'waitlist', startDay: startDay - rng.int(5, 35), endDay: startDay });
  }
  let status: EpisodeStatus = 'active';
  let endDay: number | undefined;
  if (refDay - startDay > 150 && rng.chance(0.3)) {
    status = 'finished';
    endDay = weekday(startDay + rng.int(120, refDay - startDay - 7), startDay + 1, refDay - 1);
  }
  const lastDay = endDay ?? refDay - 1;

  // Problems: one mental-health problem, sometimes a substance use disorder, 0–2 social needs.
  const mental = rng.weighted(MENTAL_HEALTH);
  const substance = rng.chance(0.18) ? rng.pick(SUBSTANCE_USE) : undefined;
  // At most three problems in all: a substance use disorder takes the place of a social need.
  const socialCount = rng.weighted([[0, 25], [1, 50], [2, 25]]) - (substance ? 1 : 0);
  const social = weightedDistinct(rng, SOCIAL_NEEDS, Math.max(0, socialCount));
  const defs = [mental, ...(substance ? [substance] : []), ...social];
  const homeless = social.some((d) => d.sdoh?.code === 'homelessness');

  // Staff: a case manager always; a clinician on most teams.
  const caseManager = rng.pick(pool.staff['case-manager']);
  const clinicianKind: StaffKind | undefined = rng.chance(0.7)
    ? rng.weighted<StaffKind>(mental.kind === 'serious-mental-illness' ? [['psychiatrist', 6], ['counselor', 2], ['social-worker', 2]] : [['counselor', 4], ['social-worker', 4], ['psychologist', 2], ['psychiatrist', 1]])
    : undefined;
  const clinician = clinicianKind ? rng.pick(pool.staff[clinicianKind]) : undefined;

  // Contacts: an intake, then 2–6 more spread over the episode (about one more per quarter).
  const count = Math.max(3, Math.min(7, 3 + Math.floor((lastDay - startDay) / 90) + rng.int(-1, 1)));
  const contacts: Contact[] = [];
  const span = lastDay - startDay;
  for (let i = 0; i < count; i++) {
    const type =
      i === 0
        ? 'intake'
        : rng.weighted<string>([['office-visit', 25], [homeless ? 'outreach' : 'home-visit', 25], ['phone', 24], ['video', 12], ['outreach', 10], ['crisis', 4]]);
    const lo = startDay + Math.ceil((span * i) / count) + (i === 0 ? 0 : 1);
    const hi = Math.max(lo, startDay + Math.floor((span * (i + 1)) / count));
    const day = i === 0 ? startDay : i === count - 1 && endDay !== undefined ? endDay : weekday(rng.int(lo, hi), lo, Math.min(hi, lastDay));
    const def = CONTACT_TYPES[type] ?? { minutes: [30, 60] as [number, number] };
    const start = localInstant(day, rng.int(8, 16), rng.pick([0, 15, 30, 45]));
    const minutes = rng.int(def.minutes[0], def.minutes[1]);
    const staff = clinician && i > 0 && rng.chance(0.25) ? clinician : caseManager;
    const note = i === 0 || type === 'crisis' || (endDay !== undefined && i === count - 1) || rng.chance(0.35);
    contacts.push({ day, start, end: start + minutes * 60_000, type, staff, note });
  }
  if (status === 'active' && rng.chance(0.06)) {
    const holdDay = Math.min(refDay - 1, (contacts[contacts.length - 1] as Contact).day + rng.int(1, 14));
    status = 'onhold';
    history.push({ status: 'active', startDay, endDay: holdDay }, { status: 'onhold', startDay: holdDay });
  } else {
    history.push({ status: 'active', startDay, ...(endDay !== undefined ? { endDay } : {}) });
    if (endDay !== undefined) history.push({ status: 'finished', startDay: endDay });
  }

  // Scores: PHQ-9 and GAD-7 at intake, then again at contacts three months or more apart (max 3).
  const assessments: Assessment[] = [];
  const level = (instrument: Instrument): number => {
    const primary = (instrument === PHQ9 && mental.kind === 'depression') || (instrument === GAD7 && mental.kind === 'anxiety');
    return primary ? 1.3 + rng.float() * 1.1 : 0.4 + rng.float() * 1.2;
  };
  const levels = new Map<Instrument, number>([[PHQ9, level(PHQ9)], [GAD7, level(GAD7)]]);
  const trend = rng.weighted([[-0.45, 45], [-0.2, 35], [0, 12], [0.25, 8]]);
  let lastAssessed = -Infinity;
  let round = 0;
  contacts.forEach((contact, c) => {
    if (round >= 3 || contact.day - lastAssessed < 90 || contact.type === 'phone' || contact.type === 'crisis') {
      return;
    }
    for (const instrument of [PHQ9, GAD7]) {
      if (round > 0 && instrument === GAD7 && !rng.chance(0.6)) continue;
      const mean = Math.max(0, (levels.get(instrument) ?? 1) + trend * round);
      const scores = instrument.items.map((_, i) =>
        instrument === PHQ9 && i === 8 ? (mean > 1.5 && rng.chance(0.2) ? rng.int(1, 2) : 0) : clampScore(mean + rng.normal() * 0.7),
      );
      assessments.push({ instrument, contact: c, scores, total: scores.reduce((a, b) => a + b, 0) });
    }
    lastAssessed = contact.day;
    round++;
  });

  const problems: Problem[] = defs.map((def) => {
    const abated = endDay !== undefined && def.kind === 'sdoh' && rng.chance(0.5);
    return { def, onsetDay: startDay - rng.int(14, 900), ...(abated ? { abatedDay: endDay } : {}) };
  });

  const goals = planGoals(rng, { problems, assessments, startDay, lastDay, refDay, finished: endDay !== undefined });
  const referrals = planReferrals(rng, { problems, contacts, refDay, endDay, homeless });
  const intake = contacts[0] as Contact;
  return {
    index,
    identifierValue: `${seed}-${String(index).padStart(6, '0')}`,
    gender,
    name,
    ...(middle !== undefined ? { middle } : {}),
    birthDay,
    homeless,
    program: rng.weighted(PROGRAMS),
    status,
    history,
    startDay,
    ...(endDay !== undefined ? { endDay } : {}),
    caseManager,
    ...(clinician ? { clinician } : {}),
    contacts,
    assessments,
    problems,
    goals,
    referrals,
    partTwo: substance !== undefined,
    carePlanCreated: Math.max(intake.end, Math.min(localInstant(startDay + rng.int(1, 7), rng.int(9, 16), rng.int(0, 59)), localInstant(refDay - 1, 17))),
  };
}

/** First and last totals of an instrument; `first` only when there was a second measurement. */
function latestTotal(assessments: readonly Assessment[], instrument: Instrument): { first?: number; last?: number } {
  const mine = assessments.filter((a) => a.instrument === instrument);
  const first = mine[0];
  const last = mine[mine.length - 1];
  return first && last ? { last: last.total, ...(mine.length > 1 ? { first: first.total } : {}) } : {};
}

function planGoals(
  rng: Random,
  ctx: { problems: readonly Problem[]; assessments: readonly Assessment[]; startDay: number; lastDay: number; refDay: number; finished: boolean },
): GoalPlan[] {
  const goals: GoalPlan[] = [];
  ctx.problems.forEach((problem, p) => {
    const kind = problem.def.kind;
    const measure = kind === 'depression' ? PHQ9 : kind === 'anxiety' ? GAD7 : undefined;
    const scores = measure ? latestTotal(ctx.assessments, measure) : {};
    const met = scores.last !== undefined ? scores.last < 10 : problem.abatedDay !== undefined || rng.chance(0.3);
    const moving =
      scores.first === undefined || scores.last === undefined ? 'in-progress' : scores.last < scores.first ? 'improving' : scores.last > scores.first ? 'worsening' : 'no-change';
    const parent = goals.length;
    goals.push({
      problem: p,
      text: problem.def.goal.text,
      ...(measure ? { measure } : {}),
      startDay: ctx.startDay,
      dueDay: ctx.startDay + rng.pick([90, 180, 180, 365]),
      lifecycle: ctx.finished ? (met ? 'completed' : 'cancelled') : 'active',
      achievement: ctx.finished ? (met ? 'achieved' : 'not-achieved') : met && moving !== 'worsening' ? 'improving' : moving,
      statusDay: ctx.lastDay,
    });
    const objectives = p === 0 ? rng.int(1, 2) : rng.chance(0.3) ? 1 : 0;
    for (const text of rng.sample(problem.def.goal.objectives, objectives)) {
      const dueDay = ctx.startDay + rng.int(30, 120);
      const done = dueDay < ctx.refDay && rng.chance(0.6);
      goals.push({
        problem: p,
        text,
        parent,
        startDay: ctx.startDay + rng.int(0, 14),
        dueDay,
        lifecycle: done || ctx.finished ? 'completed' : 'active',
        achievement: done ? 'achieved' : ctx.finished ? 'not-achieved' : 'in-progress',
        statusDay: Math.min(dueDay, ctx.lastDay),
      });
    }
  });
  return goals;
}

function planReferrals(
  rng: Random,
  ctx: { problems: readonly Problem[]; contacts: readonly Contact[]; refDay: number; endDay: number | undefined; homeless: boolean },
): Referral[] {
  const wanted: { service: ServiceKey; problem: number }[] = [];
  ctx.problems.forEach((problem, p) => {
    const chance = problem.def.kind === 'sdoh' ? 0.9 : problem.def.kind === 'substance-use' ? 0.95 : 0.55;
    if (rng.chance(chance) && !wanted.some((w) => w.service === problem.def.service)) {
      wanted.push({ service: problem.def.service, problem: p });
    }
  });
  if (wanted.length === 0) {
    wanted.push({ service: (ctx.problems[0] as Problem).def.service, problem: 0 });
  }
  // Times stay before local midnight of the reference date.
  const horizon = localInstant(ctx.refDay, 0) - 60_000;
  return wanted.slice(0, 3).map(({ service, problem }) => {
    const contact = rng.int(0, Math.min(2, ctx.contacts.length - 1));
    const at = ctx.contacts[contact] as Contact;
    const authored = at.end + rng.int(10, 240) * 60_000;
    const age = (horizon - authored) / DAY_MS;
    const status: ReferralStatus =
      ctx.endDay !== undefined
        ? 'completed'
        : age < 5
          ? 'requested'
          : age < 14
            ? rng.weighted<ReferralStatus>([['requested', 3], ['accepted', 7]])
            : age < 45
              ? rng.weighted<ReferralStatus>([['accepted', 3], ['in-progress', 7]])
              : rng.weighted<ReferralStatus>([['in-progress', 3], ['completed', 7]]);
    const step = (days: number): number => Math.max(authored, Math.min(authored + days * DAY_MS, horizon));
    const started = status === 'in-progress' || status === 'completed' ? step(rng.int(3, 12)) : undefined;
    const completed = status === 'completed' ? Math.max(started ?? authored, step(rng.int(20, Math.max(21, Math.floor(age) - 1)))) : undefined;
    const lastModified = completed ?? started ?? (status === 'accepted' ? step(rng.int(1, 4)) : authored);
    return {
      service,
      problem,
      contact,
      authored,
      status,
      lastModified,
      ...(started !== undefined ? { started } : {}),
      ...(completed !== undefined ? { completed } : {}),
      urgent: at.type === 'crisis' || (ctx.homeless && rng.chance(0.3)),
    };
  });
}
