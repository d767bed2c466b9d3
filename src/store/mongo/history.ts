/**
 * History listing: instance, type and system level, newest first.
 *
 * Current versions live in the type collections and superseded ones in `history`, so a page is a
 * merge of the newest candidates of each source. Order and continuation are keyset on
 * (lastUpdated, type, id, versionId), all descending: versions written between two page
 * requests appear at the top and never shift later pages.
 * See: https://hl7.org/fhir/R4/http.html#history
 */
import type { Collection, Db, Filter } from 'mongodb';
import { FhirError } from '../../fhir/outcomes';
import type { HistoryPage, HistoryQuery, HistoryScope, ResourceVersion } from '../repository';
import { resourceCollections } from './collections';
import { type CurrentDoc, type DocumentView, type HistoryDoc, currentToVersion, historyToVersion } from './documents';

export interface HistorySources {
  readonly db: Db;
  readonly history: Collection<HistoryDoc>;
  readonly current: (resourceType: string) => Collection<CurrentDoc>;
  /** Which current versions the reader may see (transactions in flight: documents.ts). */
  readonly view?: DocumentView;
}

interface Position {
  readonly t: number;
  readonly type: string;
  readonly id: string;
  readonly vid: number;
}


export async function listHistory(sources: HistorySources, scope: HistoryScope, query: HistoryQuery): Promise<HistoryPage> {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const limit = query.count + 1;
  const historyFilter: Filter<HistoryDoc>[] = [...timeFilters(query, true)];
  if (after) {
    historyFilter.push(historyAfter(after));
  }
  let types: readonly string[];
  switch (scope.level) {
    case 'instance': {
      const exists = await sources.current(scope.resourceType).countDocuments({ _id: scope.id }, { limit: 1 });
      if (exists === 0) {
        throw new FhirError('NOT_FOUND', `${scope.resourceType}/${scope.id} is not known`);
      }
      types = [scope.resourceType];
      historyFilter.push({ type: scope.resourceType, id: scope.id });
      break;
    }
    case 'type':
      types = [scope.resourceType];
      historyFilter.push({ type: scope.resourceType });
      break;
    case 'system':
      types = query.types ?? (await resourceCollections(sources.db));
      if (query.types) {
        historyFilter.push({ type: { $in: [...query.types] } });
      }
      break;
  }
  const currentFilter = (type: string): Filter<CurrentDoc> => {
    const clauses: Filter<CurrentDoc>[] = [...(timeFilters(query, false) as Filter<CurrentDoc>[])];
    if (scope.level === 'instance') {
      clauses.push({ _id: scope.id });
    }
    if (after) {
      clauses.push(currentAfter(type, after));
    }
    return and(clauses);
  };
  const batches = await Promise.all([
    sources.history
      .find(and(historyFilter))
      .sort({ lastUpdated: -1, type: -1, id: -1, vid: -1 })
      .limit(limit)
      .toArray()
      .then((docs) => docs.map(historyToVersion)),
    ...types.map((type) =>
      sources
        .current(type)
        .find(currentFilter(type))
        .sort({ lastUpdated: -1, _id: -1 })
        .limit(limit)
        .toArray()
        .then(async (docs) => {
          const shown = sources.view ? await sources.view.settle(docs.map((doc) => ({ type, doc }))) : docs;
          return shown.flatMap((doc) => (doc ? [currentToVersion(type, doc)] : []));
        }),
    ),
  ]);
  const merged = dedupe(batches.flat().sort(newestFirst));
  const versions = merged.slice(0, query.count);
  const last = versions[versions.length - 1];
  return {
    versions,
    ...(merged.length > query.count && last ? { nextCursor: encodeCursor(last) } : {}),
  };
}

function timeFilters(query: HistoryQuery, superseded: boolean): Filter<HistoryDoc>[] {
  const clauses: Filter<HistoryDoc>[] = [];
  if (query.since) {
    clauses.push({ lastUpdated: { $gte: query.since } });
  }
  if (query.at) {
    // Current from lastUpdated until supersededAt (or now, for the current version).
    clauses.push({ lastUpdated: { $lte: query.at.to } });
    if (superseded) {
      clauses.push({ supersededAt: { $gt: query.at.from } });
    }
  }
  return clauses;
}

function historyAfter(p: Position): Filter<HistoryDoc> {
  const at = new Date(p.t);
  return {
    $or: [
      { lastUpdated: { $lt: at } },
      { lastUpdated: at, type: { $lt: p.type } },
      { lastUpdated: at, type: p.type, id: { $lt: p.id } },
      { lastUpdated: at, type: p.type, id: p.id, vid: { $lt: p.vid } },
    ],
  };
}

function currentAfter(type: string, p: Position): Filter<CurrentDoc> {
  const at = new Date(p.t);
  if (type < p.type) {
    return { lastUpdated: { $lte: at } };
  }
  if (type > p.type) {
    return { lastUpdated: { $lt: at } };
  }
  return {
    $or: [
      { lastUpdated: { $lt: at } },
      { lastUpdated: at, _id: { $lt: p.id } },
      { lastUpdated: at, _id: p.id, vid: { $lt: p.vid } },
    ],
  };
}

function and<T>(clauses: Filter<T>[]): Filter<T> {
  if (clauses.length === 0) {
    return {};
  }
  return clauses.length === 1 ? (clauses[0] as Filter<T>) : ({ $and: clauses } as Filter<T>);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function newestFirst(a: ResourceVersion, b: ResourceVersion): number {
  return (
    b.lastUpdated.getTime() - a.lastUpdated.getTime() ||
    compareText(b.resourceType, a.resourceType) ||
    compareText(b.id, a.id) ||
    b.versionId - a.versionId
  );
}

/** A version may sit both in its type collection and, as an interrupted copy, in history. */
function dedupe(sorted: ResourceVersion[]): ResourceVersion[] {
  return sorted.filter((v, i) => {
    const prev = sorted[i - 1];
    return !prev || prev.resourceType !== v.resourceType || prev.id !== v.id || prev.versionId !== v.versionId;
  });
}

function encodeCursor(v: ResourceVersion): string {
  const position: Position = { t: v.lastUpdated.getTime(), type: v.resourceType, id: v.id, vid: v.versionId };
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodeCursor(cursor: string): Position {
  try {
    const p = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Position>;
    if (typeof p.t === 'number' && typeof p.type === 'string' && typeof p.id === 'string' && typeof p.vid === 'number') {
      return { t: p.t, type: p.type, id: p.id, vid: p.vid };
    }
  } catch {
    // fall through
  }
  throw new FhirError('INVALID_REQUEST', 'The history page cursor is not valid; start again from the first page', {
    expression: ['_cursor'],
  });
}
