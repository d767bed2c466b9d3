// Connects to MongoDB or FerretDB and finds out, once, which of the two it is talking to, so the
// store can choose between features (transactions, wildcard indexes) without probing per request.
import { MongoClient, MongoError, MongoNetworkError, MongoNotConnectedError, MongoServerClosedError, MongoServerError, MongoServerSelectionError, MongoTopologyClosedError, MongoWriteConcernError } from 'mongodb';
import type { Db, Document } from 'mongodb';

export type DatabaseFlavour = {
  kind: 'mongodb' | 'ferretdb';
  /** MongoDB's server version, or FerretDB's own version (e.g. v1.24.2) — not the MongoDB
   *  version FerretDB imitates. */
  version: string;
  /** Multi-document transactions: a MongoDB replica set or sharded cluster with sessions.
   *  Never on FerretDB 1.x, even when it is told to answer as a replica set. */
  transactions: boolean;
  /** `$**` indexes: MongoDB (4.2+; the driver needs 4.4+ anyway), not FerretDB 1.x. */
  wildcardIndexes: boolean;
  /** Every filter can use an index and filtered writes are atomic: MongoDB. FerretDB 1.x answers
   *  only an exact `{_id}` from an index, and reads, filters and then writes by `_id`. */
  indexedFilters: boolean;
};

export type MongoConnection = {
  client: MongoClient;
  db: Db;
  flavour: DatabaseFlavour;
  close(): Promise<void>;
};

export type ConnectMongoOptions = {
  dbName: string;
  /** How long to wait for a reachable server, at connect and later per operation; default 30 s
   *  (SERVER_SELECTION_TIMEOUT_MS), the embedded database 5 s. */
  serverSelectionTimeoutMS?: number;
  /** Emit the driver's command events (tests watch what is sent). */
  monitorCommands?: boolean;
};

/**
 * Durability, the same on both databases (docs/storage.md#durability-and-failover). FerretDB
 * accepts these and ignores them (test/integration/store/durability.test.ts proves each command
 * carries them and is accepted):
 * - every write waits until a majority of the replica set has it in its journal, so no election
 *   can roll back a write that was acknowledged (w:1 can be, and is the default with an arbiter);
 * - wtimeout: a write whose majority is lost fails after 10 s instead of hanging (the write may
 *   still take effect: the store confirms ambiguous failures by reading back, see
 *   store/mongo/confirm.ts);
 * - reads see only majority-committed data, so a read that follows a write (the next request,
 *   a transaction's commit check) never shows a version an election could still roll back.
 * See: https://www.mongodb.com/docs/manual/reference/write-concern/
 */
export const WRITE_CONCERN = { w: 'majority', journal: true, wtimeoutMS: 10_000 } as const;
export const READ_CONCERN = { level: 'majority' } as const;

/**
 * A replica-set election takes up to ~12 s (median, default settings): the driver retries a
 * retryable write or read once, after selecting a server again, and that selection must outlast
 * the election or a routine failover becomes an error.
 * See: https://www.mongodb.com/docs/manual/core/replica-set-elections/
 */
export const SERVER_SELECTION_TIMEOUT_MS = 30_000;
/** The embedded database has no election: its supervisor restarts it within about a second. */
export const EMBEDDED_SERVER_SELECTION_TIMEOUT_MS = 5_000;

export async function connectMongo(uri: string, options: ConnectMongoOptions): Promise<MongoConnection> {
  let client: MongoClient;
  try {
    client = new MongoClient(uri, {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? SERVER_SELECTION_TIMEOUT_MS,
      appName: 'casebridge',
      writeConcern: WRITE_CONCERN,
      readConcern: READ_CONCERN,
      // The driver's defaults, stated: one retry of a single-document write (with the same
      // transaction number, so a write that took effect is not made twice) and of a read.
      retryWrites: true,
      retryReads: true,
      ...(options.monitorCommands ? { monitorCommands: true } : {}),
      // A stray undefined must never become a stored null inside a resource.
      ignoreUndefined: true,
    });
  } catch (error) {
    throw new Error(`Invalid database URI for ${describeHosts(uri)} (${reason(error, uri)}).`, { cause: error });
  }

  try {
    await client.connect();
    const flavour = await detectFlavour(client);
    return {
      client,
      db: client.db(options.dbName),
      flavour,
      close: () => client.close(),
    };
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new Error(`Cannot connect to the database at ${describeHosts(uri)} (${reason(error, uri)}).`, {
      cause: error,
    });
  }
}

async function detectFlavour(client: MongoClient): Promise<DatabaseFlavour> {
  const admin = client.db('admin');
  const [buildInfo, hello] = await Promise.all([admin.command({ buildInfo: 1 }), admin.command({ hello: 1 })]);

  // FerretDB adds ferretdbVersion to buildInfo; its `version` is the MongoDB version it imitates.
  // See: https://github.com/FerretDB/FerretDB/blob/v1.24.2/internal/handler/msg_buildinfo.go
  if (typeof buildInfo.ferretdbVersion === 'string') {
    return { kind: 'ferretdb', version: buildInfo.ferretdbVersion, transactions: false, wildcardIndexes: false, indexedFilters: false };
  }

  return {
    kind: 'mongodb',
    version: typeof buildInfo.version === 'string' ? buildInfo.version : 'unknown',
    transactions: supportsTransactions(hello),
    wildcardIndexes: true,
    indexedFilters: true,
  };
}

/** Transactions need sessions and a replica set (setName) or a mongos (msg: 'isdbgrid').
 *  See: https://www.mongodb.com/docs/manual/reference/command/hello/ */
function supportsTransactions(hello: Document): boolean {
  const sessions = typeof hello.logicalSessionTimeoutMinutes === 'number';
  const replicated = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
  return sessions && replicated;
}

/** The host list of a connection string, without scheme, credentials, database or options. */
export function describeHosts(uri: string): string {
  const { hostsAndRest } = splitUserinfo(uri);
  const hosts = hostsAndRest.split(/[/?]/, 1)[0] ?? '';
  return hosts === '' ? 'an unparseable URI' : hosts;
}

/** Splits at the last '@': a password may hold '/', '?' or ':' when it was not percent-encoded, so
 *  cutting at those first could leak part of it; an '@' in the options only costs accuracy. */
function splitUserinfo(uri: string): { userinfo: string; hostsAndRest: string } {
  const withoutScheme = uri.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const at = withoutScheme.lastIndexOf('@');
  return at === -1
    ? { userinfo: '', hostsAndRest: withoutScheme }
    : { userinfo: withoutScheme.slice(0, at), hostsAndRest: withoutScheme.slice(at + 1) };
}

/** The error's message without a trailing period and with any credentials from the uri removed
 *  (some driver messages quote the connection string). */
function reason(error: unknown, uri: string): string {
  let message = error instanceof Error ? error.message : String(error);
  for (const secret of credentialsIn(uri)) message = message.split(secret).join('***');
  return message.replace(/\.\s*$/, '') || 'unknown error';
}

function credentialsIn(uri: string): string[] {
  const { userinfo } = splitUserinfo(uri);
  const colon = userinfo.indexOf(':');
  const password = colon === -1 ? '' : userinfo.slice(colon + 1);
  const secrets = [userinfo, password];
  try {
    secrets.push(decodeURIComponent(password));
  } catch {
    // malformed escape: the raw form is redacted already
  }
  // Longest first, so the whole userinfo is replaced before its password part.
  return secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

/**
 * What a driver error says about the database rather than the request: `unavailable` when it
 * could not be reached (down, restarting, connection lost, no primary), `storage-full` when it
 * is out of disk space (SQLite's SQLITE_FULL through FerretDB; MongoDB's OutOfDiskSpace and
 * ENOSPC). Looks through causes and AggregateErrors (a transaction whose rollback failed too).
 */
export function databaseFault(err: unknown): 'unavailable' | 'storage-full' | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown): 'unavailable' | 'storage-full' | undefined => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return undefined;
    seen.add(e);
    const message = e instanceof Error ? e.message : '';
    if (STORAGE_FULL.test(message) || (e as { code?: unknown }).code === OUT_OF_DISK_SPACE) return 'storage-full';
    // MongoNetworkError covers a pool cleared by a lost connection (PoolClearedError).
    if (e instanceof MongoNetworkError || e instanceof MongoServerSelectionError || e instanceof MongoNotConnectedError || e instanceof MongoTopologyClosedError || e instanceof MongoServerClosedError) {
      return 'unavailable';
    }
    if (e instanceof MongoServerError && typeof e.code === 'number' && NO_PRIMARY.has(e.code)) return 'unavailable';
    // The primary has the write but a majority did not confirm it within wtimeout: the replica
    // set cannot make writes durable now (the write may still become so: store/mongo/confirm.ts).
    if (e instanceof MongoWriteConcernError && e.code === WRITE_CONCERN_TIMEOUT) return 'unavailable';
    // A bulk write (insertMany) reports a lost connection as its own error, with the socket's message.
    if (e instanceof MongoError && (e.hasErrorLabel('NetworkError') || CONNECTION_LOST.test(message))) return 'unavailable';
    const nested = e instanceof AggregateError ? e.errors : [];
    for (const inner of [...nested, (e as { cause?: unknown }).cause]) {
      const found = visit(inner);
      if (found) return found;
    }
    return undefined;
  };
  return visit(err);
}

const CONNECTION_LOST = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|connection (?:\S+ )?(?:closed|timed out)|socket hang up/i;
const STORAGE_FULL = /database or disk is full|no space left on device|ENOSPC|OutOfDiskSpace|SQLITE_FULL/i;
/** NotWritablePrimary, NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary, InterruptedAtShutdown, ShutdownInProgress, PrimarySteppedDown, HostUnreachable, HostNotFound. */
const NO_PRIMARY = new Set([10107, 13435, 13436, 11600, 91, 189, 6, 7]);
/** WriteConcernTimeout (formerly WriteConcernFailed): wtimeout expired. */
const WRITE_CONCERN_TIMEOUT = 64;
/** MongoDB's OutOfDiskSpace error code. */
const OUT_OF_DISK_SPACE = 14031;
