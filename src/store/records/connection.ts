/**
 * CaseBridge's own operational records (registered clients, used client assertions, the server's
 * signing keys; later export jobs and delivery outboxes) are typed mongoose models, while FHIR
 * resources stay on the plain driver (store/mongo). Both use the same MongoClient, so there is
 * one pool, one driver copy (package.json pins `mongodb` to the version mongoose depends on), and
 * one database. See ../shared/design/STACK-NOTES.md §7 and FERRETDB.md.
 *
 * Rules every model here follows: `_id: String` (our own keys), `versionKey: false`,
 * `bufferCommands: false` (fail now rather than wait for a connection), `autoIndex` and
 * `autoCreate` off (initialise() creates the indexes), and no TTL index — FerretDB has none, so
 * expired records are removed by a sweep that works on both databases.
 */
import mongoose, { type Connection } from 'mongoose';
import type { MongoConnection } from '../../platform/mongo';

/** A mongoose connection over `connection`'s MongoClient and database. */
export function recordsConnection(connection: MongoConnection): Connection {
  // setClient takes the client's default database; useDb points it at ours (same client, no new pool).
  return mongoose.createConnection().setClient(connection.client).useDb(connection.db.databaseName, { useCache: true });
}

/** Schema options shared by every record model. */
export const RECORD_SCHEMA_OPTIONS = {
  versionKey: false,
  bufferCommands: false,
  autoIndex: false,
  autoCreate: false,
  id: false,
  strict: 'throw',
  timestamps: false,
} as const;

/** Duplicate key: how a unique `_id` refuses a second insert (MongoDB and FerretDB alike). */
export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
