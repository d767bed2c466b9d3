/**
 * The shape of stored documents (see docs/storage.md) and conversions to the port's types.
 * Internal fields live beside the resource, never inside it.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { ResourceVersion, WriteMethod } from '../repository';

/** Extracted search values by parameter code (docs/storage.md, "Search index"). */
export type SearchIndexDoc = Record<string, Record<string, unknown>>;

/** Current version of one resource, in the collection named after its type. */
export interface CurrentDoc {
  _id: string;
  vid: number;
  lastUpdated: Date;
  method: WriteMethod;
  resource?: Resource;
  idx?: SearchIndexDoc;
  deleted?: true;
  /** Transaction Bundle that wrote this version, while its journal may still be open. */
  tx?: string;
}

/** A superseded version (or delete marker) in the shared `history` collection. */
export interface HistoryDoc {
  _id: string;
  type: string;
  id: string;
  vid: number;
  lastUpdated: Date;
  method: WriteMethod;
  resource?: Resource;
  deleted?: true;
  /** When the next version replaced this one: the end of its validity (for _at). */
  supersededAt: Date;
  /** Transaction Bundle that made this copy (so its rollback can remove it). */
  tx?: string;
}

export function historyKey(resourceType: string, id: string, versionId: number): string {
  return `${resourceType}/${id}/${versionId}`;
}

export function currentToVersion(resourceType: string, doc: CurrentDoc): ResourceVersion {
  return {
    resourceType,
    id: doc._id,
    versionId: doc.vid,
    lastUpdated: doc.lastUpdated,
    method: doc.method,
    ...(doc.resource && !doc.deleted ? { resource: doc.resource } : {}),
  };
}

export function historyToVersion(doc: HistoryDoc): ResourceVersion {
  return {
    resourceType: doc.type,
    id: doc.id,
    versionId: doc.vid,
    lastUpdated: doc.lastUpdated,
    method: doc.method,
    ...(doc.resource && !doc.deleted ? { resource: doc.resource } : {}),
  };
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
    ...(doc.deleted ? { deleted: true as const } : { resource: doc.resource }),
    supersededAt,
    ...(tx ? { tx } : {}),
  };
}
