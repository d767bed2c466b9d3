/**
 * The shape of stored documents (see docs/storage.md) and conversions to the port's types.
 * Internal fields live beside the resource, never inside it.
 *
 * The resource is stored as its JSON text (`json`), not as a nested document: no query ever
 * looks inside it (searches use `idx`), and a string costs one field to encode and decode where
 * the nested form costs hundreds — on FerretDB, which decodes every document it scans, that
 * was a fifth of each document's cost; in Node, BSON-serialising nested resources was a large
 * share of write CPU. JSON.parse/stringify are much cheaper than both.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { ResourceVersion, WriteMethod } from '../repository';
import type { StoredIndex } from './index-layout';
import { parseFhirJson, stringifyFhirJson } from '../../fhir/json-text';

/** Extracted search values in their stored layout (index-layout.ts, docs/storage.md). */
export type SearchIndexDoc = StoredIndex;

/** Current version of one resource, in the collection named after its type. */
export interface CurrentDoc {
  _id: string;
  vid: number;
  lastUpdated: Date;
  method: WriteMethod;
  /** The resource's JSON text; absent for a delete marker. */
  json?: string;
  idx?: SearchIndexDoc;
  deleted?: true;
  /** Transaction Bundle that wrote this version, while its journal may still be open. */
  tx?: string;
  /** The organisation the resource was created for (`Organization/<id>`), kept by every later version. */
  owner?: string;
}

/** A superseded version (or delete marker) in the shared `history` collection. */
export interface HistoryDoc {
  _id: string;
  type: string;
  id: string;
  vid: number;
  lastUpdated: Date;
  method: WriteMethod;
  /** The resource's JSON text; absent for a delete marker. */
  json?: string;
  deleted?: true;
  /** When the next version replaced this one: the end of its validity (for _at). */
  supersededAt: Date;
  /** Transaction Bundle that made this copy (so its rollback can remove it). */
  tx?: string;
  /** The current document's own `tx` when it was copied, restored with it on a rollback. */
  versionTx?: string;
  owner?: string;
}

export function historyKey(resourceType: string, id: string, versionId: number): string {
  return `${resourceType}/${id}/${versionId}`;
}

/** `parsed`, when the caller holds the resource already, saves parsing `doc.json` again. */
export function currentToVersion(resourceType: string, doc: CurrentDoc, parsed?: Resource): ResourceVersion {
  return {
    resourceType,
    id: doc._id,
    versionId: doc.vid,
    lastUpdated: doc.lastUpdated,
    method: doc.method,
    ...(doc.json !== undefined && !doc.deleted ? { resource: parsed ?? parseStored(doc.json) } : {}),
  };
}

export function historyToVersion(doc: HistoryDoc): ResourceVersion {
  return {
    resourceType: doc.type,
    id: doc.id,
    versionId: doc.vid,
    lastUpdated: doc.lastUpdated,
    method: doc.method,
    ...(doc.json !== undefined && !doc.deleted ? { resource: parseStored(doc.json) } : {}),
  };
}

/** The stored text of a resource (decimals as the client wrote them). */
export function storedJson(resource: Resource): string {
  return stringifyFhirJson(resource);
}

export function parseStored(json: string): Resource {
  return parseFhirJson(json) as Resource;
}

/** The history copy of a current version, made just before it is superseded. */
export function toHistoryDoc(resourceType: string, doc: CurrentDoc, supersededAt: Date, tx?: string): HistoryDoc {
  return {
    _id: historyKey(resourceType, doc._id, doc.vid),
    type: resourceType,
    id: doc._id,
    vid: doc.vid,
    lastUpdated: doc.lastUpdated,
    method: doc.method,
    ...(doc.deleted ? { deleted: true as const } : { json: doc.json }),
    supersededAt,
    ...(tx ? { tx } : {}),
    ...(doc.tx ? { versionTx: doc.tx } : {}),
    ...(doc.owner ? { owner: doc.owner } : {}),
  };
}

/**
 * What one reader may see of the current documents it read: a version written by a transaction
 * that had not committed when the read began is replaced by the version before it, or dropped
 * when there is none (journal.ts ReadView). Begun before the documents are read.
 */
export interface DocumentView {
  /** One entry per item, in order: the document to show, or undefined to show nothing. */
  settle(items: readonly { readonly type: string; readonly doc: CurrentDoc }[]): Promise<(CurrentDoc | undefined)[]>;
  /**
   * The tags whose versions this reader may not see, as listed now (for counts, which cannot
   * replace a version by the one before: they leave those documents out). Grows as transactions begin.
   */
  hiddenTags(): Promise<string[]>;
}

/** A view for readers that need none (every version is shown as stored). */
export const ALL_VERSIONS: DocumentView = { settle: async (items) => items.map((i) => i.doc), hiddenTags: async () => [] };
