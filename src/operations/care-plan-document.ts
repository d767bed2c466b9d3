/**
 * EpisodeOfCare/[id]/$care-plan-document: the current plan of a case (its newest active CarePlan)
 * as a FHIR document an EHR can file as it is — a Bundle of type document whose first entry is a
 * Composition (LOINC 18776-5 Plan of care note) with a section per part of the plan (the plan,
 * health concerns, goals, interventions and referrals, care team), followed by every resource the
 * sections name and the client, each with its absolute fullUrl; identifier and timestamp set
 * (bdl-9, bdl-10). Everything is read through the caller's scoped repository: what the caller may
 * not see is not in the document.
 * See: https://hl7.org/fhir/R4/documents.html and https://hl7.org/fhir/R4/composition.html
 */
import { randomUUID } from 'node:crypto';
import type { BundleEntry, CarePlan, Composition, CompositionSection, EpisodeOfCare, Reference, Resource } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from '../core/exchange';
import type { FhirOperation, FhirServices, OperationTarget } from '../core/services';
import { FhirError } from '../fhir/outcomes';
import { parseSearch } from '../search/parse';
import { readIfPresent } from '../store/repository';

const LOINC = 'http://loinc.org';

export const carePlanDocument: FhirOperation = {
  name: 'care-plan-document',
  definition: 'http://casebridge.org/fhir/OperationDefinition/EpisodeOfCare-care-plan-document',
  levels: ['instance'],
  resourceTypes: ['EpisodeOfCare'],
  affectsState: false,
  async invoke(services: FhirServices, _ctx, target: OperationTarget, request: FhirRequest): Promise<FhirResponse> {
    for (const name of Object.keys(request.query)) {
      if (name !== '_format' && name !== '_pretty') throw new FhirError('INVALID_REQUEST', `$care-plan-document takes no parameter "${name}"`, { expression: [name] });
    }
    const caseId = target.id as string;
    const episode = (await services.repo.read('EpisodeOfCare', caseId)).resource as EpisodeOfCare & { id: string };
    const plans = await search(services, 'CarePlan', { 'episode-of-care': `EpisodeOfCare/${caseId}`, status: 'active' });
    const plan = (plans as (CarePlan & { id: string })[]).sort((a, b) => (b.created ?? b.meta?.lastUpdated ?? '').localeCompare(a.created ?? a.meta?.lastUpdated ?? ''))[0];
    if (!plan) throw new FhirError('NOT_FOUND', `Case ${caseId} has no active care plan`);
    const patient = plan.subject.reference ?? episode.patient.reference;
    const found = new Map<string, Resource>();
    const load = async (refs: readonly (Reference | undefined)[]): Promise<Reference[]> => {
      const loaded: Reference[] = [];
      for (const ref of refs) {
        const [type, id] = (ref?.reference ?? '').split('/');
        if (!type || !id || /^https?:/.test(ref?.reference ?? '')) continue;
        const key = `${type}/${id}`;
        const resource = found.get(key) ?? (await readIfPresent(services.repo, type, id))?.resource;
        if (!resource) continue;
        found.set(key, resource);
        loaded.push({ reference: key });
      }
      return loaded;
    };
    const [client] = await load([{ reference: patient }]);
    if (!client) throw new FhirError('NOT_FOUND', `The client of case ${caseId} is not visible`);
    const concerns = await load(plan.addresses ?? []);
    const goals = await load(plan.goal ?? []);
    const activities = await load((plan.activity ?? []).map((a) => a.reference));
    // Referrals of the case made outside the plan's activities are part of what is being done.
    const referrals = await load((await search(services, 'ServiceRequest', { 'episode-of-care': `EpisodeOfCare/${caseId}`, intent: 'order' })).map((r) => ({ reference: `ServiceRequest/${r.id as string}` })));
    const interventions = [...new Map([...activities, ...referrals].map((r) => [r.reference, r])).values()];
    const team = await load([...(plan.careTeam ?? []), ...(episode.team ?? [])]);
    const author = plan.author ?? episode.careManager ?? episode.managingOrganization;
    const authors = await load([author]);
    const custodian = await load([episode.managingOrganization]);
    const [carePlanRef] = await load([{ reference: `CarePlan/${plan.id}` }]);
    const now = services.now();
    const section = (title: string, code: string, entries: Reference[], empty: string): CompositionSection => ({
      title,
      code: { coding: [{ system: LOINC, code }] },
      text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${escape(entries.length > 0 ? entries.map((e) => describe(found.get(e.reference as string))).join('; ') : empty)}</p></div>` },
      ...(entries.length > 0 ? { entry: entries } : { emptyReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: 'nilknown' }] } }),
    });
    const composition: Composition & { id: string } = {
      resourceType: 'Composition',
      id: randomUUID(),
      status: 'final',
      type: { coding: [{ system: LOINC, code: '18776-5', display: 'Plan of care note' }] },
      subject: client,
      date: now.toISOString(),
      author: (authors.length > 0 ? authors : [{ display: 'CaseBridge' }]) as Composition['author'],
      title: `Care plan${plan.title ? `: ${plan.title}` : ''}`,
      ...(custodian[0] ? { custodian: custodian[0] as Composition['custodian'] } : {}),
      event: [{ period: { ...(plan.period?.start ? { start: plan.period.start } : {}), ...(plan.period?.end ? { end: plan.period.end } : {}) }, detail: [carePlanRef as Reference] }],
      section: [
        section('Plan of care', '18776-5', carePlanRef ? [carePlanRef] : [], 'No plan'),
        section('Health concerns', '75310-3', concerns, 'No health concerns recorded'),
        section('Goals', '61146-7', goals, 'No goals recorded'),
        section('Interventions', '62387-6', interventions, 'No interventions recorded'),
        section('Care team', '85847-2', team, 'No care team recorded'),
      ],
    };
    const base = services.settings.baseUrl;
    const entry: BundleEntry[] = [
      { fullUrl: `urn:uuid:${composition.id}`, resource: composition },
      ...[...found.entries()].map(([key, resource]) => ({ fullUrl: `${base}/${key}`, resource })),
    ];
    return {
      status: 200,
      body: { resourceType: 'Bundle', identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` }, type: 'document', timestamp: now.toISOString(), entry },
      headers: {},
    };
  },
};

async function search(services: FhirServices, type: string, criteria: Record<string, string>): Promise<Resource[]> {
  const query = { ...Object.fromEntries(Object.entries(criteria).map(([k, v]) => [k, [v]])), _count: [String(services.settings.maxPageSize)] };
  const request = parseSearch(type, query, services.registry, { strict: true, defaultCount: services.settings.maxPageSize, maxCount: services.settings.maxPageSize, baseUrl: services.settings.baseUrl });
  const found: Resource[] = [];
  let cursor: string | undefined;
  do {
    const page = await services.repo.search(request, cursor ? { cursor } : {});
    found.push(...page.matches.map((m) => m.resource));
    cursor = page.nextCursor;
  } while (cursor !== undefined && found.length < 1000);
  return found;
}

/** A line of narrative for a resource in a section. */
function describe(resource: Resource | undefined): string {
  if (!resource) return '';
  const r = resource as { description?: { text?: string } | string; code?: { text?: string; coding?: { display?: string }[] }; title?: string; name?: string; status?: string; lifecycleStatus?: string };
  const text = typeof r.description === 'string' ? r.description : (r.description?.text ?? r.title ?? r.code?.text ?? r.code?.coding?.[0]?.display ?? r.name ?? resource.resourceType);
  const status = r.lifecycleStatus ?? r.status;
  return status ? `${text} (${status})` : text;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
