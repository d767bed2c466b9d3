/**
 * Search execution: a typed SearchRequest (search/parse) → translated filters on `idx`
 * (search-filter) → one query per searched collection, merged in sort order, keyset-paged;
 * chains and _has resolved by sub-queries; _include/_revinclude (with :iterate) fetched by
 * reference. See: https://hl7.org/fhir/R4/search.html
 */
import type { Collection, Db, Document } from 'mongodb';
import { FhirError } from '../../fhir/outcomes';
import { withTieBreak } from '../../search/indexed-sorts';
import type { SearchParameterRegistry } from '../../search/registry';
import type { IncludeTarget, SearchRequest } from '../../search/request';
import type { AccessScope, CurrentResource, SearchOptions, SearchPage } from '../repository';
import { accessFilter, disclosed, isVisible } from './access';
import { ALL_VERSIONS, type CurrentDoc, type DocumentView, currentToVersion } from './documents';
import { type Cursor, type Position, type SortKey, beyond, comparePositions, decodeCursor, encodeCursor, mongoSort, positionOf } from './keyset';
import { storedSortPath, storedTerms, toStoredFilter } from './index-layout';
import { LIVE_DOCUMENT, type MongoFilter, resolveFilter, translateSearch } from './search-filter';

export interface SearchLimits {
  /** Most ids a chain or _has sub-query may produce before the search is refused as too costly. */
  readonly maxSubqueryResults: number;
  /** Most resources _include/_revinclude may add to one page. */
  readonly maxIncluded: number;
  /** Rounds of :iterate. */
  readonly maxIterations: number;
}

export const DEFAULT_SEARCH_LIMITS: SearchLimits = { maxSubqueryResults: 10_000, maxIncluded: 1_000, maxIterations: 4 };


export interface SearchExecutorOptions {
  readonly db: Db;
  readonly registry: SearchParameterRegistry;
  readonly now: () => Date;
  readonly limits?: SearchLimits;
  /**
   * The database answers only an exact `{_id}` filter from an index (FerretDB 1.x): fetching
   * included resources one id at a time then beats one `$in` query that scans the collection.
   */
  readonly indexedIdLookupsOnly?: boolean;
  /** Two bounds on one value as one `$elemMatch` (MongoDB: exact and index-bounded). */
  readonly elemMatch?: boolean;
  /** Begins a reader's view of versions written by transactions in flight (documents.ts DocumentView). */
  readonly readView?: () => Promise<DocumentView>;
}

/** A resource with its stored document (whose idx holds its references). */
interface Found {
  readonly resource: CurrentResource;
  readonly doc: Document;
}

interface Prepared {
  readonly type: string;
  readonly filter: MongoFilter;
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
    const { prepared, approximate } = await this.prepare(request, options.compartment, scope);
    // Counting is a second pass over the matches (on FerretDB a second scan of the collection),
    // so the total is given when it comes free (a first page holding every match) or when
    // _total asks for it. See: https://hl7.org/fhir/R4/search.html#total
    const wantsTotal = request.total === 'accurate' || request.total === 'estimate' || request.summary === 'count';
    if (request.count === 0 || request.summary === 'count') {
      // No entries asked for: the total is the answer (unless _total=none).
      return { matches: [], included: [], approximate, includeTruncated: false, ...(request.total !== 'none' ? { total: await this.count(prepared, view) } : {}) };
    }
    const backwards = cursor?.direction === 'previous';
    // A page after the first must be counted anyway: count while the page is read.
    const countAlongside = wantsTotal && (cursor !== undefined || request.offset > 0);
    const [ordered, counted] = await Promise.all([
      this.readPage(prepared, { keys, cursor, count: request.count, offset: request.offset }),
      countAlongside ? this.count(prepared, view) : undefined,
    ]);
    const more = ordered.length > request.count;
    const page = await settled(view, ordered.slice(0, request.count));
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
    page: { keys: readonly SortKey[]; cursor: Cursor | undefined; count: number; offset: number },
  ): Promise<{ type: string; doc: Document; position: Position }[]> {
    const { keys, cursor, count } = page;
    const backwards = cursor?.direction === 'previous';
    const offset = cursor ? 0 : page.offset;
    const merged = prepared.length > 1;
    const batches = await Promise.all(
      prepared.map(async ({ type, filter }) => {
        const after = cursor ? beyond(keys, cursor, type) : {};
        if (after === false) {
          return [];
        }
        const docs = await this.collection(type)
          .find(and(filter, after))
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

  /** Ids of up to `limit` matches, for conditional interactions (which need to know 0, 1 or many). */
  async matchingIds(request: SearchRequest, limit: number, scope?: AccessScope): Promise<string[]> {
    const { prepared } = await this.prepare(request, undefined, scope);
    const ids: string[] = [];
    for (const { type, filter } of prepared) {
      const docs = await this.collection(type).find(filter, { projection: { _id: 1 } }).limit(limit).toArray();
      ids.push(...docs.map((d) => d._id));
    }
    return ids.slice(0, limit);
  }

  /** The values of reference parameter `code` of the matches, from their index terms (at most `limit` matches; TOO_COSTLY beyond). */
  async referencesOf(request: SearchRequest, code: string, limit: number): Promise<string[]> {
    const { prepared } = await this.prepare(request);
    const values = new Set<string>();
    for (const { type, filter } of prepared) {
      const docs = await this.collection(type).find(filter, { projection: { 'idx.k': 1 } }).limit(limit + 1).toArray();
      if (docs.length > limit) {
        throw new FhirError('TOO_COSTLY', `More than ${limit} ${type} resources match; the access rules cannot be computed`);
      }
      docs.forEach((doc) => storedTerms(doc as unknown as Document, code, 'r').forEach((v) => values.add(v)));
    }
    return [...values];
  }

  private async prepare(request: SearchRequest, compartment?: SearchOptions['compartment'], scope?: AccessScope): Promise<{ prepared: Prepared[]; approximate: string[] }> {
    const candidates = request.resourceType !== undefined ? [request.resourceType] : request.types.length > 0 ? [...request.types] : await this.typesWithData();
    const types = compartment ? candidates.filter((type) => (compartment.params[type]?.length ?? 0) > 0) : candidates;
    const approximate = new Set<string>();
    const prepared = await Promise.all(
      types.map(async (type) => {
        const translated = translateSearch(request, this.options.registry, type, { now: this.options.now(), elemMatch: this.options.elemMatch ?? false });
        translated.approximate.forEach((a) => approximate.add(a));
        // Chains and _has look only at what the caller may see: a hidden match must not show through.
        const filter = toStoredFilter(await resolveFilter(translated.filter, (subType, subFilter, select) => this.subquery(subType, subFilter, select, scope)));
        const inScope = compartment ? and(filter, inCompartment(compartment, type)) : filter;
        return { type, filter: scope ? and(inScope, accessFilter(scope, type)) : inScope };
      }),
    );
    return { prepared, approximate: [...approximate] };
  }

  /** Values of `select` from the documents of a chain or _has sub-query. */
  private async subquery(type: string, filter: MongoFilter, select: string, scope: AccessScope | undefined): Promise<string[]> {
    const max = this.limits.maxSubqueryResults;
    // `select` is `_id` (chains) or a logical path `idx.<code>.r` (_has): read from the stored terms.
    const term = /^idx\.([^.]+)\.([^.]+)$/.exec(select);
    const stored = toStoredFilter(filter);
    const docs = await this.collection(type)
      .find(scope ? and(stored, accessFilter(scope, type)) : stored, { projection: { [term ? 'idx.k' : select]: 1 } })
      .limit(max + 1)
      .toArray();
    if (docs.length > max) {
      throw new FhirError('TOO_COSTLY', `A chained or _has condition on ${type} matches more than ${max} resources; narrow it down`);
    }
    return docs.flatMap((doc) => {
      if (term) {
        return storedTerms(doc as unknown as Document, term[1] as string, term[2] as string);
      }
      const value = select === '_id' ? doc._id : valueAt(doc as unknown as Document, select);
      return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
    });
  }

  /**
   * Counts matches, leaving out versions of transactions the reader may not see (documents.ts);
   * counted again if a transaction began while counting (at most twice more).
   */
  private async count(prepared: readonly Prepared[], view: DocumentView): Promise<number> {
    let hidden = await view.hiddenTags();
    for (let attempt = 0; ; attempt++) {
      const unseen = hidden.length === 0 ? {} : { tx: { $nin: hidden } };
      const counts = await Promise.all(prepared.map(({ type, filter }) => this.collection(type).countDocuments(and(filter, unseen))));
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
      for (const next of await settledFound(view, [...(await this.forward(includes, frontier)), ...(await this.reverse(revincludes, frontier))])) {
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

  private async forward(targets: readonly IncludeTarget[], sources: readonly Found[]): Promise<Found[]> {
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
      [...wanted].map(([type, ids]) => this.fetchByIds(type, [...ids])),
    );
    return found.flat();
  }

  private async reverse(targets: readonly IncludeTarget[], sources: readonly Found[]): Promise<Found[]> {
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
        results.push(...(await this.fetch(type, toStoredFilter({ ...LIVE_DOCUMENT, $or: codes.map((code) => ({ [`idx.${code}.r`]: { $in: refs } })) }))));
      }
    }
    return results;
  }

  private async fetchByIds(type: string, ids: readonly string[]): Promise<Found[]> {
    if (!this.options.indexedIdLookupsOnly) {
      return this.fetch(type, { _id: { $in: [...ids] }, ...LIVE_DOCUMENT });
    }
    const collection = this.collection(type);
    const docs = await Promise.all(ids.slice(0, this.limits.maxIncluded + 1).map((id) => collection.findOne({ _id: id })));
    return docs
      .filter((doc): doc is CurrentDoc => doc !== null && doc.idx !== undefined)
      .map((doc) => ({ resource: currentToVersion(type, doc) as CurrentResource, doc: doc as unknown as Document }));
  }

  private async fetch(type: string, filter: MongoFilter): Promise<Found[]> {
    const docs = await this.collection(type).find(filter).limit(this.limits.maxIncluded + 1).toArray();
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
