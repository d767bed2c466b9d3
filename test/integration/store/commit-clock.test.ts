// The commit clock (store/mongo/commit-clock.ts) orders commits across processes with inserts of
// unique ids only, the one atomic conditional write FerretDB 1.x has.
import { CommitClock } from '../../../src/store/mongo/commit-clock';
import { type TestDatabase, testDatabase } from '../../support/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => {
  await database.drop();
});

test('numbers taken at once by several processes are distinct, and each is above every number read before it was taken', async () => {
  const db = database.connection.db;
  await db.collection('journal_clock').deleteMany({});
  const now = () => new Date();
  const processes = [new CommitClock(db, now), new CommitClock(db, now), new CommitClock(db, now)];
  const taken: number[] = [];
  await Promise.all(
    processes.map(async (clock) => {
      for (let i = 0; i < 15; i++) {
        const before = await clock.latest();
        const n = await clock.take();
        expect(n).toBeGreaterThan(before);
        // Taken means readable: a reader that starts now reads at least this number.
        expect(await processes[0]?.latest()).toBeGreaterThanOrEqual(n);
        taken.push(n);
      }
    }),
  );
  expect(new Set(taken).size).toBe(45);
  expect(Math.max(...taken)).toBe(45);
});

test('old numbers are forgotten but the highest is kept, and a process that missed many numbers takes one above them', async () => {
  const db = database.connection.db;
  await db.collection('journal_clock').deleteMany({});
  let now = new Date('2025-05-01T10:00:00Z');
  const busy = new CommitClock(db, () => now);
  const idle = new CommitClock(db, () => now);
  expect(await idle.take()).toBe(1);
  for (let i = 0; i < 20; i++) await busy.take();
  now = new Date(now.getTime() + 10 * 60_000);
  await busy.forget(new Date(now.getTime() - 5 * 60_000));
  expect(await db.collection('journal_clock').countDocuments({})).toBe(1);
  expect(await busy.latest()).toBe(21);
  // The idle process last read the clock long ago: it reads it again rather than take 2.
  expect(await idle.take()).toBe(22);
});
