/**
 * What a referral received from a partner's server sends along, and how our copies of it are
 * made (pure). SDOHCC direct referral, step 2: the target GETs the ServiceRequest "and referenced
 * resources" — the consent, the conditions, screenings and goals the request is for.
 * See: https://hl7.org/fhir/us/sdoh-clinicalcare/referral_workflow.html,
 * https://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition-SDOHCC-ServiceRequest.html
 *
 * A copy is the partner's resource under our id, marked with where it came from (an identifier
 * `[partner base]/[type]|[id]` where the type allows one more, and meta.source, R4's "source
 * system of the resource"), its security labels kept (a 42 CFR Part 2 label travels with the
 * record), and every reference made true here: the referred client becomes ours, a resource we
 * also copied becomes our copy, the two organisations become ours as our records name them, and
 * anything else stays at the partner (an absolute URL): a relative reference copied as it is
 * would name one of our resources by accident.
 */
import type { Identifier, Meta, Patient, Reference, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { PERTAINS_TO_GOAL } from '../../casemgmt/vocabulary';
import type { Partner } from '../../store/records';
import { isUnder } from '../destinations';

/** The types taken in with a referral: SDOHCC's supporting resources (and the R4 reasonReference targets we keep). */
export const SUPPORTING_TYPES: ReadonlySet<string> = new Set(['Condition', 'Observation', 'QuestionnaireResponse', 'DocumentReference', 'Goal', 'Consent']);

/** Types whose identifier is 0..1 in R4: an identifier of the partner's own is kept rather than replaced. */
const SINGLE_IDENTIFIER: ReadonlySet<string> = new Set(['QuestionnaireResponse']);

export type SupportingElement = 'supportingInfo' | 'reasonReference' | 'pertainsToGoal';

export interface SupportingReference {
  readonly element: SupportingElement;
  readonly reference: string;
}

/** What the ServiceRequest sends along: supportingInfo, reasonReference and the goal it pertains to, each once. */
export function supportingReferences(request: ServiceRequest): SupportingReference[] {
  const found: SupportingReference[] = [];
  const add = (element: SupportingElement, refs: readonly (Reference | undefined)[] | undefined) => {
    for (const r of refs ?? []) {
      if (r?.reference && !found.some((f) => f.reference === r.reference)) found.push({ element, reference: r.reference });
    }
  };
  add('supportingInfo', request.supportingInfo);
  add('reasonReference', request.reasonReference);
  add(
    'pertainsToGoal',
    (request.extension ?? []).filter((e) => e.url === PERTAINS_TO_GOAL).map((e) => e.valueReference),
  );
  return found;
}

const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * Where a reference of the partner's resource points, on the partner's server: `Type/id`, or
 * undefined when it is elsewhere (another server, a contained `#id`, a `urn:`).
 */
export function atPartner(reference: string, partnerBase: string): { type: string; id: string } | undefined {
  let path = reference;
  if (/^https?:\/\//.test(reference)) {
    if (!isUnder(reference, partnerBase)) return undefined;
    path = reference.slice(partnerBase.replace(/\/+$/, '').length + 1);
  }
  const m = RELATIVE.exec(path);
  return m ? { type: m[1] as string, id: m[2] as string } : undefined;
}

/** Why a reference the referral sends along is not fetched, or undefined when it is to be fetched. */
export function notFetched(reference: string, partnerBase: string): string | undefined {
  if (reference.startsWith('#')) return 'a contained resource is not fetched';
  const target = atPartner(reference, partnerBase);
  if (!target) return "it is not on the partner's server (only the partner's own server is asked)";
  if (!SUPPORTING_TYPES.has(target.type)) return `a ${target.type} is not taken in with a referral (taken: ${[...SUPPORTING_TYPES].join(', ')})`;
  return undefined;
}

/** The person a supporting resource is about (Consent.patient, otherwise subject), as written. */
export function personOf(resource: Resource): string | undefined {
  const r = resource as { patient?: Reference; subject?: Reference };
  return (resource.resourceType === 'Consent' ? r.patient : r.subject)?.reference;
}

/** How references of the partner's resources are named here. */
export interface Naming {
  readonly partnerBase: string;
  /** `Patient/<id>` at the partner: the referred client. */
  readonly partnerPatient: string;
  /** `Patient/<id>` here. */
  readonly ourPatient: string;
  /** `Type/id` at the partner → `Type/id` of our copy. */
  readonly copies: ReadonlyMap<string, string>;
  /** `Organization/<id>` as the partner names it → as our records name it. */
  readonly organizations: ReadonlyMap<string, string>;
}

/** One reference of a partner's resource, as it is named here. */
export function localized(reference: string, naming: Naming): string {
  const target = atPartner(reference, naming.partnerBase);
  if (!target) return reference;
  const key = `${target.type}/${target.id}`;
  if (key === naming.partnerPatient) return naming.ourPatient;
  return naming.copies.get(key) ?? naming.organizations.get(key) ?? `${naming.partnerBase.replace(/\/+$/, '')}/${key}`;
}

/**
 * Our record of the referred client: the partner's Patient under our id, its source marked (the
 * partner's id of it as an identifier, meta.source), its security labels kept, its references
 * localized (its practitioner or organisation at the partner stays there).
 */
export function clientCopy(patient: Patient & { id: string }, args: { id: string; naming: Naming }): Patient & { id: string } {
  const { id: theirId, meta, text: _text, ...rest } = patient as Patient & { id: string; text?: unknown };
  const base = args.naming.partnerBase.replace(/\/+$/, '');
  const body = localizeAll(rest, args.naming) as Patient;
  const copyMeta: Meta = { source: `${base}/Patient/${theirId}`, ...(meta?.security?.length ? { security: meta.security } : {}) };
  return { ...body, resourceType: 'Patient', id: args.id, meta: copyMeta, identifier: [...(body.identifier ?? []), sourceIdentifier(base, 'Patient', theirId)] };
}

/** Every `reference` in a resource (outside contained resources, whose `#` references stay), localized. */
function localizeAll(value: unknown, naming: Naming): unknown {
  if (Array.isArray(value)) return value.map((v) => localizeAll(v, naming));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] =
      key === 'reference' && typeof v === 'string'
        ? localized(v, naming)
        : // An attachment's url may be a relative `Binary/id`: it is the partner's Binary, not ours.
          key === 'url' && typeof v === 'string' && /^Binary\//.test(v)
          ? `${naming.partnerBase.replace(/\/+$/, '')}/${v}`
          : key === 'contained'
            ? v
            : localizeAll(v, naming);
  }
  return out;
}

/** The source identifier of a copy: the partner's URL for the type, the partner's id. */
export function sourceIdentifier(partnerBase: string, type: string, id: string): Identifier {
  return { system: `${partnerBase.replace(/\/+$/, '')}/${type}`, value: id };
}

/**
 * Our copy of a partner's supporting resource: our id, the source marked, its security labels
 * kept, its references localized, and about our client (a resource that names nobody is taken as
 * being about the referred client, whom the referral is for).
 */
export function supportingCopy<T extends Resource>(resource: T & { id: string }, args: { id: string; naming: Naming }): T & { id: string } {
  const { id: theirId, meta, text: _text, ...rest } = resource as T & { id: string; text?: unknown };
  const base = args.naming.partnerBase.replace(/\/+$/, '');
  const source = sourceIdentifier(base, resource.resourceType, theirId);
  const body = localizeAll(rest, args.naming) as Record<string, unknown>;
  const theirs = body.identifier as Identifier | Identifier[] | undefined;
  const identifier = SINGLE_IDENTIFIER.has(resource.resourceType) ? (theirs ?? source) : [...((theirs as Identifier[] | undefined) ?? []), source];
  const person = resource.resourceType === 'Consent' ? 'patient' : 'subject';
  const copyMeta: Meta = { source: `${base}/${resource.resourceType}/${theirId}`, ...(meta?.security?.length ? { security: meta.security } : {}) };
  return { ...body, resourceType: resource.resourceType, id: args.id, meta: copyMeta, identifier, [person]: { reference: args.naming.ourPatient } } as unknown as T & { id: string };
}

/** The two organisations of a referral as the partner's server names them → as our records do. */
export function partnerOrganizations(partner: Pick<Partner, 'organization' | 'remoteOrganization' | 'ourOrganization'>, ours: string): Map<string, string> {
  return new Map([
    [partner.remoteOrganization ?? partner.organization, partner.organization],
    [partner.ourOrganization ?? ours, ours],
  ]);
}
