import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startEmbeddedDatabase } from '../../../src/platform/embedded-database';
import { connectMongo } from '../../../src/platform/mongo';
import { ferretdbBinaryPath, testDatabase } from '../../support/database';

const logger = pino({ level: 'silent' });

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A stand-in binary: a shell script, to exercise the failure paths without FerretDB. */
async function fakeBinary(dir: string, script: string): Promise<string> {
  const file = path.join(dir, 'fake-ferretdb');
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
  return file;
}

describe('startEmbeddedDatabase', () => {
  let tempDir: string;

  beforeEach(async () => {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-embedded-'));
  });

  afterEach(async () => {
    await rm(tempDir, { recursive: true, force: true });
  });

  test('starts FerretDB on a new folder, stores and reads a document, and leaves no process after stop()', async () => {
    const dataDir = path.join(tempDir, 'data'); // does not exist yet
    const database = await startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir, logger });
    try {
      expect(database.uri).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\/$/);
      expect(processExists(database.pid)).toBe(true);

      const connection = await connectMongo(database.uri, { dbName: 'embedded_check' });
      try {
        expect(connection.flavour).toEqual({
          kind: 'ferretdb',
          version: 'v1.24.2',
          transactions: false,
          wildcardIndexes: false,
          indexedFilters: false,
        });
        const patients = connection.db.collection<{ _id: string; name: string }>('patients');
        await patients.insertOne({ _id: 'p1', name: 'Ada' });
        await expect(patients.findOne({ _id: 'p1' })).resolves.toEqual({ _id: 'p1', name: 'Ada' });
      } finally {
        await connection.close();
      }
      expect(await readdir(dataDir)).toContain('embedded_check.sqlite');
    } finally {
      await database.stop();
    }

    expect(processExists(database.pid)).toBe(false);
    await expect(database.stop()).resolves.toBeUndefined();
  });

  test('refuses a second database on a folder in use, and takes over the lock of a process that is gone', async () => {
    const dataDir = path.join(tempDir, 'shared');
    const first = await startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir, logger });
    try {
      await expect(startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir, logger })).rejects.toThrow(
        `The embedded database in ${dataDir} is in use by process ${process.pid}`,
      );
    } finally {
      await first.stop();
    }
    // A lock left by a process that no longer exists (a crash) does not block the next start.
    await writeFile(path.join(dataDir, 'casebridge.lock'), JSON.stringify({ pid: 2 ** 22 + 12345 }));
    const second = await startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir, logger });
    await second.stop();
    expect(await readdir(dataDir)).not.toContain('casebridge.lock');
  });

  test.each<[string, { synchronous?: 'full' | 'normal' }, string]>([
    ['durable (synchronous=full) by default', {}, 'synchronous(full)'],
    ['relaxed (synchronous=normal) when asked', { synchronous: 'normal' }, 'synchronous(normal)'],
  ])('opens SQLite %s', async (_title, options, pragma) => {
    const argsFile = path.join(tempDir, 'arguments');
    const binaryPath = await fakeBinary(tempDir, `echo "$@" > '${argsFile}'\necho '{"uri":"mongodb://127.0.0.1:1/"}'\ncat > /dev/null`);
    const database = await startEmbeddedDatabase({ binaryPath, dataDir: path.join(tempDir, 'data'), logger, ...options });
    await database.stop();
    const args = await readFile(argsFile, 'utf8');
    expect(args).toContain(`?_pragma=${pragma}`);
    // The log is checkpointed every 20,000 pages (fewer copies of the pages every commit rewrites).
    expect(args).toContain('&_pragma=wal_autocheckpoint(20000)');
  });

  test('rejects with one sentence naming the fix when the binary is missing', async () => {
    const binaryPath = path.join(tempDir, 'no-such-ferretdb');

    await expect(startEmbeddedDatabase({ binaryPath, dataDir: path.join(tempDir, 'data'), logger })).rejects.toThrow(
      `Embedded database binary not found at ${binaryPath}: run \`npm run install:ferretdb\` (needs Go ≥ 1.24) or set MONGODB_URI.`,
    );
  });

  test('rejects with the exit code and the last stderr lines when the process exits before it is ready', async () => {
    const binaryPath = await fakeBinary(tempDir, 'echo "first line" >&2\necho "ferretdb: cannot open data" >&2\nexit 3');

    await expect(startEmbeddedDatabase({ binaryPath, dataDir: tempDir, logger })).rejects.toThrow(
      `Embedded database at ${binaryPath} exited with code 3 before it was ready (last output: first line | ferretdb: cannot open data).`,
    );
  });

  test('rejects and kills the process when no ready line comes within startTimeoutMs', async () => {
    const pidFile = path.join(tempDir, 'pid');
    const binaryPath = await fakeBinary(tempDir, `echo $$ > "${pidFile}"\necho "still starting" >&2\nexec sleep 60`);

    await expect(startEmbeddedDatabase({ binaryPath, dataDir: tempDir, logger, startTimeoutMs: 300 })).rejects.toThrow(
      /^Embedded database at .* was not ready within 300 ms \(last output: still starting\)\.$/,
    );
    expect(processExists(Number((await readFile(pidFile, 'utf8')).trim()))).toBe(false);
  });
});

describe('connectMongo', () => {
  test('rejects with one sentence naming the host and not the password when no server answers', async () => {
    const failure = connectMongo('mongodb://alice:s3cr%2Fet@127.0.0.1:1/casebridge', {
      dbName: 'casebridge',
      serverSelectionTimeoutMS: 200,
    });

    const error = await failure.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^Cannot connect to the database at 127\.0\.0\.1:1 \(.+\)\.$/);
    expect(error?.message).not.toMatch(/alice|s3cr/);
  });
});

describe('testDatabase', () => {
  test('connects to the run-wide database server with a database of its own', async () => {
    const database = await testDatabase();
    try {
      expect(database.dbName).toMatch(/^[a-z0-9_]{1,63}$/);
      expect(database.connection.db.databaseName).toBe(database.dbName);
      const items = database.connection.db.collection('items');
      await items.insertOne({ value: 42 });
      await expect(items.countDocuments()).resolves.toBe(1);
    } finally {
      await database.drop();
    }
  });
});
