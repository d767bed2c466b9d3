/**
 * EpisodeOfCare/[id]/$everything: a whole case, as Patient/[id]/$everything gives a whole
 * record — the case, its client, care team and problems, its plans with their goals and
 * objectives, interventions and referrals with their Tasks, Procedures and Communications, its
 * screenings, scores and progress, its contacts and case notes, and the client's consents, risk
 * assessments and flags; with the resources they reference (practitioners, organisations,
 * questionnaires) as includes. The same parameters as Patient/$everything: start and end (each
 * type's date of care, fhir/clinical-dates.ts), _since, _type, _count, paged.
 *
 * A case is what links to its EpisodeOfCare (the R4 workflow-episodeOfCare extension, Encounter
 * and DocumentReference context), directly or through its plans and referrals (chained searches),
 * so each part is one search and paging continues inside it with the store's keyset cursor.
 * See: https://hl7.org/fhir/R4/episodeofcare.html (no standard $everything: ours, defined as
 * Patient-everything is) and docs/workflows.md.
 */
import type { BundleEntry, BundleLink, DocumentReference, EpisodeOfCare, Resource } from '@medplum/fhirtypes';
import { pageSize } from '../core/paging';
import type { FhirOperation, FhirServices, OperationTarget } from '../core/services';
import type { FhirRequest, FhirResponse, QueryParams } from '../core/exchange';
import { bundle } from '../fhir/bundles';
import { FhirError } from '../fhir/outcomes';
import { parseSearch } from '../search/parse';
import { type Position, decodePosition, encodePosition, everythingParameters, queryString, single, typeQuery } from './everything';

/** One part of a case: a search of one type, and what to leave out because another part gives it. */
interface CasePart {
  /** Stable name of the part (the page cursor names it): the type, or `Type~variant`. */
  readonly key: string;
  readonly type: string;
  readonly criteria: Readonly<Record<string, string>>;
  readonly skip?: (resource: Resource) => boolean;
}

/** The parts of case `caseId` of client `patient`, in the order they are read. */
export function caseParts(caseId: string, patient: string | undefined): CasePart[] {
  const episode = `EpisodeOfCare/${caseId}`;
  const linked = (type: string): CasePart => ({ key: type, type, criteria: { 'episode-of-care': episode } });
  const ofClient = (type: string, param: string): CasePart[] => (patient ? [{ key: type, type, criteria: { [param]: patient } }] : []);
  return [
    { key: 'EpisodeOfCare', type: 'EpisodeOfCare', criteria: { _id: caseId } },
    { key: 'Patient', type: 'Patient', criteria: { '_has:EpisodeOfCare:patient:_id': caseId } },
    { key: 'CareTeam', type: 'CareTeam', criteria: { '_has:EpisodeOfCare:team:_id': caseId } },
    { key: 'Condition', type: 'Condition', criteria: { '_has:EpisodeOfCare:condition:_id': caseId } },
    linked('CarePlan'),
    { key: 'Goal', type: 'Goal', criteria: { '_has:CarePlan:goal:episode-of-care': episode } },
    linked('ServiceRequest'),
    { key: 'Task', type: 'Task', criteria: { 'focus:ServiceRequest.episode-of-care': episode } },
    { key: 'Procedure', type: 'Procedure', criteria: { 'based-on:ServiceRequest.episode-of-care': episode } },
    { key: 'Communication', type: 'Communication', criteria: { 'based-on:ServiceRequest.episode-of-care': episode } },
    linked('QuestionnaireResponse'),
    linked('Observation'),
    // Scores derived from the case's screenings, when they do not carry the case link themselves.
    { key: 'Observation~score', type: 'Observation', criteria: { 'derived-from:QuestionnaireResponse.episode-of-care': episode }, skip: (r) => linksTo(r, episode) },
    linked('Encounter'),
    // Case notes name the case, or only the contact they record (then the second part finds them).
    { key: 'DocumentReference', type: 'DocumentReference', criteria: { encounter: episode } },
    {
      key: 'DocumentReference~contact',
      type: 'DocumentReference',
      criteria: { 'encounter:Encounter.episode-of-care': episode },
      skip: (r) => ((r as DocumentReference).context?.encounter ?? []).some((e) => e.reference === episode),
    },
    ...ofClient('Consent', 'patient'),
    ...ofClient('RiskAssessment', 'subject'),
    ...ofClient('Flag', 'subject'),
  ];
}

export const caseEverything: FhirOperation = {
  name: 'everything',
  definition: 'http://casebridge.org/fhir/OperationDefinition/EpisodeOfCare-everything',
  levels: ['instance'],
  resourceTypes: ['EpisodeOfCare'],
  affectsState: false,
  async invoke(services: FhirServices, _ctx, target: OperationTarget, request: FhirRequest): Promise<FhirResponse> {
    const caseId = target.id as string;
    const params = everythingParameters(request);
    const episode = (await services.repo.read('EpisodeOfCare', caseId)).resource as EpisodeOfCare; // 404 or 410 first
    const all = caseParts(caseId, episode.patient?.reference);
    const parts = selectParts(params, all);
    const partTypes = new Set(all.map((p) => p.type));
    const count = pageSize(single(params, '_count'), services.settings);
    const resume = decodePosition(single(params, '_cursor'));
    let index = resume ? parts.findIndex((p) => p.key === resume.type) : 0;
    if (resume && index < 0) {
      throw new FhirError('INVALID_REQUEST', 'The $everything page cursor is not valid; start again from the first page', { expression: ['_cursor'] });
    }
    let inner = resume?.inner;
    const matches: BundleEntry[] = [];
    const included: BundleEntry[] = [];
    const seen = new Set<string>();
    while (index < parts.length && matches.length < count) {
      const part = parts[index] as CasePart;
      const query = { ...typeQuery(services, part.type, params, count - matches.length), ...Object.fromEntries(Object.entries(part.criteria).map(([k, v]) => [k, [v]])) };
      const search = parseSearch(part.type, query, services.registry, { strict: true, defaultCount: count, maxCount: services.settings.maxPageSize, baseUrl: services.settings.baseUrl });
      const page = await services.repo.search({ ...search, include: [{ resourceType: '*', code: '*', iterate: false }] }, inner ? { cursor: inner } : {});
      for (const found of page.matches) {
        const key = `${found.resourceType}/${found.id}`;
        if (part.skip?.(found.resource) || seen.has(key)) continue;
        seen.add(key);
        matches.push({ fullUrl: `${services.settings.baseUrl}/${key}`, resource: found.resource, search: { mode: 'match' } });
      }
      // What the case's resources reference outside the case (practitioners, organisations…).
      for (const found of page.included) {
        const key = `${found.resourceType}/${found.id}`;
        if (!partTypes.has(found.resourceType) && !seen.has(key)) {
          seen.add(key);
          included.push({ fullUrl: `${services.settings.baseUrl}/${key}`, resource: found.resource, search: { mode: 'include' } });
        }
      }
      if (page.nextCursor) {
        inner = page.nextCursor;
      } else {
        index++;
        inner = undefined;
      }
    }
    const self = `${services.settings.baseUrl}/EpisodeOfCare/${caseId}/$everything`;
    const link: BundleLink[] = [{ relation: 'self', url: `${self}${queryString(params, undefined)}` }];
    if (index < parts.length) {
      const next: Position = { type: (parts[index] as CasePart).key, ...(inner ? { inner } : {}) };
      link.push({ relation: 'next', url: `${self}${queryString(params, encodePosition(next))}` });
    }
    return { status: 200, body: bundle('searchset', { entry: [...matches, ...included], link, timestamp: services.now() }), headers: {} };
  },
};

/** True when the resource carries the workflow-episodeOfCare extension naming `episode`. */
function linksTo(resource: Resource, episode: string): boolean {
  const extensions = (resource as { extension?: { url: string; valueReference?: { reference?: string } }[] }).extension ?? [];
  return extensions.some((e) => e.url === 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare' && e.valueReference?.reference === episode);
}

function selectParts(params: QueryParams, parts: readonly CasePart[]): CasePart[] {
  const wanted = params._type?.flatMap((v) => v.split(',')).map((t) => t.trim());
  if (!wanted) return [...parts];
  const known = new Set(parts.map((p) => p.type));
  for (const type of wanted) {
    if (!known.has(type)) {
      throw new FhirError('INVALID_REQUEST', `_type: ${type} is not part of a case (${[...known].join(', ')})`, { expression: ['_type'] });
    }
  }
  return parts.filter((p) => wanted.includes(p.type));
}
