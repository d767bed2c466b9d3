/**
 * The storage port. Everything above store/ reads and writes resources only through this
 * contract; the MongoDB adapter (store/mongo) is one implementation of it.
 *
 * The repository owns versions: it sets meta.versionId (a counter per resource) and
 * meta.lastUpdated, keeps every superseded version, and makes each single write atomic with a
 * compare-and-set on the version. It does not validate: callers hand it valid resources.
 */
import type { Coding, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/outcomes';
import type { SearchRequest } from '../search/request';

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One version of a resource as stored: the resource itself, or a delete marker. */
export interface ResourceVersion {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  readonly lastUpdated: Date;
  /** The interaction that produced this version (for history Bundle entry.request). */
  readonly method: WriteMethod;
  /** Absent for a delete marker. */
  readonly resource?: Resource;
}

export interface CurrentResource extends ResourceVersion {
  readonly resource: Resource;
}

export interface WriteOptions {
  /** Compare-and-set: the write succeeds only when the current version is this one (If-Match). */
  readonly ifMatchVersion?: number;
  readonly method?: WriteMethod;
}

export interface WriteResult {
  readonly version: ResourceVersion;
  /** True when the write made a new resource (create, or update-as-create). */
  readonly created: boolean;
}

export type HistoryScope =
  | { readonly level: 'system' }
  | { readonly level: 'type'; readonly resourceType: string }
  | { readonly level: 'instance'; readonly resourceType: string; readonly id: string };

export interface HistoryQuery {
  readonly count: number;
  /** Only versions last updated at or after this instant. */
  readonly since?: Date;
  /** Only versions that were current at some moment within [from, to]. */
  readonly at?: { readonly from: Date; readonly to: Date };
  /** Opaque continuation from a previous page. */
  readonly cursor?: string;
  /** Restricts system history to these types (defaults to all). */
  readonly types?: readonly string[];
}

export interface HistoryPage {
  /** Newest first. */
  readonly versions: readonly ResourceVersion[];
  /** Present when more versions follow. */
  readonly nextCursor?: string;
  readonly total?: number;
}

/** One write of a unit, resolved and validated before anything is written. */
export type PlannedWrite =
  /** `method` PUT records an update-as-create (conditional update with no match) as such in history. */
  | { readonly kind: 'create'; readonly resource: Resource & { id: string }; readonly method?: 'POST' | 'PUT' }
  | { readonly kind: 'update'; readonly resource: Resource & { id: string }; readonly ifMatchVersion?: number; readonly method: 'PUT' | 'PATCH' }
  | { readonly kind: 'delete'; readonly resourceType: string; readonly id: string; readonly ifMatchVersion?: number };

export interface SearchOptions {
  /** Continuation token from a previous page's nextCursor/previousCursor. */
  readonly cursor?: string;
  /**
   * Restricts the search to a compartment: resources that reference `reference` through one of
   * the parameters listed for their type. Types without parameters are not searched.
   */
  readonly compartment?: { readonly params: Readonly<Record<string, readonly string[]>>; readonly reference: string };
}

export interface SearchPage {
  readonly matches: readonly CurrentResource[];
  readonly included: readonly CurrentResource[];
  readonly total?: number;
  /** Continuations (opaque) to the next and previous pages. */
  readonly nextCursor?: string;
  readonly previousCursor?: string;
  /** Conditions (as written in the query) whose answer may hold more than FHIR asks for. */
  readonly approximate: readonly string[];
  /** True when _include/_revinclude stopped at its limit. */
  readonly includeTruncated: boolean;
}

/** What a conditional write's plan decided: the writes to make (possibly none) and what to answer. */
export interface ConditionalPlan<T> {
  readonly writes: readonly PlannedWrite[];
  readonly outcome: T;
}

export interface ConditionalOutcome<T> {
  /** One per planned write, in order. */
  readonly results: readonly WriteResult[];
  readonly outcome: T;
}

/**
 * What one caller may see, in the store's terms. The auth layer computes it from the caller
 * (auth/access-scope.ts); the store applies it to every read, search, _include, history and
 * conditional match, and to the current version a write replaces — so a handler cannot forget it.
 * A resource is visible when its type is open, or it is not closed and any of these holds: its
 * owner is `owner`; it is in the Patient compartment of one of `compartments`; one of its
 * reference parameters listed in `references` names one of the targets; it is listed in
 * `resources`. On top of that, a resource carrying a label of `sensitive` is visible only when
 * its owner is `owner` or its patient is among those the label's consents name.
 */
export interface AccessScope {
  /** Directories and conformance resources every caller in scope may see in full. */
  readonly openTypes: ReadonlySet<string>;
  /** Types none of it is visible (AuditEvent, for all but auditors). */
  readonly closedTypes: ReadonlySet<string>;
  /** The organisation the caller acts for (`Organization/<id>`): it sees what it owns. */
  readonly owner?: string;
  /** `Patient/<id>`: whose compartments the caller sees. */
  readonly compartments: ReadonlySet<string>;
  /** Per type: reference parameters and the targets that make a resource visible (a Task whose owner is the organisation). */
  readonly references: ReadonlyMap<string, { readonly params: readonly string[]; readonly targets: readonly string[] }>;
  /** Single resources visible without their compartment (`Type/id`): the client of a referral addressed to the organisation. */
  readonly resources: ReadonlySet<string>;
  /** Security labels (`system|code`) that hide a resource from non-owners, each with the patients (`Patient/<id>`) whose consents disclose it. */
  readonly sensitive: ReadonlyMap<string, ReadonlySet<string>>;
  /** Labels added to what a non-owner is shown of a resource carrying the key label (42CFRPart2 → NORDSCLCD: no redisclosure). */
  readonly obligations: ReadonlyMap<string, Coding>;
  /** Labels (`system|code`) an update may not remove from the version it replaces. */
  readonly retainedLabels: ReadonlySet<string>;
  /**
   * Told of every resource this scope shows a caller that does not own it while it carries one
   * of the `sensitive` labels — a disclosure under consent, which the audit records (one
   * request's scope carries it: core/scoped-services.ts).
   */
  readonly onDisclosure?: (disclosure: Disclosure) => void;
}

/** A sensitive resource shown outside the organisation that owns it (AccessScope.onDisclosure). */
export interface Disclosure {
  /** `Type/id`. */
  readonly reference: string;
  readonly versionId?: string;
  /** The sensitive labels it carries (`system|code`). */
  readonly labels: readonly string[];
  /** `Patient/<id>` of the patients whose record it is. */
  readonly patients: readonly string[];
  /** The organisation that owns it (`Organization/<id>`), when one does. */
  readonly custodian?: string;
}

/** How a request reaches the store: what it may see (`scope`; absent: everything) and whom its writes belong to. */
export interface StoreAccess {
  readonly scope?: AccessScope;
  /** Recorded as the owner of the resources it creates (`Organization/<id>`). */
  readonly owner?: string;
}

/** What /readyz reports: a not-ready store says why. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: 'unreachable' | 'storage-full' };

export interface FhirRepository {
  /** Current version; throws NOT_FOUND (never existed) or GONE (deleted). */
  read(resourceType: string, id: string): Promise<CurrentResource>;
  /** Any version, including delete markers; throws NOT_FOUND / VERSION_NOT_FOUND. */
  vread(resourceType: string, id: string, versionId: number): Promise<ResourceVersion>;
  /** Creates a resource under resource.id (assigned by the caller). */
  create(resource: Resource & { id: string }, options?: WriteOptions): Promise<WriteResult>;
  /** Updates, or creates when absent (update-as-create). Throws VERSION_CONFLICT on a stale If-Match. */
  update(resource: Resource & { id: string }, options?: WriteOptions): Promise<WriteResult>;
  /** Deletes; returns undefined when there was nothing to delete (absent or already deleted). */
  delete(resourceType: string, id: string, options?: WriteOptions): Promise<ResourceVersion | undefined>;
  history(scope: HistoryScope, query: HistoryQuery): Promise<HistoryPage>;
  /** One page of a search; `cursor` continues from a previous page. */
  search(request: SearchRequest, options?: SearchOptions): Promise<SearchPage>;
  /** Up to `limit` ids of current resources matching (conditional interactions need 0, 1 or many). */
  matchingIds(request: SearchRequest, limit: number): Promise<string[]>;
  /** Applies every write or none: on any failure the writes already made are undone. */
  applyAll(writes: readonly PlannedWrite[]): Promise<WriteResult[]>;
  /** One write alone, or several as one all-or-nothing unit (applyAll); one result per write. */
  apply(writes: readonly PlannedWrite[]): Promise<WriteResult[]>;
  /**
   * Creates resources of new ids that are independent of one another (records such as
   * AuditEvents), in as few inserts as possible and not as one unit: when it fails, some of them
   * may have been created.
   */
  createEach(resources: readonly (Resource & { id: string })[]): Promise<void>;
  /**
   * A conditional write (If-None-Exist, PUT or PATCH by criteria, a case opened for a client
   * matched by identifier, a transaction's conditional entries): runs `plan`, which resolves the
   * conditions and says what to write, then applies those writes as one unit, while no other
   * conditional write on an equivalent condition runs (criteria that differ only in the order
   * of their parameters or values are equivalent). So two identical conditional creates cannot
   * both create. How that exclusion is kept is the store's business.
   */
  writeConditionally<T>(conditions: readonly SearchRequest[], plan: () => Promise<ConditionalPlan<T>>): Promise<ConditionalOutcome<T>>;
  /** Resource types that have (or had) at least one resource stored. */
  resourceTypesWithData(): Promise<string[]>;
  /** Whether the store can take writes now: the database answers and accepts a small write. */
  readiness(): Promise<Readiness>;
  /**
   * The same store as seen by one caller: reads, searches, includes, history and conditional
   * matches answer only what `access.scope` lets it see (anything else is NOT_FOUND, as if it
   * did not exist; a delete of it deletes nothing), updates cannot replace what it cannot see,
   * and what it creates is recorded as `access.owner`'s.
   */
  scoped(access: StoreAccess): FhirRepository;
  /**
   * The values of reference parameter `code` in the current resources matching `request`, read
   * from the search index (not the resources): e.g. the patients of an organisation's cases.
   * Unscoped; at most `limit` resources are read (TOO_COSTLY beyond).
   */
  referencesOf(request: SearchRequest, code: string, limit: number): Promise<string[]>;
  /** Ids of current resources of `resourceType` owned by `owner` (at most `limit`; unscoped). */
  ownedIds(resourceType: string, owner: string, limit: number): Promise<string[]>;
}

/** The current version, or undefined when the resource never existed or was deleted. */
export async function readIfPresent(repo: FhirRepository, resourceType: string, id: string): Promise<CurrentResource | undefined> {
  try {
    return await repo.read(resourceType, id);
  } catch (err) {
    if (err instanceof FhirError && (err.code === 'NOT_FOUND' || err.code === 'GONE')) {
      return undefined;
    }
    throw err;
  }
}
