// Request budgets are shared by the instances on one database (platform/rate-limit.ts): each
// counts locally and adds its counts to the window's document every interval.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startEmbeddedDatabase } from '../../../src/platform/embedded-database';
import { mongoRateLimit } from '../../../src/platform/rate-limit';
import { type TestDatabase, ferretdbBinaryPath, testDatabase } from '../../support/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => {
  await database.drop();
});

test("two instances share a key's budget once their counts are exchanged; another key is untouched", async () => {
  const now = () => Date.parse('2025-06-01T10:00:10Z');
  const options = { name: 'shared', points: 10, durationSeconds: 60, now };
  const [a, b] = [await mongoRateLimit(database.connection.db, options), await mongoRateLimit(database.connection.db, options)];
  for (let i = 0; i < 6; i++) expect(await a.consume('client')).toEqual({ allowed: true });
  await a.flush();
  // B counts one, and learns of A's six when it adds it.
  expect(await b.consume('client')).toEqual({ allowed: true });
  await b.flush();
  const allowed: boolean[] = [];
  for (let i = 0; i < 5; i++) allowed.push((await b.consume('client')).allowed);
  expect(allowed).toEqual([true, true, true, false, false]);
  expect(await b.consume('client')).toEqual({ allowed: false, retryAfterSeconds: 50 });
  expect(await b.consume('other')).toEqual({ allowed: true });
  await b.flush();
  const stored = await database.connection.db.collection('rate_limits').findOne({ _id: `shared:client:${Date.parse('2025-06-01T10:00:00Z')}` as never });
  expect(stored).toMatchObject({ points: 10 });
});

test('a new window starts a new budget', async () => {
  let at = Date.parse('2025-06-01T11:00:59Z');
  const limit = await mongoRateLimit(database.connection.db, { name: 'window', points: 2, durationSeconds: 60, now: () => at });
  expect((await limit.consume('k')).allowed).toBe(true);
  expect((await limit.consume('k')).allowed).toBe(true);
  expect(await limit.consume('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
  at += 2_000;
  expect((await limit.consume('k')).allowed).toBe(true);
});

test('while the database is gone, requests are still counted and refused past the budget; the counts are added when it is back', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-budgets-'));
  let own = await startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir: dir, logger: pino({ level: 'silent' }) });
  const port = Number(new URL(own.uri).port);
  const db = await testDatabase({ uri: own.uri, serverSelectionTimeoutMS: 500 });
  try {
    const errors: unknown[] = [];
    const window = Date.parse('2025-06-01T12:00:00Z');
    const limit = await mongoRateLimit(db.connection.db, { name: 'down', points: 3, durationSeconds: 60, onError: (err) => errors.push(err), now: () => window });
    process.kill(own.pid, 'SIGKILL');
    await own.stop().catch(() => undefined);
    expect((await limit.consume('k')).allowed).toBe(true);
    await limit.flush();
    expect(errors.length).toBeGreaterThan(0);
    expect((await limit.consume('k')).allowed).toBe(true);
    expect((await limit.consume('k')).allowed).toBe(true);
    expect((await limit.consume('k')).allowed).toBe(false);
    own = await startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir: dir, logger: pino({ level: 'silent' }), port });
    // Flush until all three are in: a flush begun while the database was coming back may have
    // added only some of them (points only grow, so more than three still fails below).
    const stored = () => db.connection.db.collection('rate_limits').findOne({ _id: `down:k:${window}` as never }).catch(() => null);
    for (let i = 0; i < 40 && (await stored())?.points !== 3; i++) await limit.flush();
    expect(await stored()).toMatchObject({ points: 3 });
  } finally {
    await db.drop().catch(() => undefined);
    await own.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('close() shares what was counted and stops the interval: nothing is written, or fails, once the connection has closed', async () => {
  // Its own connection, closed as the service's is on shutdown.
  const own = await testDatabase({ uri: database.uri });
  const errors: unknown[] = [];
  const window = Date.parse('2025-06-01T13:00:00Z');
  const limit = await mongoRateLimit(own.connection.db, { name: 'closing', points: 10, durationSeconds: 60, onError: (err) => errors.push(err), now: () => window });
  // Read through the file's connection, which stays open.
  const ownDb = database.connection.client.db(own.dbName);
  const stored = () => ownDb.collection('rate_limits').findOne({ _id: `closing:k:${window}` as never });
  try {
    // Counted, and a flush scheduled for the next interval (100 ms).
    expect((await limit.consume('k')).allowed).toBe(true);
    expect((await limit.consume('k')).allowed).toBe(true);
    await limit.close();
    expect(await stored()).toMatchObject({ points: 2 });
    // Still counted here, never sent: the connection is gone.
    expect((await limit.consume('k')).allowed).toBe(true);
    await own.connection.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(errors).toEqual([]);
    expect(await stored()).toMatchObject({ points: 2 });
  } finally {
    await ownDb.dropDatabase();
  }
});
