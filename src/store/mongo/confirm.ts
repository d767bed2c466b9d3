/**
 * What a write did when its answer was lost. A network error or a failover between the write
 * and its answer leaves it unknown whether the write was made (on a replica set the driver
 * retries a single-document write once, with the same transaction number, which settles most of
 * these; FerretDB and a second failure do not). Reporting such a write as failed would be wrong
 * when it was made: the client would retry a create and make a duplicate, or believe an update
 * lost. So the repository reads the document back by `_id` (an indexed lookup on both databases)
 * and reports the write made when the stored document is exactly the one it wrote: same version,
 * same instant, same JSON. Only when that read fails too is the error reported (503: the message
 * says the write may have been made).
 */
import type { Collection } from 'mongodb';
import type { CurrentDoc } from './documents';

/** Whether `written` is the current document now. */
async function isCurrent(collection: Collection<CurrentDoc>, written: CurrentDoc): Promise<boolean> {
  const stored = await collection.findOne({ _id: written._id }, { projection: { vid: 1, lastUpdated: 1, json: 1, deleted: 1, tx: 1 } });
  return (
    stored !== null &&
    stored.vid === written.vid &&
    stored.lastUpdated.getTime() === written.lastUpdated.getTime() &&
    stored.json === written.json &&
    stored.deleted === written.deleted &&
    stored.tx === written.tx
  );
}

/** The compare-and-set's answer (true) when the replacement is stored; undefined when unknown or not made. */
export async function confirmReplaced(collection: Collection<CurrentDoc>, written: CurrentDoc): Promise<true | undefined> {
  return (await isCurrent(collection, written)) ? true : undefined;
}

/** True when every inserted document is stored as written; undefined when unknown or not made. */
export async function confirmInserted(collection: Collection<CurrentDoc>, written: readonly CurrentDoc[]): Promise<true | undefined> {
  for (const doc of written) {
    if (!(await isCurrent(collection, doc))) return undefined;
  }
  return true;
}
