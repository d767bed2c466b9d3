import type { Db } from 'mongodb';

/** Collections of CaseBridge's own bookkeeping; every other collection holds one resource type. */
export const INTERNAL_COLLECTIONS: ReadonlySet<string> = new Set(['history', 'journal', 'journal_targets', 'journal_clock', 'locks', 'settings']);

/** The resource-type collections that exist, sorted. */
export async function resourceCollections(db: Db): Promise<string[]> {
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  return collections
    .map((c) => c.name)
    .filter((name) => !INTERNAL_COLLECTIONS.has(name) && /^[A-Z][A-Za-z]+$/.test(name))
    .sort();
}
