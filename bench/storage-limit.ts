/**
 * The storage limit: the raw mongodb driver doing the same reads, inserts and (translated)
 * search queries on the same database, with the same concurrency, and no HTTP, validation or
 * serialisation to FHIR. What CaseBridge achieves over it is the share of the database's
 * capacity it delivers.
 */
import type { Db, Document } from 'mongodb';
import { parseSearch } from '../src/search/parse';
import type { SearchParameterRegistry } from '../src/search/registry';
import { storedSortPath, storedTerms, toStoredFilter } from '../src/store/mongo/index-layout';
import { resolveFilter, translateSearch } from '../src/store/mongo/search-filter';
import { type LoadResult, loop } from './harness/load';

export interface StorageLimitOptions {
  readonly db: Db;
  readonly registry: SearchParameterRegistry;
  readonly baseUrl: string;
  readonly concurrency: number;
  readonly durationSeconds: number;
}

export async function readLimit(options: StorageLimitOptions, patientIds: readonly string[]): Promise<LoadResult> {
  const patients = options.db.collection<Document>('Patient');
  return loop({ ...options, operation: (i) => patients.findOne({ _id: patientIds[i % patientIds.length] as never }) });
}

export async function insertLimit(options: StorageLimitOptions): Promise<LoadResult> {
  const sample = await options.db.collection<Document>('Observation').findOne({});
  if (!sample) {
    throw new Error('no Observation to copy for the insert limit');
  }
  const scratch = options.db.collection<Document>('bench_inserts');
  const { _id: _ignored, ...shape } = sample;
  const result = await loop({ ...options, operation: () => scratch.insertOne({ ...shape }) });
  await scratch.drop();
  return result;
}

/**
 * Replacing a stored Goal document by `_id`, as the repository does for an update — on copies in
 * a scratch collection of the same size, so the service's own documents keep their versions.
 */
export async function updateLimit(options: StorageLimitOptions): Promise<LoadResult> {
  const docs = await options.db.collection<Document>('Goal').find({}).toArray();
  if (docs.length === 0) {
    throw new Error('no Goal to update for the update limit');
  }
  const scratch = options.db.collection<Document>('bench_updates');
  await scratch.insertMany(docs);
  try {
    return await loop({
      ...options,
      operation: (i) => {
        const doc = docs[i % docs.length] as Document;
        return scratch.replaceOne({ _id: doc._id }, { ...doc, vid: Number(doc.vid) + 1 + i });
      },
    });
  } finally {
    await scratch.drop();
  }
}

export async function searchLimit(options: StorageLimitOptions, query: { resourceType: string; params: Record<string, string[]> }): Promise<LoadResult> {
  const request = parseSearch(query.resourceType, query.params, options.registry, { strict: false, defaultCount: 20, maxCount: 1000, baseUrl: options.baseUrl });
  const translated = translateSearch(request, options.registry, query.resourceType);
  const collection = options.db.collection<Document>(query.resourceType);
  return loop({
    ...options,
    operation: async () => {
      const filter = await resolveFilter(translated.filter, async (type, subFilter, select) => {
        const term = /^idx\.([^.]+)\.([^.]+)$/.exec(select);
        const docs = await options.db
          .collection<Document>(type)
          .find(toStoredFilter(subFilter), { projection: { [term ? 'idx.k' : select]: 1 } })
          .toArray();
        return docs.flatMap((d) => (term ? storedTerms(d, term[1] as string, term[2] as string) : [String(d._id)]));
      });
      return collection.find(toStoredFilter(filter)).sort(storedSort(translated.sort)).limit(request.count + 1).toArray();
    },
  });
}

/** The translator's sort on logical paths (`idx.<code>.o`) as stored paths. */
function storedSort(sort: Record<string, 1 | -1>): Record<string, 1 | -1> {
  return Object.fromEntries(Object.entries(sort).map(([path, dir]) => [path.replace(/^idx\.([^.]+)\.o$/, (_m, code: string) => storedSortPath(code)), dir]));
}
