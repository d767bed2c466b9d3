/**
 * The storage limit: the raw mongodb driver doing the same reads, inserts and (translated)
 * search queries on the same database, with the same concurrency, and no HTTP, validation or
 * serialisation to FHIR. What CaseBridge achieves over it is the share of the database's
 * capacity it delivers.
 */
import type { Db, Document } from 'mongodb';
import { parseSearch } from '../src/search/parse';
import type { SearchParameterRegistry } from '../src/search/registry';
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

export async function searchLimit(options: StorageLimitOptions, query: { resourceType: string; params: Record<string, string[]> }): Promise<LoadResult> {
  const request = parseSearch(query.resourceType, query.params, options.registry, { strict: false, defaultCount: 20, maxCount: 1000, baseUrl: options.baseUrl });
  const translated = translateSearch(request, options.registry, query.resourceType);
  const collection = options.db.collection<Document>(query.resourceType);
  return loop({
    ...options,
    operation: async () => {
      const filter = await resolveFilter(translated.filter, async (type, subFilter, select) => {
        const docs = await options.db.collection<Document>(type).find(subFilter, { projection: { [select]: 1 } }).toArray();
        return docs.flatMap((d) => {
          const value = select.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], d);
          return Array.isArray(value) ? (value as string[]) : [String(value)];
        });
      });
      return collection.find(filter).sort(translated.sort).limit(request.count + 1).toArray();
    },
  });
}
