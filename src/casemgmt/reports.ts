/**
 * The agency's own reporting, as CSV (RFC 4180: comma-separated, CRLF, fields quoted when they
 * hold a comma, quote or line break), computed like $evaluate-measure from the resources the
 * caller may see:
 *   GET /cm/v1/reports/measures.csv?periodStart=…&periodEnd=…  one row per measure and case manager, plus "all"
 *   GET /cm/v1/reports/outcomes.csv?periodStart=…&periodEnd=…  one row per case open in the period
 */
import { FhirError } from '../fhir/outcomes';
import type { FhirServices } from '../core/services';
import { loadCaseData } from './outcome-data';
import { type CaseData, MEASURE_IDS, type Period, caseOutcome, computeMeasure } from './outcomes';
import { localReference } from './vocabulary';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function reportPeriod(query: Record<string, unknown>): Period {
  for (const name of Object.keys(query)) {
    if (name !== 'periodStart' && name !== 'periodEnd') throw new FhirError('INVALID_REQUEST', `Unknown parameter ${name}: a report takes periodStart and periodEnd`, { expression: [name] });
  }
  const get = (name: string): string => {
    const v = query[name];
    if (typeof v !== 'string' || !DATE.test(v)) throw new FhirError('INVALID_REQUEST', `${name} is required: a date, YYYY-MM-DD`, { expression: [name] });
    return v;
  };
  const period = { start: get('periodStart'), end: get('periodEnd') };
  if (period.end < period.start) throw new FhirError('INVALID_REQUEST', `periodEnd (${period.end}) is before periodStart (${period.start})`, { expression: ['periodEnd'] });
  return period;
}

export function csv(rows: readonly (readonly (string | number | boolean | null | undefined)[])[]): string {
  const field = (v: string | number | boolean | null | undefined) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

export interface Report {
  readonly csv: string;
  /** The clients whose cases the report counts (for the audit). */
  readonly patients: readonly string[];
}

export async function measuresReport(services: FhirServices, period: Period): Promise<Report> {
  const cases = await loadCaseData(services);
  const managers = [...new Set(cases.map((c) => localReference(c.episode.careManager) ?? ''))].sort();
  const rows: (string | number | null)[][] = [['measure', 'caseManager', 'periodStart', 'periodEnd', 'initialPopulation', 'denominator', 'numerator', 'measurePopulation', 'score']];
  for (const id of MEASURE_IDS) {
    for (const manager of ['all', ...managers]) {
      const subset = manager === 'all' ? cases : cases.filter((c) => (localReference(c.episode.careManager) ?? '') === manager);
      const r = computeMeasure(id, subset, period);
      const p = r.populations;
      rows.push([id, manager === '' ? 'none' : manager, period.start, period.end, p['initial-population'] ?? null, p.denominator ?? null, p.numerator ?? null, p['measure-population'] ?? null, r.score]);
    }
  }
  return { csv: csv(rows), patients: patientsOf(cases) };
}

export async function outcomesReport(services: FhirServices, period: Period): Promise<Report> {
  const cases = (await loadCaseData(services)).filter((c) => computeMeasure('caseload-size', [c], period).score === 1);
  const rows: (string | number | boolean | null | undefined)[][] = [
    ['case', 'client', 'caseManager', 'programme', 'status', 'opened', 'closed', 'contacts', 'referrals', 'referralsClosed', 'goals', 'goalsAchieved', 'phq9Intake', 'phq9Latest', 'phq9Response', 'phq9Remission'],
  ];
  for (const c of cases.sort((a, b) => (a.episode.id < b.episode.id ? -1 : 1))) {
    const o = caseOutcome(c);
    const referrals = c.referrals.filter((r) => r.intent === 'order');
    rows.push([
      c.episode.id,
      localReference(c.episode.patient),
      localReference(c.episode.careManager),
      (c.episode.type ?? []).flatMap((t) => t.coding ?? []).map((x) => x.code).filter((x) => x !== 'case-management').join(' '),
      c.episode.status,
      c.episode.period?.start,
      c.episode.period?.end,
      c.encounters.length,
      referrals.length,
      referrals.filter((r) => c.tasks.some((t) => localReference(t.focus) === `ServiceRequest/${r.id}` && t.status === 'completed')).length,
      o.goals.total,
      o.goals.achieved,
      o.phq9.intake?.score,
      o.phq9.latest?.score,
      o.phq9.response,
      o.phq9.remission,
    ]);
  }
  return { csv: csv(rows), patients: patientsOf(cases) };
}

function patientsOf(cases: readonly CaseData[]): string[] {
  return [...new Set(cases.map((c) => localReference(c.episode.patient)).filter((p): p is string => p !== undefined))];
}
