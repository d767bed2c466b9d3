/**
 * FhirRepository on MongoDB (and FerretDB, which speaks its wire protocol without multi-document
 * transactions). See docs/storage.md for the document shapes and why each write is safe.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { ClientSession, Collection, Db, Document } from 'mongodb';
import { BSON, MongoServerError } from 'mongodb';
import { FhirError } from '../../fhir/outcomes';
import { WRITE_CONCERN, databaseFault } from '../../platform/mongo';
import { versionConflict } from '../../fhir/versioning';
import type {
  ConditionalOutcome,
  ConditionalPlan,
  CurrentResource,
  FhirRepository,
  HistoryPage,
  HistoryQuery,
  HistoryScope,
  PlannedWrite,
  Readiness,
  SearchOptions,
  SearchPage,
  ResourceVersion,
  StoreAccess,
  WriteMethod,
  WriteOptions,
  WriteResult,
} from '../repository';
import { assertLabelsKept, disclosed, isVisible, ownerTerm } from './access';
import {
  type CurrentDoc,
  type HistoryDoc,
  type DocumentView,
  currentToVersion,
  historyKey,
  historyToVersion,
  parseStored,
  storedJson,
  toHistoryDoc,
} from './documents';
import { resourceCollections } from './collections';
import { listHistory } from './history';
import { type StoredIndex, toStoredIndex } from './index-layout';
import { type CompareAndSet, compareAndSet } from './compare-and-set';
import { confirmInserted, confirmReplaced } from './confirm';
import { ensureIndexes } from './indexes';
import { RETIRED_SEARCH_INDEXES, searchIndexes } from './search-indexes';
import { type ReindexProgress, holdsResources, recordFingerprint, reindexAll, storedFingerprint } from './reindex';
import { type Journal, type ReadView, TransactionJournal } from './journal';
import { Locks, resourceLockName } from './locks';
import { type SearchLimits, SearchExecutor, seenMatching } from './search';
import type { SearchParameterRegistry } from '../../search/registry';
import type { SearchIndex } from '../../search/extract';
import { conditionKey } from '../../search/format';
import type { SearchRequest } from '../../search/request';

/** Computes a resource's search index (search/extract); the repository stores it in its layout. */
export type Indexer = (resource: Resource) => SearchIndex;

/** Observes every write before it is sent; tests use it to inject a failure at the Nth write. */
export type WriteObserver = (write: { collection: string; operation: string }) => void | Promise<void>;

export interface MongoRepositoryOptions {
  readonly db: Db;
  readonly indexer: Indexer;
  /** The search parameters searches are answered with. */
  readonly registry: SearchParameterRegistry;
  readonly searchLimits?: SearchLimits;
  readonly now: () => Date;
  /** Create the search indexes (search-indexes.ts: MongoDB); FerretDB cannot build the wildcard one and would use none. */
  readonly wildcardIndexes: boolean;
  /**
   * Any filter can be answered from an index and a filtered write is atomic (MongoDB), not only
   * an exact `{_id}` (FerretDB 1.x, whose filtered writes read then write): decides the query
   * shapes (two bounds on one path as `$elemMatch`, or two conditions that our FerretDB patch
   * pushes down) and the compare-and-set's form. Default: as `wildcardIndexes`. Separate so that tests run the
   * MongoDB shapes on FerretDB, where they work but are not indexed.
   */
  readonly indexedFilters?: boolean;
  /**
   * Multi-document transactions (a MongoDB replica set or sharded cluster: flavour.transactions).
   * Transaction Bundles then run inside one MongoDB transaction (snapshot reads, majority commit,
   * the driver's retry of transient errors) instead of through the journal, which remains for
   * FerretDB. Chosen once, at connect time.
   */
  readonly transactions?: boolean;
  readonly beforeWrite?: WriteObserver;
  /** Observes every write after the database answered; tests throw from it to lose the answer of a write that was made. */
  readonly afterWrite?: WriteObserver;
  /** How long a write waits for its resource's lock before answering 409 (default 10 s). */
  readonly lockWaitMs?: number;
  /** The database's largest document (hello.maxBsonObjectSize; 16 MiB on MongoDB and FerretDB). */
  readonly maxDocumentBytes?: number;
}

/** MongoDB's and FerretDB's document limit. See: https://www.mongodb.com/docs/manual/reference/limits/#mongodb-limit-BSON-Document-Size */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

const DUPLICATE_KEY = 11000;
const READINESS_TIMEOUT_MS = 2_000;

/** A single write holds its resource's lock for milliseconds; waiting writers queue behind it. */
const LOCK_TTL_MS = 30_000;
const DEFAULT_LOCK_WAIT_MS = 10_000;

/** A transaction Bundle's writes belong either to a journal transaction (FerretDB) or to a MongoDB transaction. */
interface Unit {
  readonly tx?: string;
  readonly session?: ClientSession;
}

/** MongoDB ends a transaction after 60 s (transactionLifetimeLimitSeconds): its locks need not outlive it. */
const MONGO_TRANSACTION_LOCK_TTL_MS = 60_000;
/** Snapshot reads, majority-acknowledged commit: the whole Bundle or nothing, durable once acknowledged. */
const MONGO_TRANSACTION_OPTIONS = { readConcern: { level: 'snapshot' }, writeConcern: WRITE_CONCERN, readPreference: 'primary' } as const;

/** What a write turns the current document into; `undefined` means there is nothing to do. */
type NextVersion = (current: CurrentDoc | null) => { method: WriteMethod; resource?: Resource; deleted?: true } | undefined;

interface CommitRequest {
  readonly resourceType: string;
  readonly id: string;
  readonly next: NextVersion;
  readonly ifMatchVersion?: number;
  readonly tx?: string;
  /** The MongoDB transaction the write belongs to (its locks are held already). */
  readonly session?: ClientSession;
  /** A current version the caller may not see: a delete finds nothing to delete, an update is NOT_FOUND. */
  readonly whenHidden: 'absent' | 'not-found';
}

interface Committed {
  readonly doc: CurrentDoc;
  readonly previous: CurrentDoc | null;
  /** The resource as stored (with its meta), when the version is not a delete marker. */
  readonly resource?: Resource;
}

/** What every view of one repository shares: collections, locks, journal, search executor. */
interface Shared {
  readonly historyCollection: Collection<HistoryDoc>;
  readonly journal: TransactionJournal;
  readonly locks: Locks;
  readonly searches: SearchExecutor;
  readonly preparedTypes: Set<string>;
  readonly lockTiming: { ttlMs: number; waitMs: number };
  readonly swap: CompareAndSet;
}

export class MongoRepository implements FhirRepository {
  private readonly db: Db;
  private readonly historyCollection: Collection<HistoryDoc>;
  private readonly journal: TransactionJournal;
  private readonly locks: Locks;
  private readonly searches: SearchExecutor;
  private readonly preparedTypes: Set<string>;
  private readonly lockTiming: { ttlMs: number; waitMs: number };
  private readonly shared: Shared;

  /** `access`: the caller this view answers (scoped()); the repository itself sees everything. */
  constructor(
    private readonly options: MongoRepositoryOptions,
    private readonly access: StoreAccess = {},
    shared?: Shared,
  ) {
    this.db = options.db;
    this.shared = shared ?? this.share();
    ({ historyCollection: this.historyCollection, journal: this.journal, locks: this.locks, searches: this.searches } = this.shared);
    this.preparedTypes = this.shared.preparedTypes;
    this.lockTiming = this.shared.lockTiming;
  }

  private get indexedFilters(): boolean {
    return this.options.indexedFilters ?? this.options.wildcardIndexes;
  }

  private share(): Shared {
    const locks = new Locks(this.db, this.options.now, this.options.beforeWrite);
    return {
      historyCollection: this.db.collection<HistoryDoc>('history'),
      locks,
      // Rollbacks restore whatever was there, whoever wrote it: they run unscoped.
      journal: new TransactionJournal(this.db, { now: this.options.now, locks, rollbackEntry: (type, id, txId) => this.rollbackEntry(type, id, txId) }),
      searches: new SearchExecutor({
        db: this.db,
        registry: this.options.registry,
        now: this.options.now,
        elemMatch: this.indexedFilters,
        readView: () => this.readView(),
        currentView: () => this.currentView(),
        ...(this.options.searchLimits ? { limits: this.options.searchLimits } : {}),
      }),
      preparedTypes: new Set<string>(),
      lockTiming: { ttlMs: LOCK_TTL_MS, waitMs: this.options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS },
      // Atomic filtered writes and indexes beyond `_id`: MongoDB.
      swap: compareAndSet(this.indexedFilters),
    };
  }

  scoped(access: StoreAccess): FhirRepository {
    return new MongoRepository(this.options, access, this.shared);
  }

  async referencesOf(request: SearchRequest, code: string, limit: number): Promise<string[]> {
    return this.searches.referencesOf(request, code, limit);
  }

  async ownedIds(resourceType: string, owner: string, limit: number): Promise<string[]> {
    // The owner's term (every live version of an owned resource has it; a deleted one has no
    // index) rather than the top-level `owner` field: an index lookup on both databases.
    const filter = { 'idx.k': ownerTerm(owner) };
    const view = this.currentView();
    const docs = await this.current(resourceType).find(filter, { projection: { _id: 1, vid: 1, tx: 1 } }).limit(limit).toArray();
    // As a reader sees them: what a transaction in flight is creating is not owned yet.
    const seen = await seenMatching(view, docs.map((doc) => ({ type: resourceType, doc: doc as unknown as Document })), () => filter);
    return seen.map((d) => d.doc._id as string);
  }

  /** Creates the shared indexes and rolls back transactions a crashed process left open. */
  async initialise(): Promise<void> {
    await ensureIndexes(this.historyCollection, [
      { key: { type: 1, id: 1, vid: -1 }, name: 'instance_history' },
      { key: { lastUpdated: -1, type: -1, id: -1, vid: -1 }, name: 'system_history' },
      { key: { type: 1, lastUpdated: -1, id: -1, vid: -1 }, name: 'type_history' },
    ]);
    await this.journal.initialise();
    // Before the service reports ready: what a killed process left behind is undone and unlocked.
    await this.locks.releaseDeadHolders();
    await this.journal.recoverAbandoned();
  }

  /**
   * Recovers, every `intervalMs`, transactions abandoned by a process that died elsewhere (their
   * lease ran out) and forgets old committed journals. Returns the function that stops it.
   */
  startRecoverySweep(intervalMs: number, onError: (err: unknown) => void): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.journal
        .recoverAbandoned()
        .catch(onError)
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** A reader's view of versions written by transactions in flight, fixed now (journal.ts ReadView). */
  private async readView(): Promise<DocumentView> {
    return this.documentView(await this.journal.readView());
  }

  /** Versions of transactions shown once committed, with no fixed instant (journal.ts currentView). */
  private currentView(): DocumentView {
    return this.documentView(this.journal.currentView());
  }

  private documentView(view: ReadView): DocumentView {
    return {
      settle: async (items) => {
        const tags = items.flatMap((i) => (i.doc.tx ? [i.doc.tx] : []));
        if (tags.length === 0) return items.map((i) => i.doc);
        const visible = await view.visible(tags);
        return Promise.all(items.map(({ type, doc }) => (doc.tx === undefined || visible.get(doc.tx) ? doc : this.versionBefore(type, doc))));
      },
      hiddenTags: () => view.hidden(),
    };
  }

  /** The version a transaction's write replaced, as a current document; undefined for a create. */
  private async versionBefore(resourceType: string, doc: CurrentDoc): Promise<CurrentDoc | undefined> {
    if (doc.vid <= 1) return undefined;
    const previous = await this.historyCollection.findOne({ _id: historyKey(resourceType, doc._id, doc.vid - 1) });
    return previous ? this.asCurrent(previous) : undefined;
  }

  /**
   * One current document as a reader may see it. One document needs no view: an untagged
   * version is shown as it is (a single write is atomic), a tagged one when its transaction has
   * committed (journal.ts), else the version before it.
   */
  private async currentAsSeen(resourceType: string, id: string): Promise<CurrentDoc | undefined> {
    const doc = await this.current(resourceType).findOne({ _id: id });
    if (!doc?.tx) return doc ?? undefined;
    return (await this.currentView().settle([{ type: resourceType, doc }]))[0];
  }

  /** A version from history as the current document it was (with its search index). */
  private asCurrent(previous: HistoryDoc): CurrentDoc {
    return {
      _id: previous.id,
      vid: previous.vid,
      lastUpdated: previous.lastUpdated,
      method: previous.method,
      ...(previous.deleted || previous.json === undefined
        ? { deleted: true as const }
        : { json: previous.json, idx: this.index(parseStored(previous.json), previous.owner) }),
      ...(previous.versionTx ? { tx: previous.versionTx } : {}),
      ...(previous.owner ? { owner: previous.owner } : {}),
    };
  }

  resourceTypesWithData(): Promise<string[]> {
    return resourceCollections(this.db);
  }

  /**
   * One small upsert, bounded in time: reachable is not enough, a full disk refuses writes while
   * reads still answer.
   */
  async readiness(): Promise<Readiness> {
    try {
      await this.db.collection<{ _id: string; at: Date }>('readiness').updateOne({ _id: 'probe' }, { $set: { at: this.options.now() } }, { upsert: true, timeoutMS: READINESS_TIMEOUT_MS });
      return { ready: true };
    } catch (err) {
      return { ready: false, reason: databaseFault(err) === 'storage-full' ? 'storage-full' : 'unreachable' };
    }
  }

  async read(resourceType: string, id: string): Promise<CurrentResource> {
    const doc = await this.visibleCurrent(resourceType, id);
    if (doc.deleted || doc.json === undefined) {
      throw new FhirError('GONE', `${resourceType}/${id} was deleted`);
    }
    return this.shown(resourceType, doc, currentToVersion(resourceType, doc)) as CurrentResource;
  }

  async vread(resourceType: string, id: string, versionId: number): Promise<ResourceVersion> {
    const doc = await this.visibleCurrent(resourceType, id);
    if (doc.vid === versionId) {
      return this.shown(resourceType, doc, currentToVersion(resourceType, doc));
    }
    const old = versionId < doc.vid ? await this.historyCollection.findOne({ _id: historyKey(resourceType, id, versionId) }) : null;
    if (!old) {
      throw new FhirError('VERSION_NOT_FOUND', `${resourceType}/${id} has no version ${versionId}`);
    }
    return this.shown(resourceType, doc, historyToVersion(old));
  }

  /** The current document, when it exists and this view may see it: NOT_FOUND otherwise (the two look the same). */
  private async visibleCurrent(resourceType: string, id: string): Promise<CurrentDoc> {
    const doc = await this.currentAsSeen(resourceType, id);
    if (!doc || (this.access.scope && !isVisible(this.access.scope, resourceType, doc as unknown as Document))) {
      throw new FhirError('NOT_FOUND', `${resourceType}/${id} is not known`);
    }
    return doc;
  }

  /** A version as this view shows it: with the obligations of its labels when the caller does not own it. */
  private shown(resourceType: string, doc: CurrentDoc, version: ResourceVersion): ResourceVersion {
    const { scope } = this.access;
    return scope && version.resource ? { ...version, resource: disclosed(scope, doc as unknown as Document, version.resource) } : version;
  }

  /**
   * A create needs no lock and no read: the id is new (server-assigned, or a conflict the unique
   * `_id` reports), so one insert both checks and writes.
   */
  async create(resource: Resource & { id: string }, options: WriteOptions = {}): Promise<WriteResult> {
    const [result] = await this.insertNew([resource], { method: options.method ?? 'POST' });
    return result as WriteResult;
  }

  async createEach(resources: readonly (Resource & { id: string })[]): Promise<void> {
    if (resources.length > 0) await this.insertNew(resources, { method: 'POST' });
  }

  async update(resource: Resource & { id: string }, options: WriteOptions = {}): Promise<WriteResult> {
    return this.put(resource, { ...options, method: options.method ?? 'PUT' });
  }

  async delete(resourceType: string, id: string, options: WriteOptions = {}): Promise<ResourceVersion | undefined> {
    const result = await this.commit({
      resourceType,
      id,
      ifMatchVersion: options.ifMatchVersion,
      whenHidden: 'absent',
      next: (current) => (current && !current.deleted ? { method: 'DELETE', deleted: true } : undefined),
    });
    return result ? currentToVersion(resourceType, result.doc) : undefined;
  }

  async history(scope: HistoryScope, query: HistoryQuery): Promise<HistoryPage> {
    const access = this.access.scope;
    if (access && scope.level === 'instance') {
      await this.visibleCurrent(scope.resourceType, scope.id);
    }
    // Types the caller may never see (AuditEvent) stay out of system history altogether: the audit
    // log grows with every request and would otherwise thin out every page.
    const listed = access && scope.level === 'system' && access.closedTypes.size > 0
      ? { ...query, types: (query.types ?? (await this.resourceTypesWithData())).filter((t) => !access.closedTypes.has(t)) }
      : query;
    const view = await this.readView();
    const page = await listHistory({ db: this.db, history: this.historyCollection, current: (type) => this.current(type), view }, scope, listed);
    if (!access) {
      return page;
    }
    // A version is shown when its resource is visible now (history entries carry no index of
    // their own); a page may then hold fewer than _count entries, and its next link still holds.
    const currents = new Map<string, CurrentDoc | null>();
    for (const v of page.versions) {
      const key = `${v.resourceType}/${v.id}`;
      if (!currents.has(key)) currents.set(key, await this.current(v.resourceType).findOne({ _id: v.id }));
    }
    const versions = page.versions.flatMap((v) => {
      const doc = currents.get(`${v.resourceType}/${v.id}`);
      return doc && isVisible(access, v.resourceType, doc as unknown as Document) ? [this.shown(v.resourceType, doc, v)] : [];
    });
    const { total: _total, ...rest } = page;
    return { ...rest, versions };
  }

  search(request: SearchRequest, options: SearchOptions = {}): Promise<SearchPage> {
    return this.searches.search(request, options, this.access.scope);
  }

  matchingIds(request: SearchRequest, limit: number): Promise<string[]> {
    return this.searches.matchingIds(request, limit, this.access.scope);
  }

  /**
   * Equivalent conditions share a lock (search/format conditionKey), held while the plan
   * resolves them and its writes are applied; locks are taken in a fixed order, so units with
   * several conditions cannot deadlock.
   */
  writeConditionally<T>(conditions: readonly SearchRequest[], plan: () => Promise<ConditionalPlan<T>>): Promise<ConditionalOutcome<T>> {
    const names = conditions.map((condition) => `conditional:${conditionKey(condition)}`);
    return this.locks.withLocks(names, this.lockTiming, async () => {
      const { writes, outcome } = await plan();
      return { results: writes.length === 0 ? [] : await this.apply(writes), outcome };
    });
  }

  /** A single write needs no journal: its compare-and-set is already all or nothing. */
  async apply(writes: readonly PlannedWrite[]): Promise<WriteResult[]> {
    const [only] = writes;
    if (writes.length !== 1 || only === undefined) {
      return this.applyAll(writes);
    }
    switch (only.kind) {
      case 'create':
        return [await this.create(only.resource, { method: only.method ?? 'POST' })];
      case 'update':
        return [await this.update(only.resource, { method: only.method, ...(only.ifMatchVersion !== undefined ? { ifMatchVersion: only.ifMatchVersion } : {}) })];
      case 'delete': {
        const version = await this.delete(only.resourceType, only.id, only.ifMatchVersion !== undefined ? { ifMatchVersion: only.ifMatchVersion } : {});
        return [{ version: version ?? this.nothingDeleted(only.resourceType, only.id), created: false }];
      }
    }
  }

  /**
   * The writes of a transaction Bundle, all or none. Updates and deletes hold their resources'
   * locks; creates of new ids need none and go to the database as one insert per type (one
   * round trip instead of one per resource, which is what makes Bundle ingest fast), the types'
   * inserts sent together (insertNew).
   */
  async applyAll(writes: readonly PlannedWrite[]): Promise<WriteResult[]> {
    // Before the journal: a resource whose text alone passes the limit fails the unit with nothing written.
    for (const write of writes) {
      if (write.kind !== 'delete') this.assertStorable({ json: storedJson(write.resource) }, write.resource);
    }
    const targets = writes.map((w) => (w.kind === 'delete' ? { type: w.resourceType, id: w.id } : { type: w.resource.resourceType, id: w.resource.id }));
    const locked = targets.filter((_, i) => writes[i]?.kind !== 'create');
    const apply = async (unit: Unit): Promise<WriteResult[]> => {
      const results: WriteResult[] = [];
      let creates: (Resource & { id: string })[] = [];
      let createMethod: WriteMethod = 'POST';
      const flush = async () => {
        if (creates.length > 0) {
          results.push(...(await this.insertNew(creates, { method: createMethod, ...unit })));
          creates = [];
        }
      };
      for (const write of writes) {
        if (write.kind === 'create') {
          // One insert per run of creates made the same way (POST, or PUT as update-as-create).
          if (creates.length > 0 && (write.method ?? 'POST') !== createMethod) await flush();
          createMethod = write.method ?? 'POST';
          creates.push(write.resource);
          continue;
        }
        await flush();
        results.push(await this.applyPlanned(write, unit));
      }
      await flush();
      return results;
    };
    if (this.options.transactions) {
      return this.inMongoTransaction({ targets, locked }, apply);
    }
    return this.journal.run({ targets, locked }, (txId: string) => apply({ tx: txId }));
  }

  /**
   * A transaction Bundle as one MongoDB transaction: the resources' locks (so single writers,
   * which read, copy and compare-and-set under their lock, queue behind it as they do behind a
   * journal transaction), then `withTransaction`, which retries the whole unit on a transient
   * error (a write conflict, a failover) and the commit on an unknown result. Nothing of it is
   * visible before the commit, and the commit is acknowledged by a majority (WRITE_CONCERN).
   * The collections and their indexes are made first: index builds do not belong in a transaction.
   * See: https://www.mongodb.com/docs/manual/core/transactions/
   */
  private async inMongoTransaction<T>(scope: { targets: readonly { type: string; id: string }[]; locked: readonly { type: string; id: string }[] }, apply: (unit: Unit) => Promise<T>): Promise<T> {
    for (const type of new Set(scope.targets.map((t) => t.type))) await this.prepared(type);
    const lease = await this.locks.acquire(
      scope.locked.map((t) => resourceLockName(t.type, t.id)),
      { ttlMs: MONGO_TRANSACTION_LOCK_TTL_MS, waitMs: this.lockTiming.waitMs },
    );
    try {
      const session = this.db.client.startSession();
      try {
        let result: { value: T } | undefined;
        await session.withTransaction(async () => {
          result = { value: await apply({ session }) };
        }, MONGO_TRANSACTION_OPTIONS);
        if (!result) throw new Error('the transaction ended without its result');
        return result.value;
      } finally {
        await session.endSession();
      }
    } finally {
      await lease.release();
    }
  }

  /** Inserts first versions, one insertMany per resource type, keeping the given order of results. */
  private async insertNew(resources: readonly (Resource & { id: string })[], options: { method: WriteMethod } & Unit): Promise<WriteResult[]> {
    const now = this.options.now();
    const stamped = resources.map((resource) => withMeta(resource, 1, now));
    const docs = stamped.map(
      (resource): CurrentDoc => ({
        _id: resource.id,
        vid: 1,
        lastUpdated: now,
        method: options.method,
        json: storedJson(resource),
        idx: this.index(resource, this.access.owner),
        ...(options.tx ? { tx: options.tx } : {}),
        ...(this.access.owner ? { owner: this.access.owner } : {}),
      }),
    );
    docs.forEach((doc, i) => this.assertStorable(doc, resources[i] as Resource));
    const byType = new Map<string, CurrentDoc[]>();
    docs.forEach((doc, i) => {
      const type = (resources[i] as Resource).resourceType;
      byType.set(type, [...(byType.get(type) ?? []), doc]);
    });
    const { session } = options;
    const insert = async (type: string, group: CurrentDoc[]): Promise<void> => {
      const collection = await this.prepared(type);
      try {
        await this.write(
          type,
          'insert',
          async () => Boolean(await collection.insertMany(group, { ordered: true, ...(session ? { session } : {}) })),
          // Inside a MongoDB transaction the commit, not this insert, is what makes it stand.
          session ? undefined : () => confirmInserted(collection, group),
        );
      } catch (err) {
        if (isDuplicateKey(err)) {
          throw new FhirError('CONFLICT', `A ${type} with one of these ids already exists`);
        }
        throw err;
      }
    };
    if (session) {
      // A session runs one operation at a time.
      for (const [type, group] of byType) await insert(type, group);
    } else {
      // The types' inserts go together: the embedded database then commits them as one group
      // instead of one commit per type. All are settled before a failure is reported, so that the
      // journal's rollback never races an insert still in flight.
      const settled = await Promise.allSettled([...byType].map(([type, group]) => insert(type, group)));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    return docs.map((doc, i) => ({ version: currentToVersion((resources[i] as Resource).resourceType, doc, stamped[i]), created: true }));
  }

  /**
   * Whether the stored search index was built with the current search parameters: `stale`
   * means a reindex is due. A database without resources is simply stamped as current.
   */
  async searchIndexStatus(): Promise<'current' | 'stale'> {
    const fingerprint = this.options.registry.fingerprint();
    const stored = await storedFingerprint(this.db);
    if (stored === fingerprint) {
      return 'current';
    }
    if (stored === undefined && !(await holdsResources(this.db))) {
      await recordFingerprint(this.db, fingerprint, this.options.now());
      return 'current';
    }
    return 'stale';
  }

  /** Recomputes every current resource's search index, then records the parameters used. */
  async reindex(onProgress?: (progress: ReindexProgress) => void): Promise<number> {
    const count = await reindexAll({
      db: this.db,
      indexer: (resource, owner) => this.index(resource, owner),
      underLock: (type, id, body) => this.locks.withLocks([resourceLockName(type, id)], this.lockTiming, body),
      ...(onProgress ? { onProgress } : {}),
    });
    await recordFingerprint(this.db, this.options.registry.fingerprint(), this.options.now());
    return count;
  }

  /** The journal of this repository, for recovery from outside (tests, maintenance). */
  get transactions(): Journal {
    return this.journal;
  }

  private async applyPlanned(write: PlannedWrite, unit: Unit): Promise<WriteResult> {
    switch (write.kind) {
      case 'create':
        return (await this.insertNew([write.resource], { method: write.method ?? 'POST', ...unit }))[0] as WriteResult;
      case 'update':
        return this.put(write.resource, { method: write.method, ifMatchVersion: write.ifMatchVersion, ...unit });
      case 'delete': {
        const result = await this.commit({
          resourceType: write.resourceType,
          id: write.id,
          ifMatchVersion: write.ifMatchVersion,
          ...unit,
          whenHidden: 'absent',
          next: (current) => (current && !current.deleted ? { method: 'DELETE', deleted: true } : undefined),
        });
        return { version: result ? currentToVersion(write.resourceType, result.doc) : this.nothingDeleted(write.resourceType, write.id), created: false };
      }
    }
  }

  /** The answer for a delete of what was absent or already deleted: version 0, nothing written. */
  private nothingDeleted(resourceType: string, id: string): ResourceVersion {
    return { resourceType, id, versionId: 0, lastUpdated: this.options.now(), method: 'DELETE' };
  }

  private async put(
    resource: Resource & { id: string },
    options: { method: WriteMethod; ifMatchVersion?: number } & Unit,
  ): Promise<WriteResult> {
    const { resourceType, id } = resource;
    const result = await this.commit({
      resourceType,
      id,
      ifMatchVersion: options.ifMatchVersion,
      ...(options.tx ? { tx: options.tx } : {}),
      ...(options.session ? { session: options.session } : {}),
      whenHidden: 'not-found',
      next: () => ({ method: options.method, resource }),
    });
    if (!result) {
      throw new Error('a put always writes a version');
    }
    return {
      version: currentToVersion(resourceType, result.doc, result.resource),
      created: !result.previous || result.previous.deleted === true,
    };
  }

  /**
   * The one write path, under the resource's lock (a transaction already holds it): read the
   * current version, check If-Match, copy it to history, then replace it. The lock, not the
   * `vid` filter, is what keeps two writers apart on FerretDB (see locks.ts); the filter keeps
   * MongoDB doubly safe.
   */
  private async commit(request: CommitRequest): Promise<Committed | undefined> {
    if (request.tx || request.session) {
      return this.commitLocked(request);
    }
    return this.locks.withLocks([resourceLockName(request.resourceType, request.id)], this.lockTiming, () => this.commitLocked(request));
  }

  private async commitLocked(request: CommitRequest): Promise<Committed | undefined> {
    const { resourceType, id, ifMatchVersion } = request;
    const collection = await this.prepared(resourceType);
    const { session } = request;
    const inSession = session ? { session } : {};
    const current = await collection.findOne({ _id: id }, inSession);
    if (current && this.access.scope && !isVisible(this.access.scope, resourceType, current as unknown as Document)) {
      if (request.whenHidden === 'absent') return undefined;
      throw new FhirError('NOT_FOUND', `${resourceType}/${id} is not known`);
    }
    if (current?.tx && current.tx !== request.tx) {
      await this.journal.assertSettled(current.tx, `${resourceType}/${id}`);
    }
    const liveVersion = current && !current.deleted ? current.vid : undefined;
    if (ifMatchVersion !== undefined && liveVersion !== ifMatchVersion) {
      throw versionConflict({ expected: ifMatchVersion, actual: liveVersion, target: `${resourceType}/${id}` });
    }
    const next = request.next(current);
    if (!next) {
      return undefined;
    }
    const now = this.options.now();
    const vid = (current?.vid ?? 0) + 1;
    const resource = next.resource ? withMeta(next.resource, vid, now) : undefined;
    // The owner is whoever created the resource; later versions keep it.
    const owner = current ? current.owner : this.access.owner;
    const doc: CurrentDoc = {
      _id: id,
      vid,
      lastUpdated: now,
      method: next.method,
      ...(resource ? { json: storedJson(resource), idx: this.index(resource, owner) } : { deleted: true as const }),
      ...(request.tx ? { tx: request.tx } : {}),
      ...(owner ? { owner } : {}),
    };
    if (resource) {
      this.assertStorable(doc, resource);
    }
    if (current && resource && this.access.scope) {
      assertLabelsKept(this.access.scope.retainedLabels, current as unknown as Document, doc as unknown as Document, `${resourceType}/${id}`);
    }
    if (!current) {
      await this.write(resourceType, 'insert', async () => Boolean(await collection.insertOne(doc, inSession)), session ? undefined : () => confirmInserted(collection, [doc]));
      return { doc, previous: null, ...(resource ? { resource } : {}) };
    }
    await this.copyToHistory(resourceType, current, now, request);
    // The compare-and-set on the version this write read (compare-and-set.ts).
    const replaced = await this.write(
      resourceType,
      'replace',
      () => this.shared.swap(collection, { id, vid: current.vid }, doc, session),
      session ? undefined : () => confirmReplaced(collection, doc),
    );
    if (!replaced) {
      throw new FhirError('CONFLICT', `${resourceType}/${id} changed while it was being written; try again`);
    }
    return { doc, previous: current, ...(resource ? { resource } : {}) };
  }

  private async copyToHistory(resourceType: string, current: CurrentDoc, supersededAt: Date, unit: Unit): Promise<void> {
    const { session } = unit;
    const copy = toHistoryDoc(resourceType, current, supersededAt, unit.tx);
    if (session) {
      // In a MongoDB transaction a duplicate key would abort it: an interrupted writer's copy is kept as it is.
      const { _id, ...fields } = copy;
      await this.write('history', 'insert', () => this.historyCollection.updateOne({ _id }, { $setOnInsert: fields }, { upsert: true, session }));
      return;
    }
    try {
      await this.write('history', 'insert', () => this.historyCollection.insertOne(copy));
    } catch (err) {
      // Another writer (or an interrupted one) already copied this version: same content.
      if (!isDuplicateKey(err)) {
        throw err;
      }
    }
  }

  /**
   * Undoes a transaction's write of one resource, if that write happened: the version it
   * replaced becomes current again, or the resource it created disappears. Idempotent.
   */
  private async rollbackEntry(resourceType: string, id: string, txId: string): Promise<void> {
    const collection = this.current(resourceType);
    const doc = await collection.findOne({ _id: id });
    if (!doc) {
      return;
    }
    if (doc.tx !== txId) {
      await this.dropUnusedCopy(resourceType, doc, txId);
      return;
    }
    // By `_id` alone (FerretDB answers only that from an index): the transaction's locks, still
    // held, and the tag (writers meeting it wait: journal.assertSettled) keep everyone else out.
    if (doc.vid === 1) {
      await this.write(resourceType, 'rollback', () => collection.deleteOne({ _id: id }));
      return;
    }
    const previousKey = historyKey(resourceType, id, doc.vid - 1);
    const previous = await this.historyCollection.findOne({ _id: previousKey });
    if (!previous) {
      throw new Error(`cannot roll back ${resourceType}/${id}: version ${doc.vid - 1} is missing from history`);
    }
    const restored = this.asCurrent(previous);
    await this.write(resourceType, 'rollback', () => this.shared.swap(collection, { id, vid: doc.vid }, restored));
    await this.write('history', 'rollback', () => this.historyCollection.deleteOne({ _id: previousKey }));
  }

  /**
   * The transaction copied a version to history but failed before replacing it: the copy
   * duplicates the current version. The transaction still holds the lock, so nobody else can
   * have superseded that version meanwhile: remove the copy.
   */
  private async dropUnusedCopy(resourceType: string, current: CurrentDoc, txId: string): Promise<void> {
    const key = historyKey(resourceType, current._id, current.vid);
    const copy = await this.historyCollection.findOne({ _id: key });
    if (copy?.tx === txId) {
      await this.historyCollection.deleteOne({ _id: key });
    }
  }

  /**
   * 413 for a document the database would refuse (its limit is on the whole document: the JSON
   * text, the search index and the bookkeeping), before anything is written.
   */
  private assertStorable(doc: Partial<CurrentDoc>, resource: Resource): void {
    const limit = this.options.maxDocumentBytes ?? MAX_DOCUMENT_BYTES;
    const size = BSON.calculateObjectSize(doc as Document);
    if (size > limit) {
      throw new FhirError(
        'PAYLOAD_TOO_LARGE',
        `The ${resource.resourceType} would be stored as ${size} bytes with its search index; the database stores documents of at most ${limit} bytes`,
        { expression: [resource.resourceType] },
      );
    }
  }

  /**
   * The stored form (index-layout.ts) of a resource's extracted search index, with its owner as
   * one more term: a caller's whole visibility is then one lookup on `idx.k` (store/mongo/access.ts).
   */
  private index(resource: Resource, owner: string | undefined): StoredIndex {
    const stored = toStoredIndex(this.options.indexer(resource));
    if (owner) stored.k.push(ownerTerm(owner));
    return stored;
  }

  /**
   * One write. When `confirm` is given and the database became unreachable before it answered
   * (the write may or may not have been made), the document is read back once the database
   * answers again: a write that was made is reported made, never as a failure (confirm.ts).
   */
  private async write<T>(collection: string, operation: string, run: () => Promise<T>, confirm?: () => Promise<T | undefined>): Promise<T> {
    await this.options.beforeWrite?.({ collection, operation });
    try {
      const result = await run();
      await this.options.afterWrite?.({ collection, operation });
      return result;
    } catch (err) {
      if (confirm && databaseFault(err) === 'unavailable') {
        const made = await confirm().catch(() => undefined);
        if (made !== undefined) return made;
      }
      throw err;
    }
  }

  private current(resourceType: string): Collection<CurrentDoc> {
    return this.db.collection<CurrentDoc>(resourceType);
  }

  /** The type's collection, with its indexes created once per process. */
  private async prepared(resourceType: string): Promise<Collection<CurrentDoc>> {
    const collection = this.current(resourceType);
    if (!this.preparedTypes.has(resourceType)) {
      await ensureIndexes(
        collection,
        [
          // Type-level history lists current versions by time (history.ts).
          { key: { lastUpdated: -1, _id: -1 }, name: 'last_updated' },
          // MongoDB: the indexes that serve every search shape (search-indexes.ts); FerretDB would not use them.
          ...(this.options.wildcardIndexes ? searchIndexes(resourceType) : []),
        ],
        this.options.wildcardIndexes ? RETIRED_SEARCH_INDEXES : [],
      );
      this.preparedTypes.add(resourceType);
    }
    return collection;
  }
}

/** Sets the server's meta; resourceType, id and meta lead, as readers expect to see them. */
function withMeta<T extends Resource>(resource: T, versionId: number, lastUpdated: Date): T {
  const { resourceType, id, meta, ...rest } = resource;
  return { resourceType, id, meta: { ...meta, versionId: String(versionId), lastUpdated: lastUpdated.toISOString() }, ...rest } as T;
}

function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}
