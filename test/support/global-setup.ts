// Jest globalSetup (runs once, in jest's parent process, before any test file): provides the
// database server for the whole run through CASEBRIDGE_TEST_MONGODB_URI, which workers inherit.
//   MONGODB_URI_TEST set → use that server (e.g. a real MongoDB replica set).
//   otherwise            → build FerretDB if needed and start one on a fresh temporary folder.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startEmbeddedDatabase } from '../../src/platform/embedded-database';
import type { EmbeddedDatabase } from '../../src/platform/embedded-database';
import { ferretdbBinaryPath, installFerretdbScript, projectRoot, TEST_URI_VARIABLE } from './database';

/** What globalTeardown needs; jest runs both in one process and documents globalThis for this. */
export type StartedTestDatabase = { database: EmbeddedDatabase; dataDir: string };
export const STARTED_DATABASE_KEY = '__casebridgeTestDatabase';

export default async function globalSetup(): Promise<void> {
  const external = process.env.MONGODB_URI_TEST;
  if (external !== undefined && external !== '') {
    process.env[TEST_URI_VARIABLE] = external;
    return;
  }

  buildBinary(); // the script returns at once when the binary is up to date

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-test-'));
  try {
    const database = await startEmbeddedDatabase({
      binaryPath: ferretdbBinaryPath,
      dataDir,
      logger: pino({ name: 'test-database', level: 'warn' }, pino.destination(2)),
    });
    (globalThis as Record<string, unknown>)[STARTED_DATABASE_KEY] = { database, dataDir } satisfies StartedTestDatabase;
    process.env[TEST_URI_VARIABLE] = database.uri;
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

function buildBinary(): void {
  try {
    execFileSync('bash', [installFerretdbScript], { cwd: projectRoot, stdio: 'inherit' });
  } catch (error) {
    throw new Error(
      'Building the embedded database failed (see the output above); fix that, or set MONGODB_URI_TEST to run the tests against an existing MongoDB.',
      { cause: error },
    );
  }
}
