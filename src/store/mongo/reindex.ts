/**
 * Reindexing: when the set of search parameters (or the extraction rules) changes, every
 * current resource's `idx` is recomputed. The registry's fingerprint is stored beside the data,
 * so a start-up can tell whether the stored index was built with the same parameters.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Collection, Db } from 'mongodb';
import { resourceCollections } from './collections';
import { type CurrentDoc, parseStored } from './documents';
import type { StoredIndex } from './index-layout';

interface SettingDoc {
  _id: string;
  value: string;
  updatedAt: Date;
}

const FINGERPRINT_KEY = 'search-index-fingerprint';

export interface ReindexProgress {
  readonly resourceType: string;
  readonly done: number;
  readonly total: number;
}

export interface ReindexOptions {
  readonly db: Db;
  /** The stored search index of a resource. */
  /** The stored index of a resource; `owner`: the organisation the document records as its owner. */
  readonly indexer: (resource: Resource, owner: string | undefined) => StoredIndex;
  /** Runs a write under the resource's lock, so a concurrent writer is never overwritten. */
  readonly underLock: <T>(resourceType: string, id: string, body: () => Promise<T>) => Promise<T>;
  readonly onProgress?: (progress: ReindexProgress) => void;
  /** Progress is reported every this many resources (and at the end of each type). */
  readonly reportEvery?: number;
}

function settings(db: Db): Collection<SettingDoc> {
  return db.collection<SettingDoc>('settings');
}

/** The fingerprint the stored index was built with; undefined for a database never indexed. */
export async function storedFingerprint(db: Db): Promise<string | undefined> {
  return (await settings(db).findOne({ _id: FINGERPRINT_KEY }))?.value;
}

export async function recordFingerprint(db: Db, fingerprint: string, now: Date): Promise<void> {
  await settings(db).replaceOne({ _id: FINGERPRINT_KEY }, { value: fingerprint, updatedAt: now }, { upsert: true });
}

/** True when the database holds at least one resource. */
export async function holdsResources(db: Db): Promise<boolean> {
  for (const name of await resourceCollections(db)) {
    if ((await db.collection(name).countDocuments({}, { limit: 1 })) > 0) {
      return true;
    }
  }
  return false;
}

/** Recomputes `idx` for every current resource; returns how many were reindexed. */
export async function reindexAll(options: ReindexOptions): Promise<number> {
  const every = options.reportEvery ?? 500;
  let count = 0;
  for (const resourceType of await resourceCollections(options.db)) {
    const collection = options.db.collection<CurrentDoc>(resourceType);
    const total = await collection.countDocuments({ idx: { $exists: true } });
    let done = 0;
    // Ids first: the cursor must not see documents move under it while they are rewritten.
    const ids = (await collection.find({ idx: { $exists: true } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
    for (const id of ids) {
      await options.underLock(resourceType, id, async () => {
        const doc = await collection.findOne({ _id: id });
        if (doc?.json !== undefined && !doc.deleted) {
          await collection.updateOne({ _id: id }, { $set: { idx: options.indexer(parseStored(doc.json), typeof doc.owner === 'string' ? doc.owner : undefined) } });
        }
      });
      done++;
      if (done % every === 0) {
        options.onProgress?.({ resourceType, done, total });
      }
    }
    if (total > 0) {
      options.onProgress?.({ resourceType, done, total });
    }
    count += done;
  }
  return count;
}
