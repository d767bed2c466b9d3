/**
 * An AccessScope (store/repository.ts) in MongoDB's terms: a filter every search and conditional
 * match is ANDed with — so paging, totals and `_count` stay exact — and the same rule evaluated
 * on one stored document, for reads, includes, history and the version a write replaces. Both
 * read only what the document carries beside the resource: its owner and its search index.
 */
import type { Coding, Resource } from '@medplum/fhirtypes';
import type { Document } from 'mongodb';
import { patientCompartment } from '../../fhir/compartments';
import { FhirError } from '../../fhir/outcomes';
import type { AccessScope } from '../repository';
import { storedTerms } from './index-layout';
import type { MongoFilter } from './search-filter';

/** Matches no document (a closed type, or a scope that grants nothing of the type). */
const NOTHING: MongoFilter = { _id: { $in: [] } };

/** The label index of every resource: the `_security` token parameter, `system|code`. */
const SECURITY = '_security';

/** The owner, as an index term beside the search terms (`_owner:r:Organization/<id>`): it is no search parameter. */
const OWNER = '_owner';
export const ownerTerm = (owner: string): string => `${OWNER}:r:${owner}`;

/** The filter that restricts `type` to what `scope` shows; `{}` when it shows the whole type. */
export function accessFilter(scope: AccessScope, type: string): MongoFilter {
  if (scope.openTypes.has(type)) return {};
  if (scope.closedTypes.has(type)) return NOTHING;
  const visible = visibleClauses(scope, type);
  if (visible.length === 0) return NOTHING;
  const clauses: MongoFilter[] = [visible.length === 1 ? (visible[0] as MongoFilter) : { $or: visible }];
  for (const [label, consented] of scope.sensitive) {
    const disclosed = [
      { 'idx.k': { $ne: `${SECURITY}:t:${label}` } },
      ...(scope.owner ? [{ 'idx.k': ownerTerm(scope.owner) }] : []),
      ...compartmentClauses(type, consented),
    ];
    clauses.push({ $or: disclosed });
  }
  // Written in the stored layout (index-layout.ts) directly: terms `<code>:<key>:<value>` in idx.k.
  return clauses.length === 1 ? (clauses[0] as MongoFilter) : { $and: clauses };
}

/** Whether `scope` shows the stored document `doc` of `type` (a delete marker: only to its owner). */
export function isVisible(scope: AccessScope, type: string, doc: Document): boolean {
  if (scope.openTypes.has(type)) return true;
  if (scope.closedTypes.has(type)) return false;
  const owned = scope.owner !== undefined && doc.owner === scope.owner;
  if (!doc.idx) return owned;
  const patients = compartmentsOf(type, doc);
  const visible =
    owned ||
    patients.some((p) => scope.compartments.has(p)) ||
    scope.resources.has(`${type}/${String(doc._id)}`) ||
    (scope.references.get(type)?.params ?? []).some((code) => storedTerms(doc, code, 'r').some((r) => scope.references.get(type)?.targets.includes(r)));
  if (!visible) return false;
  const labels = storedTerms(doc, SECURITY, 't');
  return [...scope.sensitive].every(([label, consented]) => !labels.includes(label) || owned || patients.some((p) => consented.has(p)));
}

/**
 * What a non-owner is shown of `resource`: the obligations its labels carry, added to
 * meta.security; a sensitive one is reported to the scope's onDisclosure (the audit's record of
 * disclosures). Every resource a scoped read, search, include or history shows passes here.
 */
export function disclosed(scope: AccessScope, doc: Document, resource: Resource): Resource {
  const reporting = scope.onDisclosure !== undefined && scope.sensitive.size > 0;
  if (!readsLabels(scope) || (scope.owner !== undefined && doc.owner === scope.owner)) return resource;
  const labels = new Set(storedTerms(doc, SECURITY, 't'));
  if (reporting) reportDisclosure(scope, doc, resource, labels);
  const security = resource.meta?.security ?? [];
  const added: Coding[] = [];
  for (const [label, obligation] of scope.obligations) {
    const already = security.some((c) => c.system === obligation.system && c.code === obligation.code) || added.includes(obligation);
    if (labels.has(label) && !already) added.push(obligation);
  }
  return added.length === 0 ? resource : { ...resource, meta: { ...resource.meta, security: [...security, ...added] } };
}

/**
 * Whether disclosed() reads a document's labels (its `_security` terms in `idx.k`) under `scope`:
 * a search that leaves the terms out of the documents it reads must keep them then.
 */
export function readsLabels(scope: AccessScope): boolean {
  return scope.obligations.size > 0 || (scope.onDisclosure !== undefined && scope.sensitive.size > 0);
}

/** An update keeps the retained labels of the version it replaces (a client cannot unlabel Part 2 data to disclose it). */
export function assertLabelsKept(retained: ReadonlySet<string>, current: Document, next: Document, target: string): void {
  const kept = new Set(storedTerms(next, SECURITY, 't'));
  const removed = storedTerms(current, SECURITY, 't').filter((label) => retained.has(label) && !kept.has(label));
  if (removed.length > 0) {
    throw new FhirError('FORBIDDEN', `The security labels of ${target} cannot be removed (${removed.join(', ')})`, { expression: [`${target.split('/')[0]}.meta.security`] });
  }
}

function reportDisclosure(scope: AccessScope, doc: Document, resource: Resource, labels: ReadonlySet<string>): void {
  const sensitive = [...scope.sensitive.keys()].filter((label) => labels.has(label));
  if (sensitive.length === 0) return;
  scope.onDisclosure?.({
    reference: `${resource.resourceType}/${resource.id ?? String(doc._id)}`,
    ...(resource.meta?.versionId !== undefined ? { versionId: resource.meta.versionId } : {}),
    labels: sensitive,
    patients: compartmentsOf(resource.resourceType, doc),
    ...(typeof doc.owner === 'string' ? { custodian: doc.owner } : {}),
  });
}

/** `Patient/<id>` of every patient whose compartment holds the document. */
function compartmentsOf(type: string, doc: Document): string[] {
  const params = patientCompartment().get(type) ?? [];
  return params.flatMap((code) => (code === '_id' ? (type === 'Patient' ? [`Patient/${String(doc._id)}`] : []) : storedTerms(doc, code, 'r').filter((r) => /^Patient\/[^/]+$/.test(r))));
}

/**
 * The ways a document of `type` is visible, as few clauses as possible: every rule that is a
 * term of the document (owner, compartment references, reference rules) is one `$in` on `idx.k`
 * — one index lookup on MongoDB and on the embedded database alike — and ids one `$in` on `_id`.
 */
function visibleClauses(scope: AccessScope, type: string): MongoFilter[] {
  const terms: string[] = [];
  if (scope.owner) terms.push(ownerTerm(scope.owner));
  const { terms: compartmentTerms, ids } = compartmentMembership(type, scope.compartments);
  terms.push(...compartmentTerms);
  const linked = scope.references.get(type);
  for (const code of linked?.params ?? []) {
    terms.push(...(linked?.targets ?? []).map((target) => `${code}:r:${target}`));
  }
  ids.push(...[...scope.resources].filter((r) => r.startsWith(`${type}/`)).map((r) => r.slice(type.length + 1)));
  return [...(terms.length > 0 ? [{ 'idx.k': { $in: terms } }] : []), ...(ids.length > 0 ? [{ _id: { $in: ids } }] : [])];
}

/** Documents of `type` in the compartment of one of `patients` (`Patient/<id>`). */
function compartmentClauses(type: string, patients: ReadonlySet<string>): MongoFilter[] {
  const { terms, ids } = compartmentMembership(type, patients);
  return [...(terms.length > 0 ? [{ 'idx.k': { $in: terms } }] : []), ...(ids.length > 0 ? [{ _id: { $in: ids } }] : [])];
}

/** The index terms (and, for a Patient, the ids) that place a document in one of the compartments. */
function compartmentMembership(type: string, patients: ReadonlySet<string>): { terms: string[]; ids: string[] } {
  const terms: string[] = [];
  const ids: string[] = [];
  for (const code of patientCompartment().get(type) ?? []) {
    for (const patient of patients) {
      if (code === '_id') ids.push(patient.slice('Patient/'.length));
      else terms.push(`${code}:r:${patient}`);
    }
  }
  return { terms, ids };
}
