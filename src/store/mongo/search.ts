/**
 * Search execution: a typed SearchRequest (search/parse) → translated filters on `idx`
 * (search-filter) → one query per searched collection, merged in sort order, keyset-paged;
 * chains and _has resolved by sub-queries; _include/_revinclude (with :iterate) fetched by
 * reference. See: https://hl7.org/fhir/R4/search.html
 */
import type { Collection, Db, Document } from 'mongodb';
import { matchesFilter } from './filter-match';
import { FhirError } from '../../fhir/outcomes';
import { withTieBreak } from '../../search/indexed-sorts';
import type { SearchParameterRegistry } from '../../search/registry';
import type { IncludeTarget, SearchRequest } from '../../search/request';
import type { AccessScope, CurrentResource, SearchOptions, SearchPage } from '../repository';
import { accessFilter, disclosed, isVisible, readsLabels } from './access';
import { ALL_VERSIONS, type CurrentDoc, type DocumentView, currentToVersion } from './documents';
import { type Cursor, type Position, type SortKey, beyond, comparePositions, decodeCursor, encodeCursor, mongoSort, positionOf } from './keyset';
import { storedSortPath, storedTerms, toStoredFilter } from './index-layout';
import { type FilterNode, LIVE_DOCUMENT, type MongoFilter, type SubqueryFind, type SubqueryNode, referencedIds, resolveFilter, translateSearch } from './search-filter';
import { allOf } from './search-filter-values';

export interface SearchLimits {
  /** Most ids a chain or _has sub-query may produce before the search is refused as too costly. */
  readonly maxSubqueryResults: number;
  /** Most resources _include/_revinclude may add to one page. */
  readonly maxIncluded: number;
  /** Rounds of :iterate. */
  readonly maxIterations: number;
  /**
   * A `_has` condition whose inner search matches more than this many resources is checked on
   * the outer candidates, page by page (readPageWithHas), instead of collecting every reference
   * first: when most candidates qualify, the cost then follows the page, not the inner set.
   */
  readonly hasProbe: number;
}

export const DEFAULT_SEARCH_LIMITS: SearchLimits = { maxSubqueryResults: 10_000, maxIncluded: 1_000, maxIterations: 4, hasProbe: 50 };


export interface SearchExecutorOptions {
  readonly db: Db;
  readonly registry: SearchParameterRegistry;
  readonly now: () => Date;
  readonly limits?: SearchLimits;
  /** Two bounds on one value as one `$elemMatch` (MongoDB: exact and index-bounded). */
  readonly elemMatch?: boolean;
  /** Begins a reader's view of versions written by transactions in flight (documents.ts DocumentView). */
  readonly readView?: () => Promise<DocumentView>;
  /** A view with no fixed instant (journal.ts currentView), for lists of ids: reads no clock. */
  readonly currentView?: () => DocumentView;
}

/** A resource with its stored document (whose idx holds its references). */
interface Found {
  readonly resource: CurrentResource;
  readonly doc: Document;
}

interface Prepared {
  readonly type: string;
  readonly filter: MongoFilter;
  /** A `_has` condition left to check on the candidates of `filter` (readPageWithHas). */
  readonly has?: PendingHas;
}

interface PendingHas {
  readonly node: SubqueryNode;
  /** The inner search, resolved (logical index paths). */
  readonly where: MongoFilter;
  /** What the caller may see of the inner search's type: a hidden match must not qualify. */
  readonly scope: AccessScope | undefined;
  readonly view: DocumentView;
}

/** How a chain or _has sub-query reads: what the caller may see, as the reader's view shows it. */
interface SubqueryReading {
  readonly scope: AccessScope | undefined;
  readonly view: DocumentView;
}

export class SearchExecutor {
  private readonly limits: SearchLimits;

  constructor(private readonly options: SearchExecutorOptions) {
    this.limits = options.limits ?? DEFAULT_SEARCH_LIMITS;
  }

  /** `scope`: what the caller may see (store/mongo/access.ts); absent, everything. */
  async search(request: SearchRequest, options: SearchOptions = {}, scope?: AccessScope): Promise<SearchPage> {
    const keys = sortKeys(request);
    const cursor = options.cursor === undefined ? undefined : decodeCursor(options.cursor, keys.length);
    const view = this.options.readView ? await this.options.readView() : ALL_VERSIONS;
    // Counting is a second pass over the matches (on FerretDB a second scan of the collection),
    // so the total is given when it comes free (a first page holding every match) or when
    // _total asks for it. See: https://hl7.org/fhir/R4/search.html#total
    const wantsTotal = request.total === 'accurate' || request.total === 'estimate' || request.summary === 'count';
    // A large _has is checked page by page: only for a plain page of one type, not a count.
    const pageByPage = request.resourceType !== undefined && !wantsTotal && request.count > 0 && request.offset === 0;
    const { prepared, approximate } = await this.prepare(request, { compartment: options.compartment, scope, pageByPage, view });
    if (request.count === 0 || request.summary === 'count') {
      // No entries asked for: the total is the answer (unless _total=none).
      return { matches: [], included: [], approximate, includeTruncated: false, ...(request.total !== 'none' ? { total: await this.count(prepared, view) } : {}) };
    }
    const backwards = cursor?.direction === 'previous';
    // A page after the first must be counted anyway: count while the page is read.
    const countAlongside = wantsTotal && (cursor !== undefined || request.offset > 0);
    const [ordered, counted] = await Promise.all([
      this.readPage(prepared, { keys, cursor, count: request.count, offset: request.offset, projection: pageProjection(request, scope, keys) }),
      countAlongside ? this.count(prepared, view) : undefined,
    ]);
    const more = ordered.length > request.count;
    const filters = new Map(prepared.map((p) => [p.type, p.filter]));
    const page = await seenMatching(view, ordered.slice(0, request.count), (type) => filters.get(type));
    if (backwards) {
      page.reverse();
    }
    const first = page[0];
    const last = page[page.length - 1];
    const hasNext = backwards ? cursor !== undefined : more;
    const hasPrevious = backwards ? more : cursor !== undefined || request.offset > 0;
    const found = page.map(({ type, doc }) => ({ resource: shownAs(scope, doc, currentToVersion(type, doc as CurrentDoc) as CurrentResource), doc }));
    const matches = found.map((f) => f.resource);
    // A first page that holds every match is its own total; otherwise count (beside the includes).
    const complete = !more && cursor === undefined && request.offset === 0;
    const [{ included, truncated }, total] = await Promise.all([
      this.includes(request, found, { scope, view }),
      complete && request.total !== 'none' ? matches.length : wantsTotal ? (counted ?? this.count(prepared, view)) : undefined,
    ]);
    return {
      matches,
      included,
      approximate,
      includeTruncated: truncated,
      ...(hasNext && last ? { nextCursor: encodeCursor({ direction: 'next', position: last.position }) } : {}),
      ...(hasPrevious && first ? { previousCursor: encodeCursor({ direction: 'previous', position: first.position }) } : {}),
      ...(total !== undefined ? { total } : {}),
    };
  }

  /**
   * Up to count + 1 matches in page order (reversed when reading backwards), merged across the
   * searched collections. With several collections `_offset` applies to the merged order, so each
   * collection is read from its start.
   */
  private async readPage(
    prepared: readonly Prepared[],
    page: { keys: readonly SortKey[]; cursor: Cursor | undefined; count: number; offset: number; projection?: Document },
  ): Promise<{ type: string; doc: Document; position: Position }[]> {
    const { keys, cursor, count } = page;
    const backwards = cursor?.direction === 'previous';
    const offset = cursor ? 0 : page.offset;
    const merged = prepared.length > 1;
    const single = prepared[0];
    if (single?.has && !merged) {
      return this.readPageWithHas(single, single.has, { keys, cursor, count, ...(page.projection ? { projection: page.projection } : {}) });
    }
    const batches = await Promise.all(
      prepared.map(async ({ type, filter }) => {
        const after = cursor ? beyond(keys, cursor, type) : {};
        if (after === false) {
          return [];
        }
        const docs = await this.collection(type)
          .find(and(filter, after), page.projection ? { projection: page.projection } : {})
          .sort(mongoSort(keys, backwards))
          .skip(merged ? 0 : offset)
          .limit(merged ? offset + count + 1 : count + 1)
          .toArray();
        return docs.map((doc) => ({ type, doc: doc as unknown as Document, position: positionOf(keys, type, doc as unknown as Document) }));
      }),
    );
    const ordered = batches.flat().sort((a, b) => comparePositions(keys, a.position, b.position) * (backwards ? -1 : 1));
    return merged ? ordered.slice(offset) : ordered;
  }

  /**
   * A page with a `_has` condition: the candidates of the other conditions are read in page
   * order, a batch at a time, and each batch keeps those the inner search references (one query
   * with the batch's references). Reading stops once the page is full; a batch grows when few
   * candidates qualify. When the first batch does not fill the page, the inner set is probed
   * (hasProbe): a small one's references are collected and the page read with them, as for any
   * sub-query. When few qualify at all (more than maxIncluded candidates read), the references
   * are collected first after all. (Probing first cost a large inner set, the common case for
   * `_has`, a read of hasProbe inner documents on every page.)
   */
  private async readPageWithHas(
    p: Prepared,
    has: PendingHas,
    page: { keys: readonly SortKey[]; cursor: Cursor | undefined; count: number; projection?: Document },
  ): Promise<{ type: string; doc: Document; position: Position }[]> {
    const { keys, count } = page;
    const direction = page.cursor?.direction ?? 'next';
    const sort = mongoSort(keys, direction === 'previous');
    const kept: { type: string; doc: Document; position: Position }[] = [];
    let from = page.cursor;
    let batch = count + 1;
    let read = 0;
    const { resourceType, select } = has.node;
    const reading = { scope: has.scope, view: has.view };
    const withReferences = (refs: string[]) => this.readPage([{ type: p.type, filter: and(p.filter, toStoredFilter(has.node.then(refs))) }], { ...page, offset: 0 });
    while (kept.length <= count) {
      const after = from ? beyond(keys, from, p.type) : {};
      if (after === false) break;
      const docs = await this.collection(p.type)
        .find(and(p.filter, after), page.projection ? { projection: page.projection } : {})
        .sort(sort)
        .limit(batch)
        .toArray();
      const referenced = new Set(docs.length > 0 ? await this.referencedBy(has, p.type, docs.map((d) => d._id)) : []);
      for (const doc of docs) {
        if (referenced.has(doc._id) && kept.length <= count) {
          kept.push({ type: p.type, doc: doc as unknown as Document, position: positionOf(keys, p.type, doc as unknown as Document) });
        }
      }
      const last = docs[docs.length - 1];
      if (docs.length < batch || !last) break;
      if (read === 0 && kept.length <= count) {
        const probe = await this.subquery(resourceType, has.where, select, { ...reading, probe: this.limits.hasProbe });
        if (probe.complete) return withReferences(probe);
      }
      read += docs.length;
      if (read > this.limits.maxIncluded) return withReferences(await this.subquery(resourceType, has.where, select, reading));
      from = { direction, position: positionOf(keys, p.type, last as unknown as Document) };
      batch = Math.min(batch * 2, this.limits.maxIncluded);
    }
    return kept;
  }

  /** The ids among `ids` (of `type`) that the inner search of a `_has` references. */
  private async referencedBy(has: PendingHas, type: string, ids: readonly string[]): Promise<string[]> {
    const refs = ids.map((id) => `${type}/${id}`);
    const values = await this.subquery(has.node.resourceType, allOf([has.where, { [has.node.select]: { $in: refs } }]), has.node.select, { scope: has.scope, view: has.view });
    return referencedIds(values, type);
  }

  /** Ids of up to `limit` matches, for conditional interactions (which need to know 0, 1 or many). */
  async matchingIds(request: SearchRequest, limit: number, scope?: AccessScope): Promise<string[]> {
    const view = this.view();
    const { prepared } = await this.prepare(request, { scope, view });
    const ids: string[] = [];
    for (const { type, filter } of prepared) {
      const docs = await this.collection(type).find(filter, { projection: SETTLE_PROJECTION }).limit(limit).toArray();
      const seen = await seenMatching(view, docs.map((doc) => ({ type, doc: doc as unknown as Document })), () => filter);
      ids.push(...seen.map((d) => d.doc._id as string));
    }
    return ids.slice(0, limit);
  }

  /** The values of reference parameter `code` of the matches, from their index terms (at most `limit` matches; TOO_COSTLY beyond). */
  async referencesOf(request: SearchRequest, code: string, limit: number): Promise<string[]> {
    const view = this.view();
    const { prepared } = await this.prepare(request, { view });
    const values = new Set<string>();
    for (const { type, filter } of prepared) {
      const docs = await this.collection(type).find(filter, { projection: { 'idx.k': 1, ...SETTLE_PROJECTION } }).limit(limit + 1).toArray();
      if (docs.length > limit) {
        throw new FhirError('TOO_COSTLY', `More than ${limit} ${type} resources match; the access rules cannot be computed`);
      }
      const seen = await seenMatching(view, docs.map((doc) => ({ type, doc: doc as unknown as Document })), () => filter);
      seen.forEach(({ doc }) => storedTerms(doc, code, 'r').forEach((v) => values.add(v)));
    }
    return [...values];
  }

  /**
   * The view of a list of ids (conditional matches, the access rules' lookups, once per request
   * for a scoped caller): a transaction counts once committed, so no clock read is needed.
   */
  private view(): DocumentView {
    return this.options.currentView?.() ?? ALL_VERSIONS;
  }

  private async prepare(
    request: SearchRequest,
    reading: { compartment?: SearchOptions['compartment']; scope?: AccessScope; pageByPage?: boolean; view: DocumentView },
  ): Promise<{ prepared: Prepared[]; approximate: string[] }> {
    const { compartment, scope, pageByPage = false, view } = reading;
    const candidates = request.resourceType !== undefined ? [request.resourceType] : request.types.length > 0 ? [...request.types] : await this.typesWithData();
    const types = compartment ? candidates.filter((type) => (compartment.params[type]?.length ?? 0) > 0) : candidates;
    const approximate = new Set<string>();
    // Chains and _has look only at what the caller may see: a hidden match must not show through.
    const find: SubqueryFind = (subType, subFilter, select) => this.subquery(subType, subFilter, select, { scope, view });
    const prepared = await Promise.all(
      types.map(async (type): Promise<Prepared> => {
        const translated = translateSearch(request, this.options.registry, type, { now: this.options.now(), elemMatch: this.options.elemMatch ?? false });
        translated.approximate.forEach((a) => approximate.add(a));
        const split = pageByPage ? splitHas(translated.filter) : undefined;
        let root = translated.filter;
        let has: PendingHas | undefined;
        if (split) {
          // Checked on the page's candidates (readPageWithHas), which probes the inner set only
          // when the first batch does not fill the page.
          root = { kind: 'and', nodes: split.rest };
          has = { node: split.has, where: await resolveFilter(split.has.where, find), scope, view };
        }
        const resolved = toStoredFilter(await resolveFilter(root, find));
        const inScope = compartment ? and(resolved, inCompartment(compartment, type)) : resolved;
        const filter = scope ? and(inScope, accessFilter(scope, type)) : inScope;
        return has ? { type, filter, has } : { type, filter };
      }),
    );
    return { prepared, approximate: [...approximate] };
  }

  /**
   * Values of `select` from the documents of a chain or _has sub-query, among those `scope` shows. With `probe`, reads at
   * most that many documents, and says whether it read them all (`complete`).
   */
  private async subquery(type: string, filter: MongoFilter, select: string, reading: SubqueryReading): Promise<string[]>;
  private async subquery(type: string, filter: MongoFilter, select: string, reading: SubqueryReading & { probe: number }): Promise<string[] & { complete: boolean }>;
  private async subquery(type: string, filter: MongoFilter, select: string, reading: SubqueryReading & { probe?: number }): Promise<string[] & { complete?: boolean }> {
    const { scope, probe, view } = reading;
    const max = probe ?? this.limits.maxSubqueryResults;
    // `select` is `_id` (chains) or a logical path `idx.<code>.r` (_has): read from the stored terms.
    const term = /^idx\.([^.]+)\.([^.]+)$/.exec(select);
    const stored = toStoredFilter(filter);
    const where = scope ? and(stored, accessFilter(scope, type)) : stored;
    const read = await this.collection(type)
      .find(where, { projection: { [term ? 'idx.k' : select]: 1, ...SETTLE_PROJECTION } })
      .limit(max + 1)
      .toArray();
    if (read.length > max && probe === undefined) {
      throw new FhirError('TOO_COSTLY', `A chained or _has condition on ${type} matches more than ${max} resources; narrow it down`);
    }
    // What the reader's view shows: a match written by a transaction in flight does not qualify unless the version before it does.
    const seen = await seenMatching(view, read.map((doc) => ({ type, doc: doc as unknown as Document })), () => where);
    const docs = seen.map((s) => s.doc);
    const values = docs.flatMap((doc) => {
      if (term) {
        return storedTerms(doc as unknown as Document, term[1] as string, term[2] as string);
      }
      const value = select === '_id' ? doc._id : valueAt(doc as unknown as Document, select);
      return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
    });
    return Object.assign(values, { complete: read.length <= max });
  }

  /**
   * Counts matches, leaving out versions of transactions the reader may not see (documents.ts);
   * counted again if a transaction began while counting (at most twice more).
   */
  private async count(prepared: readonly Prepared[], view: DocumentView): Promise<number> {
    let hidden = await view.hiddenTags();
    for (let attempt = 0; ; attempt++) {
      const unseen = hidden.length === 0 ? {} : { tx: { $nin: hidden } };
      const counts = await Promise.all(
        prepared.map(async ({ type, filter }) => {
          const shown = await this.collection(type).countDocuments(and(filter, unseen));
          if (hidden.length === 0) return shown;
          // Versions in flight count as the version before them, when that one matches (few: only transactions open now).
          const inFlight = await this.collection(type).find(and(filter, { tx: { $in: hidden } }), { projection: SETTLE_PROJECTION }).toArray();
          return shown + (await seenMatching(view, inFlight.map((doc) => ({ type, doc: doc as unknown as Document })), () => filter)).length;
        }),
      );
      const after = await view.hiddenTags();
      if (attempt === 2 || after.every((tx) => hidden.includes(tx))) return counts.reduce((a, b) => a + b, 0);
      hidden = after;
    }
  }

  /**
   * _include follows the page's references (idx.<param>.r holds them as Type/id); _revinclude
   * finds resources whose reference parameter points at the page. :iterate repeats on what was
   * added. See: https://hl7.org/fhir/R4/search.html#include
   */
  private async includes(request: SearchRequest, matches: readonly Found[], reader: { scope: AccessScope | undefined; view: DocumentView }): Promise<{ included: CurrentResource[]; truncated: boolean }> {
    const { scope, view } = reader;
    if (matches.length === 0 || (request.include.length === 0 && request.revinclude.length === 0)) {
      return { included: [], truncated: false };
    }
    const seen = new Set(matches.map((m) => `${m.resource.resourceType}/${m.resource.id}`));
    const included: CurrentResource[] = [];
    let frontier: readonly Found[] = matches;
    let truncated = false;
    for (let round = 0; round <= this.limits.maxIterations && frontier.length > 0 && !truncated; round++) {
      const includes = request.include.filter((t) => round === 0 || t.iterate);
      const revincludes = request.revinclude.filter((t) => round === 0 || t.iterate);
      const added: Found[] = [];
      for (const next of await settledFound(view, [...(await this.forward(includes, frontier, scope)), ...(await this.reverse(revincludes, frontier, scope))])) {
        const key = `${next.resource.resourceType}/${next.resource.id}`;
        // What the caller may not see is not included, and does not lead further (:iterate).
        if (seen.has(key) || (scope && !isVisible(scope, next.resource.resourceType, next.doc))) continue;
        if (included.length >= this.limits.maxIncluded) {
          truncated = true;
          break;
        }
        seen.add(key);
        included.push(shownAs(scope, next.doc, next.resource));
        added.push(next);
      }
      frontier = added;
    }
    return { included, truncated };
  }

  private async forward(targets: readonly IncludeTarget[], sources: readonly Found[], scope: AccessScope | undefined): Promise<Found[]> {
    const known = new Set(this.options.registry.resourceTypes());
    const wanted = new Map<string, Set<string>>();
    for (const { resource, doc } of sources) {
      for (const target of targets) {
        if (target.resourceType !== '*' && target.resourceType !== resource.resourceType) continue;
        for (const code of this.referenceCodes(resource.resourceType, target.code)) {
          for (const ref of referencesIn(doc, code)) {
            const parts = ref.split('/');
            const [type, id] = parts;
            if (parts.length !== 2 || !type || !id || !known.has(type)) continue;
            if (target.targetType && target.targetType !== type) continue;
            let ids = wanted.get(type);
            if (!ids) wanted.set(type, (ids = new Set()));
            ids.add(id);
          }
        }
      }
    }
    const found = await Promise.all(
      [...wanted].map(([type, ids]) => this.fetchByIds(type, [...ids], scope)),
    );
    return found.flat();
  }

  private async reverse(targets: readonly IncludeTarget[], sources: readonly Found[], scope: AccessScope | undefined): Promise<Found[]> {
    const results: Found[] = [];
    for (const target of targets) {
      // `*`: only the types that have a collection can hold a reference (one query per type).
      const sourceTypes = target.resourceType === '*' ? await this.typesWithData() : [target.resourceType];
      const refs = sources
        .filter((s) => !target.targetType || s.resource.resourceType === target.targetType)
        .map((s) => `${s.resource.resourceType}/${s.resource.id}`);
      for (const type of sourceTypes) {
        const codes = this.referenceCodes(type, target.code);
        if (refs.length === 0 || codes.length === 0) continue;
        results.push(...(await this.fetch(type, toStoredFilter({ ...LIVE_DOCUMENT, $or: codes.map((code) => ({ [`idx.${code}.r`]: { $in: refs } })) }), scope)));
      }
    }
    return results;
  }

  private fetchByIds(type: string, ids: readonly string[], scope: AccessScope | undefined): Promise<Found[]> {
    return this.fetch(type, { _id: { $in: [...ids] }, ...LIVE_DOCUMENT }, scope);
  }

  /** Included resources: only those `scope` shows are read (includes() checks each again, isVisible). */
  private async fetch(type: string, filter: MongoFilter, scope: AccessScope | undefined): Promise<Found[]> {
    const docs = await this.collection(type).find(scope ? and(filter, accessFilter(scope, type)) : filter).limit(this.limits.maxIncluded + 1).toArray();
    return docs.map((doc) => ({ resource: currentToVersion(type, doc) as CurrentResource, doc: doc as unknown as Document }));
  }

  /** The reference parameters `code` names on `type` (`*`: all of them). */
  private referenceCodes(type: string, code: string): string[] {
    const params = this.options.registry.list(type).filter((p) => p.type === 'reference');
    return code === '*' ? params.map((p) => p.code) : params.filter((p) => p.code === code).map((p) => p.code);
  }

  private async typesWithData(): Promise<string[]> {
    const known = new Set(this.options.registry.resourceTypes());
    const collections = await this.options.db.listCollections({}, { nameOnly: true }).toArray();
    return collections.map((c) => c.name).filter((name) => known.has(name)).sort();
  }

  private collection(type: string): Collection<CurrentDoc> {
    return this.options.db.collection<CurrentDoc>(type);
  }
}

/**
 * What a page needs of its documents: not the range values of the index; its terms only when
 * `_include` follows the references they hold; its sort keys only when the page is sorted by
 * them (keyset.ts continues from the last entry's; in `_id` order, every search without _sort,
 * they are not needed). `idx` itself stays, empty if need be, as the read view checks.
 * Less to send on both databases; FerretDB decodes only what is kept.
 */
function pageProjection(request: SearchRequest, scope: AccessScope | undefined, keys: readonly SortKey[]): Document {
  // The terms also hold the labels whose obligations and disclosures a scoped caller is shown.
  const projection: Document = request.include.length > 0 || (scope !== undefined && readsLabels(scope)) ? { 'idx.r': 0 } : { 'idx.r': 0, 'idx.k': 0 };
  if (keys.every((key) => key.field === '_id')) {
    projection['idx.o'] = 0;
  }
  return projection;
}

/** The one `_has` node at the top of a search's conditions, and the others; undefined otherwise. */
function splitHas(root: FilterNode): { has: SubqueryNode; rest: FilterNode[] } | undefined {
  const nodes = root.kind === 'and' ? root.nodes : [root];
  const has = nodes.filter((n): n is SubqueryNode => n.kind === 'has');
  return has.length === 1 ? { has: has[0] as SubqueryNode, rest: nodes.filter((n) => n !== has[0]) } : undefined;
}

/** `_sort` rules as keyset keys, ending with the `_id` tie-break (search/indexed-sorts.ts withTieBreak). */
export function sortKeys(request: SearchRequest): SortKey[] {
  return withTieBreak(request.sort).map((rule) => ({ field: rule.code === '_id' ? '_id' : storedSortPath(rule.code), descending: rule.descending }));
}

/** A compartment: any of its parameters references the compartment's resource. */
function inCompartment(compartment: NonNullable<SearchOptions['compartment']>, type: string): MongoFilter {
  const id = compartment.reference.split('/')[1];
  return toStoredFilter({
    $or: (compartment.params[type] ?? []).map((code) => (code === '_id' ? { _id: id } : { [`idx.${code}.r`]: compartment.reference })),
  });
}

/** A found resource as the caller is shown it (with the obligations of its labels). */
function shownAs(scope: AccessScope | undefined, doc: Document, found: CurrentResource): CurrentResource {
  return scope ? { ...found, resource: disclosed(scope, doc, found.resource) } : found;
}

function and(a: MongoFilter, b: MongoFilter): MongoFilter {
  if (Object.keys(b).length === 0) return a;
  return { $and: [a, b] };
}

function valueAt(doc: Document, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value;
}

function referencesIn(doc: Document, code: string): string[] {
  return storedTerms(doc, code, 'r');
}

export type { Cursor, Position };

/** What settling a document needs besides what a query reads: its tag and version (documents.ts). */
const SETTLE_PROJECTION = { _id: 1, vid: 1, tx: 1 } as const;

/**
 * Matches as the reader's view shows them: a version written by a transaction in flight is
 * replaced by the version before it, kept only if that one matches the query too (`filterOf`:
 * the database matched the newer version, not it), or dropped (a create). Documents the view
 * shows as stored are kept as read.
 */
export async function seenMatching<T extends { type: string; doc: Document }>(view: DocumentView, items: readonly T[], filterOf: (type: string) => MongoFilter | undefined): Promise<T[]> {
  if (!items.some((item) => item.doc.tx !== undefined)) return [...items];
  const shown = await view.settle(items.map((item) => ({ type: item.type, doc: item.doc as unknown as CurrentDoc })));
  return items.flatMap((item, i) => {
    const doc = shown[i] as unknown as Document | undefined;
    if (doc === item.doc) return [item];
    if (!doc || doc.idx === undefined) return [];
    const filter = filterOf(item.type);
    return filter === undefined || matchesFilter(filter, doc) ? [{ ...item, doc }] : [];
  });
}

/** The page as the reader's view shows it (versions of transactions in flight: documents.ts). */
async function settled<T extends { type: string; doc: Document }>(view: DocumentView, items: readonly T[]): Promise<T[]> {
  const shown = await view.settle(items.map((i) => ({ type: i.type, doc: i.doc as unknown as CurrentDoc })));
  return items.flatMap((item, i) => {
    const doc = shown[i];
    return doc && doc.idx !== undefined ? [doc === (item.doc as unknown) ? item : { ...item, doc: doc as unknown as Document }] : [];
  });
}

async function settledFound(view: DocumentView, found: readonly Found[]): Promise<Found[]> {
  const items = found.map((f) => ({ type: f.resource.resourceType, doc: f.doc, found: f }));
  return (await settled(view, items)).map((item) =>
    item.doc === item.found.doc ? item.found : { resource: currentToVersion(item.type, item.doc as unknown as CurrentDoc) as CurrentResource, doc: item.doc },
  );
}
