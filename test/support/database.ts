// Per-file database harness: test/support/global-setup.ts starts one server for the whole run;
// every test file gets its own uniquely named database on it, so files can run in parallel.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { CommandStartedEvent } from 'mongodb';
import { connectMongo } from '../../src/platform/mongo';
import type { MongoConnection } from '../../src/platform/mongo';
import { RATE_LIMIT_COLLECTION } from '../../src/platform/rate-limit';
import { RECORD_COLLECTIONS } from '../../src/store/records';

export const projectRoot = path.resolve(__dirname, '../..');
export const ferretdbBinaryPath = path.join(projectRoot, '.cache', 'bin', 'ferretdb');
export const installFerretdbScript = path.join(projectRoot, 'scripts', 'install-ferretdb.sh');

/** Set by global-setup.ts in jest's parent process; workers inherit it. */
export const TEST_URI_VARIABLE = 'CASEBRIDGE_TEST_MONGODB_URI';

export type TestDatabase = {
  uri: string;
  dbName: string;
  connection: MongoConnection;
  /** Drops the database and closes the connection: call it once, in afterAll. */
  drop(): Promise<void>;
};

/**
 * A database for one test file whose commands are recorded, for tests that check what reaches
 * the database: opened before the file's tests and dropped after them (jest hooks).
 */
export function recordedTestDatabase(): { readonly database: () => TestDatabase; readonly commands: CommandStartedEvent[] } {
  const commands: CommandStartedEvent[] = [];
  let opened: TestDatabase | undefined;
  beforeAll(async () => {
    opened = await testDatabase({ monitorCommands: true });
    opened.connection.client.on('commandStarted', (event) => commands.push(event));
  });
  afterAll(async () => {
    await opened?.drop();
  });
  const database = (): TestDatabase => {
    if (!opened) throw new Error('recordedTestDatabase: used outside the tests of its file');
    return opened;
  };
  return { database, commands };
}

/** `options.uri`: another server than the run-wide one (a test that kills its own database). */
export async function testDatabase(options: { uri?: string; serverSelectionTimeoutMS?: number; monitorCommands?: boolean } = {}): Promise<TestDatabase> {
  const uri = options.uri ?? process.env[TEST_URI_VARIABLE];
  if (uri === undefined || uri === '') {
    throw new Error(
      `${TEST_URI_VARIABLE} is not set: run the tests through jest, whose globalSetup (test/support/global-setup.ts) starts the database.`,
    );
  }
  const dbName = uniqueDatabaseName();
  const connection = await connectMongo(uri, {
    dbName,
    ...(options.serverSelectionTimeoutMS !== undefined ? { serverSelectionTimeoutMS: options.serverSelectionTimeoutMS } : {}),
    ...(options.monitorCommands ? { monitorCommands: true } : {}),
  });
  return {
    uri,
    dbName,
    connection,
    async drop() {
      try {
        await connection.db.dropDatabase();
      } finally {
        await connection.close();
      }
    },
  };
}

/** t_<test file name>_<random>: at most 63 characters of [a-z0-9_], valid on MongoDB and
 *  FerretDB alike, and a leftover database still says which file made it. */
function uniqueDatabaseName(): string {
  const suffix = randomBytes(6).toString('hex');
  const slug = path
    .basename(currentTestPath() ?? 'unknown', '.test.ts')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);
  return `t_${slug}_${suffix}`;
}

function currentTestPath(): string | undefined {
  // expect is a jest global in test files; absent when this module is imported elsewhere.
  return typeof expect === 'undefined' ? undefined : expect.getState().testPath;
}

/**
 * Every document of every collection, by collection, in `_id` order: a test that expects "no
 * trace" expects this not to change. An empty collection (made by index creation) holds no data
 * and is left out, and so are the authorization server's records (store/records), the request
 * budgets (platform/rate-limit) and the audit log (AuditEvent): every request the harness sends
 * counts against its client's budget and is recorded in the audit log, refused ones included
 * (docs/security.md#audit), and its token requests write records, whatever the test does — so
 * "no trace" means no trace in the data.
 */
export async function databaseContents(db: MongoConnection['db']): Promise<Record<string, unknown[]>> {
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  const result: Record<string, unknown[]> = {};
  const operational = new Set([...RECORD_COLLECTIONS, RATE_LIMIT_COLLECTION, 'AuditEvent']);
  for (const name of collections.map((c) => c.name).filter((n) => !operational.has(n)).sort()) {
    // Ended transactions' bookkeeping (journal.ts keeps it a few minutes for readers) is no trace of them.
    if (name === 'journal_clock') continue;
    const filter = name === 'journal' ? { state: { $in: ['applying', 'rolling-back'] } } : {};
    const docs = await db.collection(name).find(filter).sort({ _id: 1 }).toArray();
    if (docs.length > 0) result[name] = docs;
  }
  return result;
}
