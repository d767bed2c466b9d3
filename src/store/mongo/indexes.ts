import type { Collection, Document, IndexDescription } from 'mongodb';

/**
 * Creates the indexes a collection lacks (by name). Asking FerretDB 1.24 to create a compound
 * index that already exists makes it panic and drop the connection (seen with the history
 * indexes on the second start), so existing ones are never re-requested.
 */
export async function ensureIndexes<T extends Document>(
  collection: Collection<T>,
  wanted: readonly (IndexDescription & { name: string })[],
  /** Names of indexes no longer wanted: dropped where they exist. */
  retired: readonly string[] = [],
): Promise<void> {
  let existing: Set<string>;
  try {
    existing = new Set((await collection.listIndexes().toArray()).map((i) => String(i.name)));
  } catch {
    // The collection does not exist yet: it has no indexes.
    existing = new Set();
  }
  for (const name of retired) {
    if (existing.has(name)) await collection.dropIndex(name);
  }
  const missing = wanted.filter((index) => !existing.has(index.name));
  if (missing.length > 0) {
    await collection.createIndexes([...missing]);
  }
}
