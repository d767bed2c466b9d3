/**
 * What each kind of caller may see of the data (issue: agency isolation), as an AccessScope the
 * store applies (store/repository.ts). A caller acts for one organisation:
 *
 * - agency, ehr: the clients of the cases its organisation manages (EpisodeOfCare.managingOrganization)
 *   or whose care team it is on (CareTeam.participant: the organisation or one of its
 *   PractitionerRoles) — their whole Patient compartments; the referrals it sent or receives
 *   (ServiceRequest requester/performer, Task requester/owner) and the client each names, what
 *   a referral it receives sends along (supportingInfo, reasonReference, pertainsToGoal), the Procedures that fulfilled those it sent
 *   and the outcome Observations returned for them (based on its ServiceRequest),
 *   the Communications of its referrals (partOf the Task);
 *   and whatever it wrote itself;
 * - payer: the members it covers (Coverage.payor → beneficiary), the Tasks it sent or owns
 *   (Da Vinci CDex requests), and what it wrote — only for the purposes of use it stated;
 * - auditor: AuditEvents, and nothing else of the records;
 * - administrator: everything but AuditEvents (the hosting agency's own integration; audited).
 * Every caller sees the directories (organisations, practitioners, services) and the conformance
 * resources. Sensitive labels then hide what another organisation owns unless a consent of the
 * patient discloses it to this one (labels.ts). Nothing else is visible, and an invisible
 * resource answers as an unknown one would (404).
 */
import type { Consent, Resource } from '@medplum/fhirtypes';
import { R4_RESOURCE_TYPES } from '../fhir/definitions';
import { FhirError } from '../fhir/outcomes';
import { parseSearch } from '../search/parse';
import type { SearchParameterRegistry } from '../search/registry';
import type { SearchRequest } from '../search/request';
import type { AccessScope, FhirRepository, StoreAccess } from '../store/repository';
import type { Caller } from './caller';
import { OBLIGATIONS, SENSITIVE_LABELS, consentedPatients } from './labels';

/** Directories and conformance resources: every caller may read them in full. */
export const DIRECTORY_TYPES: ReadonlySet<string> = new Set([
  'Organization', 'OrganizationAffiliation', 'Practitioner', 'PractitionerRole', 'Location', 'HealthcareService', 'Endpoint',
  'Questionnaire', 'StructureDefinition', 'ValueSet', 'CodeSystem', 'ConceptMap', 'NamingSystem', 'SearchParameter', 'OperationDefinition',
  'CapabilityStatement', 'CompartmentDefinition', 'ImplementationGuide', 'StructureMap', 'GraphDefinition', 'MessageDefinition',
  'TerminologyCapabilities', 'ActivityDefinition', 'PlanDefinition', 'Library', 'Measure', 'ObservationDefinition', 'SpecimenDefinition',
  'EventDefinition', 'Medication', 'Substance',
]);

/** Written only by CaseBridge itself, read only by auditors. */
export const AUDIT_TYPES: ReadonlySet<string> = new Set(['AuditEvent']);

/** Most resources one access rule may read while it is computed (an agency's cases, a payer's members). */
const LIMIT = 100_000;

export interface ScopeSources {
  readonly repo: FhirRepository;
  readonly registry: SearchParameterRegistry;
  readonly baseUrl: string;
  readonly now: Date;
}

/** The store access of `caller`: what it sees (`scope`) and whom its writes belong to (`owner`). */
export async function storeAccessFor(caller: Caller, sources: ScopeSources): Promise<StoreAccess> {
  const owner = caller.organization;
  switch (caller.role) {
    case 'administrator':
      return { owner, scope: everythingBut(AUDIT_TYPES, owner) };
    case 'auditor':
      return { owner, scope: { ...nothing(), openTypes: new Set([...DIRECTORY_TYPES, ...AUDIT_TYPES]) } };
    case 'agency':
    case 'ehr':
    case 'payer':
      return owner ? { owner, scope: await organisationScope(caller, owner, sources) } : { scope: directoriesOnly() };
    default:
      // A caller of no known kind sees the directories only (deny by default).
      return { scope: directoriesOnly() };
  }
}

/** Purposes of use in force: those stated; a care provider that states none acts for treatment. */
export function purposesOf(caller: Caller): readonly string[] {
  if (caller.purposes && caller.purposes.length > 0) return caller.purposes;
  return caller.role === 'agency' || caller.role === 'ehr' ? ['TREAT'] : [];
}

async function organisationScope(caller: Caller, organization: string, sources: ScopeSources): Promise<AccessScope> {
  const { repo } = sources;
  const search = (type: string, query: Record<string, string>) => searchRequest(sources, type, query);
  const roles = (await repo.matchingIds(search('PractitionerRole', { organization }), LIMIT)).map((id) => `PractitionerRole/${id}`);
  const representing = [organization, ...roles];
  const any = representing.join(',');
  const payer = caller.role === 'payer';
  const patients = new Set<string>((await repo.ownedIds('Patient', organization, LIMIT)).map((id) => `Patient/${id}`));
  const add = (refs: readonly string[]) => refs.filter((r) => r.startsWith('Patient/')).forEach((r) => patients.add(r));
  if (payer) {
    add(await repo.referencesOf(search('Coverage', { payor: organization }), 'beneficiary', LIMIT));
  } else {
    add(await repo.referencesOf(search('EpisodeOfCare', { organization }), 'patient', LIMIT));
    add(await repo.referencesOf(search('CareTeam', { participant: any }), 'patient', LIMIT));
  }
  // The client a referral (or a payer's request) names is visible to both ends, without the rest of their record.
  const referred = new Set<string>();
  const linked = [
    ...(payer ? [] : [['ServiceRequest', ['requester', 'performer']] as const]),
    ['Task', ['requester', 'owner']] as const,
  ];
  for (const [type, params] of linked) {
    for (const param of params) {
      (await repo.referencesOf(search(type, { [param]: any }), 'patient', LIMIT)).filter((r) => r.startsWith('Patient/')).forEach((r) => referred.add(r));
    }
  }
  // A referral's receiver reads what its referrer sent along with it (ServiceRequest.supportingInfo:
  // the consent, the screening; reasonReference: the condition it addresses; the goal it serves),
  // and the referrer reads the Procedures that fulfilled it and the
  // outcome Observations based on it (SDOHCC direct referral: the target GETs the supporting
  // resources, the source GETs the outcome).
  const outcomes: string[] = [];
  // The conversation of a referral (Communication.partOf its Task) is read by both of its parties.
  const referrals: string[] = [];
  if (!payer) {
    for (const param of ['requester', 'owner']) {
      referrals.push(...(await repo.matchingIds(search('Task', { [param]: any, code: 'http://hl7.org/fhir/CodeSystem/task-code|fulfill' }), LIMIT)).map((id) => `Task/${id}`));
    }
    for (const param of ['supporting-info', 'reason-reference', 'pertains-to-goal']) {
      (await repo.referencesOf(search('ServiceRequest', { performer: any }), param, LIMIT)).forEach((r) => referred.add(r));
    }
    outcomes.push(...(await repo.matchingIds(search('ServiceRequest', { requester: any }), LIMIT)).map((id) => `ServiceRequest/${id}`));
  }
  const consents = await activeConsentsNaming(any, sources);
  return {
    openTypes: DIRECTORY_TYPES,
    closedTypes: AUDIT_TYPES,
    owner: organization,
    compartments: patients,
    references: new Map<string, { params: readonly string[]; targets: readonly string[] }>([
      ...linked.map(([type, params]): [string, { params: readonly string[]; targets: readonly string[] }] => [type, { params, targets: representing }]),
      ...(outcomes.length > 0
        ? (['Procedure', 'Observation'] as const).map((type) => [type, { params: ['based-on'], targets: outcomes }] as [string, { params: readonly string[]; targets: readonly string[] }])
        : []),
      ...(referrals.length > 0 ? [['Communication', { params: ['part-of'], targets: [...new Set(referrals)] }] as [string, { params: readonly string[]; targets: readonly string[] }]] : []),
    ]),
    resources: referred,
    sensitive: consentedPatients(consents, { references: new Set(representing), purposes: purposesOf(caller), now: sources.now }),
    obligations: OBLIGATIONS,
    retainedLabels: RETAINED,
  };
}

async function activeConsentsNaming(actors: string, sources: ScopeSources): Promise<Consent[]> {
  const consents: Consent[] = [];
  let cursor: string | undefined;
  do {
    const page = await sources.repo.search(searchRequest(sources, 'Consent', { actor: actors, status: 'active', _count: '1000' }), cursor ? { cursor } : {});
    consents.push(...page.matches.map((m) => m.resource as Resource as Consent));
    cursor = page.nextCursor;
  } while (cursor !== undefined && consents.length < LIMIT);
  return consents;
}

function searchRequest(sources: ScopeSources, type: string, query: Record<string, string>): SearchRequest {
  const multimap = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]]));
  return parseSearch(type, multimap, sources.registry, { strict: true, defaultCount: 1000, maxCount: 1000, baseUrl: sources.baseUrl });
}

/** No client may take a sensitive label off a resource, administrators included. */
const RETAINED: ReadonlySet<string> = new Set(SENSITIVE_LABELS);

function nothing(): AccessScope {
  return { openTypes: new Set(), closedTypes: new Set(), compartments: new Set(), references: new Map(), resources: new Set(), sensitive: new Map(), obligations: new Map(), retainedLabels: RETAINED };
}

function directoriesOnly(): AccessScope {
  return { ...nothing(), openTypes: DIRECTORY_TYPES, closedTypes: AUDIT_TYPES };
}

function everythingBut(closed: ReadonlySet<string>, owner: string | undefined): AccessScope {
  return { ...nothing(), openTypes: new Set(R4_RESOURCE_TYPES.filter((t) => !closed.has(t))), closedTypes: closed, ...(owner ? { owner } : {}) };
}

/**
 * What a caller writes must be about patients it may see: its clients, the client of a referral
 * it is party to (the receiving agency records what it did), or a patient created in the same
 * unit; a resource in the compartment of anyone else (another agency's client) is refused.
 * AuditEvents are written by CaseBridge alone.
 */
export function assertMayWrite(access: StoreAccess, target: { resourceType: string; patients: readonly string[] }, unitPatients: ReadonlySet<string>): void {
  const { scope } = access;
  if (!scope) return;
  if (scope.closedTypes.has(target.resourceType)) {
    throw new FhirError('FORBIDDEN', `${target.resourceType} resources are written by CaseBridge only`);
  }
  if (scope.openTypes.has(target.resourceType)) return;
  const outside = target.patients.filter((p) => !scope.compartments.has(p) && !scope.resources.has(p) && !unitPatients.has(p));
  if (outside.length > 0) {
    throw new FhirError('FORBIDDEN', `Not allowed: this ${target.resourceType} is about ${outside.join(', ')}, whose record this client may not write to`);
  }
}
