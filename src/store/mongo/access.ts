/**
 * An AccessScope (store/repository.ts) in MongoDB's terms: a filter every search and conditional
 * match is ANDed with — so paging, totals and `_count` stay exact — and the same rule evaluated
 * on one stored document, for reads, includes, history and the version a write replaces. Both
 * read only what the document carries beside the resource: its owner and its search index.
 */
import type { Coding, Resource } from '@medplum/fhirtypes';
import type { Document } from 'mongodb';
import { patientCompartment } from '../../fhir/compartments';
import type { AccessScope } from '../repository';
import { storedTerms, toStoredFilter } from './index-layout';
import type { MongoFilter } from './search-filter';

/** Matches no document (a closed type, or a scope that grants nothing of the type). */
const NOTHING: MongoFilter = { _id: { $in: [] } };

/** The label index of every resource: the `_security` token parameter, `system|code`. */
const SECURITY = '_security';

/** The filter that restricts `type` to what `scope` shows; `{}` when it shows the whole type. */
export function accessFilter(scope: AccessScope, type: string): MongoFilter {
  if (scope.openTypes.has(type)) return {};
  if (scope.closedTypes.has(type)) return NOTHING;
  const visible = visibleClauses(scope, type);
  if (visible.length === 0) return NOTHING;
  const clauses: MongoFilter[] = [visible.length === 1 ? (visible[0] as MongoFilter) : { $or: visible }];
  for (const [label, consented] of scope.sensitive) {
    const disclosed = [
      { [`idx.${SECURITY}.t`]: { $ne: label } },
      ...(scope.owner ? [{ owner: scope.owner }] : []),
      ...compartmentClauses(type, consented),
    ];
    clauses.push({ $or: disclosed });
  }
  return toStoredFilter(clauses.length === 1 ? (clauses[0] as MongoFilter) : { $and: clauses });
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
  if ((scope.obligations.size === 0 && !reporting) || (scope.owner !== undefined && doc.owner === scope.owner)) return resource;
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
  return params.flatMap((code) => (code === '_id' ? (type === 'Patient' ? [`Patient/${String(doc._id)}`] : []) : storedTerms(doc, code, 'r').filter((r) => r.startsWith('Patient/'))));
}

function visibleClauses(scope: AccessScope, type: string): MongoFilter[] {
  const clauses: MongoFilter[] = [];
  if (scope.owner) clauses.push({ owner: scope.owner });
  clauses.push(...compartmentClauses(type, scope.compartments));
  const linked = scope.references.get(type);
  if (linked && linked.targets.length > 0) {
    clauses.push(...linked.params.map((code) => ({ [`idx.${code}.r`]: { $in: [...linked.targets] } })));
  }
  const ids = [...scope.resources].filter((r) => r.startsWith(`${type}/`)).map((r) => r.slice(type.length + 1));
  if (ids.length > 0) clauses.push({ _id: { $in: ids } });
  return clauses;
}

/** Documents of `type` in the compartment of one of `patients` (`Patient/<id>`). */
function compartmentClauses(type: string, patients: ReadonlySet<string>): MongoFilter[] {
  if (patients.size === 0) return [];
  const refs = [...patients];
  return (patientCompartment().get(type) ?? []).map((code) =>
    code === '_id' ? { _id: { $in: refs.map((r) => r.slice('Patient/'.length)) } } : { [`idx.${code}.r`]: { $in: refs } },
  );
}
