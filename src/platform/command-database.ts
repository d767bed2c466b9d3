/**
 * The database a command-line tool works on, as the service would find it: MONGODB_URI, or the
 * embedded FerretDB in DATA_DIR. Two FerretDB processes on one SQLite folder are not safe, so on
 * the embedded database a command refuses, in one sentence, while another process (the running
 * service) serves that folder (see embedded-database-users.ts).
 */
import { startEmbeddedDatabase } from './embedded-database';
import { embeddedDatabaseProcesses } from './embedded-database-users';
import type { Logger } from './logger';
import { EMBEDDED_SERVER_SELECTION_TIMEOUT_MS, type MongoConnection, connectMongo } from './mongo';

export class DatabaseInUse extends Error {
  override name = 'DatabaseInUse';
}

export interface CommandDatabaseOptions {
  readonly mongodbUri: string | undefined;
  readonly databaseName: string;
  readonly dataDir: string;
  readonly ferretdbBinary: string;
  readonly logger: Logger;
  /** How to name the command in a refusal, e.g. "npm run client:register". */
  readonly command: string;
}

export interface CommandDatabase {
  readonly connection: MongoConnection;
  /** True on the embedded database (MONGODB_URI unset). */
  readonly embedded: boolean;
  close(): Promise<void>;
}

export async function openCommandDatabase(options: CommandDatabaseOptions): Promise<CommandDatabase> {
  if (options.mongodbUri !== undefined) {
    const connection = await connectMongo(options.mongodbUri, { dbName: options.databaseName });
    return { connection, embedded: false, close: () => connection.close() };
  }
  const holders = await embeddedDatabaseProcesses(options.dataDir);
  if (holders.length > 0) {
    throw new DatabaseInUse(
      `the embedded database in ${options.dataDir} is in use by process ${holders.join(', ')} (the CaseBridge service?): stop it, run ${options.command}, then start it again (on MongoDB, with MONGODB_URI, commands and the service share the database).`,
    );
  }
  const embedded = await startEmbeddedDatabase({ binaryPath: options.ferretdbBinary, dataDir: options.dataDir, logger: options.logger });
  try {
    const connection = await connectMongo(embedded.uri, { dbName: options.databaseName, serverSelectionTimeoutMS: EMBEDDED_SERVER_SELECTION_TIMEOUT_MS });
    return {
      connection,
      embedded: true,
      async close() {
        await connection.close().catch(() => undefined);
        await embedded.stop();
      },
    };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}
