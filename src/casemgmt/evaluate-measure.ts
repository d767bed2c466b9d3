/**
 * $evaluate-measure for CaseBridge's outcome Measures (profiles/Measure-*.json; computed by
 * src/casemgmt/outcomes.ts from the stored resources the caller may see):
 *   GET [base]/Measure/[id]/$evaluate-measure?periodStart=2025-01-01&periodEnd=2025-12-31
 *     [&reportType=population|subject-list|subject][&subject=Patient/[id]][&practitioner=PractitionerRole/[id]]
 *   GET [base]/Measure/$evaluate-measure?measure=[canonical]&periodStart=…&periodEnd=…
 * Answers a MeasureReport (status complete, type summary, subject-list or individual) with one
 * group: its populations' counts and the measure score. `practitioner` restricts the cases to
 * those the case manager manages (EpisodeOfCare.careManager); R4 names a Practitioner, and
 * CaseBridge also takes the PractitionerRole that identifies the case manager in an agency.
 * See: https://hl7.org/fhir/R4/measure-operation-evaluate-measure.html
 */
import type { List, Measure, MeasureReport, MeasureReportGroupPopulation, Parameters } from '@medplum/fhirtypes';
import { loadCaseData } from './outcome-data';
import { MEASURE_IDS, type MeasureId, type MeasureResult, computeMeasure } from './outcomes';
import type { FhirRequest, FhirResponse, QueryParams } from '../core/exchange';
import type { FhirOperation, FhirServices, OperationTarget } from '../core/services';
import { FhirError } from '../fhir/outcomes';
import { parseSearch } from '../search/parse';

const PARAMETERS = new Set(['periodStart', 'periodEnd', 'measure', 'reportType', 'subject', 'practitioner', 'lastReceivedOn']);
const DATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;
export const MEASURE_BASE = 'http://casebridge.org/fhir/Measure/';
const POPULATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/measure-population';

export const evaluateMeasureOperation: FhirOperation = {
  name: 'evaluate-measure',
  definition: 'http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure',
  levels: ['type', 'instance'],
  resourceTypes: ['Measure'],
  affectsState: false,
  async invoke(services: FhirServices, _ctx, target: OperationTarget, request: FhirRequest): Promise<FhirResponse> {
    const params = readParameters(request);
    const measure = await targetMeasure(services, target, params);
    const id = measureId(measure);
    const start = expand(required(params, 'periodStart'), 'start');
    const end = expand(required(params, 'periodEnd'), 'end');
    if (end < start) throw new FhirError('INVALID_REQUEST', `periodEnd (${end}) is before periodStart (${start})`, { expression: ['periodEnd'] });
    const reportType = one(params, 'reportType') ?? (one(params, 'subject') ? 'subject' : 'population');
    if (!['population', 'subject-list', 'subject'].includes(reportType)) {
      throw new FhirError('INVALID_REQUEST', `reportType is population, subject-list or subject, not "${reportType}"`, { expression: ['reportType'] });
    }
    const subject = one(params, 'subject');
    if (reportType === 'subject' && !subject) throw new FhirError('INVALID_REQUEST', 'reportType=subject needs a subject (Patient/[id])', { expression: ['subject'] });
    if (subject !== undefined && !/^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(subject)) throw new FhirError('INVALID_REQUEST', 'subject is Patient/[id]', { expression: ['subject'] });
    const practitioner = one(params, 'practitioner');
    if (practitioner !== undefined && !/^(Practitioner|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/.test(practitioner)) {
      throw new FhirError('INVALID_REQUEST', 'practitioner is Practitioner/[id] or PractitionerRole/[id]', { expression: ['practitioner'] });
    }
    const cases = await loadCaseData(services, { ...(practitioner ? { caseManager: practitioner } : {}), ...(subject ? { subject } : {}) });
    const result = computeMeasure(id, cases, { start, end });
    return { status: 200, body: measureReport(measure, result, { start, end, reportType, subject, practitioner, now: services.now() }), headers: {} };
  },
};

function readParameters(request: FhirRequest): QueryParams {
  const params: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(request.query)) params[name] = [...values];
  const body = request.body as Parameters | undefined;
  if (body?.resourceType === 'Parameters') {
    for (const p of body.parameter ?? []) {
      const value = p.valueDate ?? p.valueDateTime ?? p.valueCode ?? p.valueString ?? p.valueCanonical ?? p.valueUri;
      if (value !== undefined) (params[p.name] ??= []).push(value);
    }
  }
  for (const name of Object.keys(params)) {
    if (!PARAMETERS.has(name)) throw new FhirError('INVALID_REQUEST', `$evaluate-measure does not take the parameter "${name}"`, { expression: [name] });
  }
  return params;
}

function one(params: QueryParams, name: string): string | undefined {
  const values = params[name];
  if (values === undefined) return undefined;
  if (values.length !== 1) throw new FhirError('INVALID_REQUEST', `${name} is given once`, { expression: [name] });
  return values[0];
}

function required(params: QueryParams, name: string): string {
  const value = one(params, name);
  if (value === undefined) throw new FhirError('INVALID_REQUEST', `$evaluate-measure needs ${name} (a date)`, { expression: [name] });
  if (!DATE.test(value)) throw new FhirError('INVALID_REQUEST', `${name} is a date: YYYY, YYYY-MM or YYYY-MM-DD`, { expression: [name] });
  return value;
}

/** A partial date widened to its first or last day. */
function expand(date: string, side: 'start' | 'end'): string {
  if (date.length === 10) return date;
  if (date.length === 4) return side === 'start' ? `${date}-01-01` : `${date}-12-31`;
  const [y, m] = date.split('-').map(Number) as [number, number];
  return side === 'start' ? `${date}-01` : `${date}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, '0')}`;
}

async function targetMeasure(services: FhirServices, target: OperationTarget, params: QueryParams): Promise<Measure & { id: string }> {
  if (target.level === 'instance') {
    return (await services.repo.read('Measure', target.id as string)).resource as Measure & { id: string };
  }
  const url = one(params, 'measure');
  if (!url) throw new FhirError('INVALID_REQUEST', 'Measure/$evaluate-measure needs measure (the canonical url), or use Measure/[id]/$evaluate-measure', { expression: ['measure'] });
  const page = await services.repo.search(parseSearch('Measure', { url }, services.registry, { strict: true, defaultCount: 2, maxCount: 2, baseUrl: services.settings.baseUrl }));
  const found = page.matches[0];
  if (!found) throw new FhirError('NOT_FOUND', `There is no Measure ${url}`, { expression: ['measure'] });
  return found.resource as Measure & { id: string };
}

function measureId(measure: Measure): MeasureId {
  const id = (measure.url ?? '').startsWith(MEASURE_BASE) ? measure.url?.slice(MEASURE_BASE.length) : undefined;
  if (!id || !(MEASURE_IDS as readonly string[]).includes(id)) {
    throw new FhirError('BUSINESS_RULE', `CaseBridge computes its own outcome measures (${MEASURE_IDS.map((m) => MEASURE_BASE + m).join(', ')}), not ${measure.url ?? 'a Measure without url'}`);
  }
  return id as MeasureId;
}

function measureReport(
  measure: Measure & { id: string },
  result: MeasureResult,
  args: { start: string; end: string; reportType: string; subject: string | undefined; practitioner: string | undefined; now: Date },
): MeasureReport {
  const lists = args.reportType === 'subject-list';
  const contained: List[] = [];
  const population = (code: keyof MeasureResult['populations']): MeasureReportGroupPopulation | undefined => {
    const count = result.populations[code];
    if (count === undefined) return undefined;
    const members = code === 'measure-observation' ? undefined : result.members[code];
    // subject-list: who is in each population, as a contained List (R4 subjectResults).
    if (lists && members) contained.push({ resourceType: 'List', id: code, status: 'current', mode: 'snapshot', entry: members.map((m) => ({ item: { reference: m } })) });
    return { code: { coding: [{ system: POPULATION_SYSTEM, code }] }, count, ...(lists && members ? { subjectResults: { reference: `#${code}` } } : {}) };
  };
  const groupPopulations = (['initial-population', 'denominator', 'numerator', 'measure-population', 'measure-observation'] as const).map(population).filter((p): p is MeasureReportGroupPopulation => p !== undefined);
  return {
    resourceType: 'MeasureReport',
    ...(contained.length > 0 ? { contained } : {}),
    status: 'complete',
    type: args.reportType === 'subject' ? 'individual' : args.reportType === 'subject-list' ? 'subject-list' : 'summary',
    measure: measure.url as string,
    ...(args.subject ? { subject: { reference: args.subject } } : {}),
    date: args.now.toISOString(),
    ...(args.practitioner ? { reporter: { reference: args.practitioner } } : {}),
    period: { start: args.start, end: args.end },
    ...(measure.improvementNotation ? { improvementNotation: measure.improvementNotation } : {}),
    group: [
      {
        population: groupPopulations,
        ...(result.score !== null ? { measureScore: { value: result.score, ...(result.scoring === 'continuous-variable' ? { unit: 'd', system: 'http://unitsofmeasure.org', code: 'd' } : {}) } } : {}),
      },
    ],
  };
}
