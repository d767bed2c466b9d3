/**
 * Caseloads: GET /cm/v1/cases lists cases filtered by case manager, team, organisation,
 * programme, status, risk level and next due date, sorted and paged. Every filter the FHIR API can
 * answer is a standard FHIR search on EpisodeOfCare, answered through the caller's scoped
 * repository (so a caseload never shows a case the caller may not see):
 *
 *   caseManager  → care-manager=PractitionerRole/[id]        (CaseBridge's care-manager also indexes PractitionerRole)
 *   team         → team=CareTeam/[id]                          (SearchParameter episodeofcare-team)
 *   teamMember   → team:CareTeam.participant=Practitioner/[id]
 *   organization → organization=Organization/[id]
 *   programme    → type=[system|]code
 *   status       → status=active,onhold
 *   client       → patient=Patient/[id]
 *
 * The derived columns are read with a few more searches per page of cases (chunks of ids):
 * risk (RiskAssessment?subject=…, safety.ts decides the current level), open flags
 * (Flag?patient=…&status=active), next due date (CarePlan?episode-of-care=…&status=active
 * &_include=CarePlan:goal: the earliest due date of an open goal or objective) and next
 * appointment (Appointment?supporting-info=…&status=proposed,pending,booked&date=ge[now]).
 * `risk` and `dueBefore` filter on those, so they are applied after the search.
 */
import type { Appointment, CarePlan, EpisodeOfCare, Flag, Goal, Patient, RiskAssessment } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/outcomes';
import type { FhirServices } from '../core/services';
import { searchAll } from './case-record';
import { RISK_ORDER, currentRisk } from './safety';
import { achievementCode } from './progress';
import { localReference, personName } from './vocabulary';

const REF = /^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const STATUSES = ['planned', 'waitlist', 'active', 'onhold', 'finished', 'cancelled', 'entered-in-error'];
export const CASELOAD_SORTS = ['nextDue', '-nextDue', 'opened', '-opened', 'risk', '-risk', 'client', '-client', 'nextAppointment', '-nextAppointment'] as const;
export type CaseloadSort = (typeof CASELOAD_SORTS)[number];
export const CASELOAD_PARAMETERS = ['client', 'caseManager', 'team', 'teamMember', 'organization', 'programme', 'status', 'risk', 'dueBefore', 'sort', 'count', 'page'] as const;
const MAX_COUNT = 100;
const CHUNK = 50;

export interface CaseloadQuery {
  readonly search: Record<string, string>;
  readonly risk?: readonly string[];
  readonly dueBefore?: string;
  readonly sort: CaseloadSort;
  readonly count: number;
  readonly page: number;
}

const bad = (param: string, message: string) => new FhirError('INVALID_REQUEST', message, { expression: [param] });

/** The query string as a caseload query (400 naming the parameter that is wrong). Pure. */
export function parseCaseloadQuery(query: Record<string, unknown>): CaseloadQuery {
  const value = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw bad(name, `Give ${name} once, with a value`);
    return v;
  };
  for (const name of Object.keys(query)) {
    if (!(CASELOAD_PARAMETERS as readonly string[]).includes(name)) {
      throw bad(name, `Unknown parameter ${name}: a caseload is filtered by ${CASELOAD_PARAMETERS.join(', ')}`);
    }
  }
  const search: Record<string, string> = {};
  const reference = (name: string, types: readonly string[], fhirName: string, prefix?: string) => {
    const v = value(name);
    if (v === undefined) return;
    const withType = prefix && !v.includes('/') ? `${prefix}/${v}` : v;
    if (!REF.test(withType) || !types.includes(withType.split('/')[0] as string)) throw bad(name, `${name} is a reference to ${types.join(' or ')}: Type/id`);
    search[fhirName] = withType;
  };
  reference('client', ['Patient'], 'patient', 'Patient');
  reference('caseManager', ['PractitionerRole', 'Practitioner'], 'care-manager');
  reference('team', ['CareTeam'], 'team', 'CareTeam');
  reference('teamMember', ['Practitioner', 'PractitionerRole', 'RelatedPerson', 'Organization', 'Patient'], 'team:CareTeam.participant');
  reference('organization', ['Organization'], 'organization', 'Organization');
  const programme = value('programme');
  if (programme !== undefined) {
    if (!/^[^\s,]{1,256}$/.test(programme)) throw bad('programme', 'programme is a code, or system|code');
    search.type = programme;
  }
  const status = value('status');
  if (status !== undefined) {
    const unknown = status.split(',').filter((s) => !STATUSES.includes(s));
    if (unknown.length > 0) throw bad('status', `Unknown status ${unknown.join(', ')}: one or more of ${STATUSES.join(', ')}`);
    search.status = status;
  }
  const riskValue = value('risk');
  const risk = riskValue?.split(',');
  const unknownRisk = (risk ?? []).filter((r) => !(RISK_ORDER as readonly string[]).includes(r));
  if (unknownRisk.length > 0) throw bad('risk', `Unknown risk level ${unknownRisk.join(', ')}: one or more of ${RISK_ORDER.join(', ')}`);
  const dueBefore = value('dueBefore');
  if (dueBefore !== undefined && !DATE.test(dueBefore)) throw bad('dueBefore', 'dueBefore is a date: YYYY-MM-DD');
  const sort = (value('sort') ?? 'nextDue') as CaseloadSort;
  if (!CASELOAD_SORTS.includes(sort)) throw bad('sort', `sort is one of ${CASELOAD_SORTS.join(', ')}`);
  const count = positive('count', value('count') ?? '20');
  if (count > MAX_COUNT) throw bad('count', `count is at most ${MAX_COUNT}`);
  const page = positive('page', value('page') ?? '1');
  return { search, ...(risk ? { risk } : {}), ...(dueBefore ? { dueBefore } : {}), sort, count, page };
}

/** A list's `count` or `page` (400 naming the parameter when it is not a whole number from 1). */
export function positive(name: string, v: string): number {
  if (!/^[1-9]\d{0,5}$/.test(v)) throw bad(name, `${name} is a whole number from 1`);
  return Number(v);
}

export interface CaseloadRow {
  id: string;
  status: string;
  client: { id: string | undefined; name?: string };
  caseManager?: string;
  agency?: string;
  programmes: string[];
  opened?: string;
  closed?: string;
  risk: { level: string; source: 'judgement' | 'score'; assessed?: string; reviewNeeded: boolean } | null;
  openFlags: number;
  nextDue: { date: string; goal: string; description?: string } | null;
  nextAppointment: { id: string; start: string; status: string } | null;
  view: string;
}

const OPEN_GOAL = new Set(['proposed', 'planned', 'accepted', 'active', 'on-hold']);
const UPCOMING = 'proposed,pending,booked';

/** The caseload (rows for the page asked, with the total). */
export async function caseload(services: FhirServices, query: CaseloadQuery) {
  const found = await searchAll(services, 'EpisodeOfCare', { ...query.search, _include: 'EpisodeOfCare:patient' });
  const episodes = found.matches.map((m) => m.resource as EpisodeOfCare & { id: string });
  const patients = new Map(found.included.filter((r) => r.resource.resourceType === 'Patient').map((r) => [`Patient/${r.id}`, r.resource as Patient]));
  const now = services.now();
  const rows: CaseloadRow[] = [];
  for (let i = 0; i < episodes.length; i += CHUNK) {
    rows.push(...(await enrich(services, episodes.slice(i, i + CHUNK), patients, now)));
  }
  const filtered = rows.filter(
    (r) => (query.risk === undefined || (r.risk !== null && query.risk.includes(r.risk.level))) && (query.dueBefore === undefined || (r.nextDue !== null && r.nextDue.date < query.dueBefore)),
  );
  filtered.sort(comparator(query.sort));
  const start = (query.page - 1) * query.count;
  return { total: filtered.length, rows: filtered.slice(start, start + query.count) };
}

async function enrich(services: FhirServices, episodes: readonly (EpisodeOfCare & { id: string })[], patients: ReadonlyMap<string, Patient>, now: Date): Promise<CaseloadRow[]> {
  if (episodes.length === 0) return [];
  const clients = [...new Set(episodes.map((e) => localReference(e.patient)).filter((p): p is string => p !== undefined))];
  const caseRefs = episodes.map((e) => `EpisodeOfCare/${e.id}`).join(',');
  const [risks, flags, plans, appointments] = await Promise.all([
    clients.length > 0 ? searchAll(services, 'RiskAssessment', { subject: clients.join(',') }) : undefined,
    clients.length > 0 ? searchAll(services, 'Flag', { patient: clients.join(','), status: 'active' }) : undefined,
    searchAll(services, 'CarePlan', { 'episode-of-care': caseRefs, status: 'active,on-hold', _include: 'CarePlan:goal' }),
    searchAll(services, 'Appointment', { 'supporting-info': caseRefs, status: UPCOMING, date: `ge${now.toISOString()}` }),
  ]);
  const bySubject = <T extends { resourceType: string }>(list: { resource: unknown }[] | undefined, key: (r: T) => string | undefined) => {
    const map = new Map<string, T[]>();
    for (const { resource } of list ?? []) {
      const k = key(resource as T);
      if (k !== undefined) map.set(k, [...(map.get(k) ?? []), resource as T]);
    }
    return map;
  };
  const riskOf = bySubject<RiskAssessment>(risks?.matches, (r) => localReference(r.subject));
  const flagsOf = bySubject<Flag>(flags?.matches, (f) => localReference(f.subject));
  const goals = new Map(plans.included.filter((r) => r.resource.resourceType === 'Goal').map((r) => [`Goal/${r.id}`, r.resource as Goal]));
  const plansOf = bySubject<CarePlan>(plans.matches, (p) => localReference(p.extension?.find((e) => e.url.endsWith('workflow-episodeOfCare'))?.valueReference));
  const appointmentsOf = new Map<string, Appointment & { id: string }>();
  for (const { resource } of appointments.matches) {
    const a = resource as Appointment & { id: string };
    for (const s of a.supportingInformation ?? []) {
      const key = localReference(s);
      const earlier = key ? appointmentsOf.get(key) : undefined;
      if (key && (!earlier || (a.start ?? '') < (earlier.start ?? ''))) appointmentsOf.set(key, a);
    }
  }
  return episodes.map((e) => {
    const client = localReference(e.patient);
    const patient = client ? patients.get(client) : undefined;
    const risk = currentRisk(riskOf.get(client ?? '') ?? []);
    const caseRef = `EpisodeOfCare/${e.id}`;
    const due = (plansOf.get(caseRef) ?? [])
      .flatMap((p) => (p.goal ?? []).map((g) => [localReference(g) ?? '', goals.get(localReference(g) ?? '')] as const))
      .filter((entry): entry is readonly [string, Goal] => entry[1] !== undefined && OPEN_GOAL.has(entry[1].lifecycleStatus) && achievementCode(entry[1]) !== 'achieved')
      .flatMap(([ref, g]) => (g.target ?? []).filter((t) => t.dueDate).map((t) => ({ date: t.dueDate as string, goal: ref, description: g.description.text })))
      .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))[0];
    const next = appointmentsOf.get(caseRef);
    const name = patient?.name?.[0];
    return {
      id: e.id,
      status: e.status,
      client: { id: client?.slice('Patient/'.length), ...(name ? { name: personName(name) } : {}) },
      ...(localReference(e.careManager) ? { caseManager: localReference(e.careManager) } : {}),
      ...(localReference(e.managingOrganization) ? { agency: localReference(e.managingOrganization) } : {}),
      programmes: (e.type ?? []).flatMap((t) => (t.coding ?? []).map((c) => c.code ?? '')).filter((c) => c !== '' && c !== 'case-management'),
      ...(e.period?.start ? { opened: e.period.start } : {}),
      ...(e.period?.end ? { closed: e.period.end } : {}),
      risk: risk
        ? { level: risk.level, source: risk.source, ...(risk.assessment.occurrenceDateTime ? { assessed: risk.assessment.occurrenceDateTime } : {}), reviewNeeded: risk.reviewNeeded }
        : null,
      openFlags: (flagsOf.get(client ?? '') ?? []).length,
      nextDue: due ? { date: due.date, goal: due.goal, ...(due.description ? { description: due.description } : {}) } : null,
      nextAppointment: next ? { id: next.id, start: next.start as string, status: next.status } : null,
      view: `/cm/v1/cases/${e.id}`,
    };
  });
}

/** Rows without the sort key go last, whatever the direction; ties by case id. */
function comparator(sort: CaseloadSort): (a: CaseloadRow, b: CaseloadRow) => number {
  const descending = sort.startsWith('-');
  const key = sort.replace(/^-/, '');
  const of = (r: CaseloadRow): string | number | undefined => {
    switch (key) {
      case 'nextDue':
        return r.nextDue?.date;
      case 'opened':
        return r.opened;
      case 'risk':
        return r.risk ? RISK_ORDER.indexOf(r.risk.level as (typeof RISK_ORDER)[number]) : undefined;
      case 'nextAppointment':
        return r.nextAppointment ? Date.parse(r.nextAppointment.start) : undefined;
      default:
        return r.client.name?.toLowerCase();
    }
  };
  return (a, b) => {
    const x = of(a);
    const y = of(b);
    if (x === undefined || y === undefined) return x === y ? (a.id < b.id ? -1 : 1) : x === undefined ? 1 : -1;
    const order = x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    return descending && x !== y ? -order : order;
  };
}
