/**
 * The one step that makes a new version of a resource current: a compare-and-set on its version
 * (`vid`), so that a writer can never replace a version it did not read — not even one whose lock
 * expired while it stalled. Written once for both databases:
 * - MongoDB: `replaceOne({_id, vid})`, atomic on one document and served by the `_id` index;
 * - FerretDB 1.x: no filtered write is atomic there (it reads, filters in Go, then writes by
 *   `_id`), and only an exact `{_id}` filter is answered from an index (any other scans the whole
 *   collection). The writer holds the resource's lock (locks.ts, the atomic part); the version is
 *   checked by `_id` right before the replace, and the replace is by `_id`.
 */
import type { ClientSession, Collection } from 'mongodb';
import type { CurrentDoc } from './documents';

export interface CompareAndSet {
  /** Replaces `id`'s current document with `next` if its version is still `expected`; false otherwise. */
  (collection: Collection<CurrentDoc>, expected: { id: string; vid: number }, next: CurrentDoc, session?: ClientSession): Promise<boolean>;
}

export function compareAndSet(atomicFilters: boolean): CompareAndSet {
  if (atomicFilters) {
    return async (collection, expected, next, session) => (await collection.replaceOne({ _id: expected.id, vid: expected.vid }, next, session ? { session } : {})).matchedCount === 1;
  }
  return async (collection, expected, next, session) => {
    const current = await collection.findOne({ _id: expected.id }, { projection: { vid: 1 }, ...(session ? { session } : {}) });
    if (current?.vid !== expected.vid) return false;
    return (await collection.replaceOne({ _id: expected.id }, next, session ? { session } : {})).matchedCount === 1;
  };
}
