// A transaction's lease is renewed while it runs (journal.ts keepAlive). On FerretDB 1.x a
// filtered update reads the document, then writes it whole by `_id`: a renewal that read the
// journal just before the commit wrote it must not write the old state back over the commit.
import { Locks } from '../../../src/store/mongo/locks';
import { TransactionJournal } from '../../../src/store/mongo/journal';
import { type TestDatabase, testDatabase } from '../../support/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => {
  await database.drop();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('renewing the leases of running transactions never undoes a commit', async () => {
  const db = database.connection.db;
  const now = () => new Date();
  const locks = new Locks(db, now);
  // A short lease: renewals every 100 ms, while transactions commit all the time.
  const journal = new TransactionJournal(db, { now, locks, leaseMs: 150, rollbackEntry: async () => undefined });
  await journal.initialise();
  let committed = 0;
  await Promise.all(
    Array.from({ length: 8 }, async (_, worker) => {
      for (let i = 0; i < 40; i++) {
        await journal.run({ targets: [], locked: [{ type: 'Patient', id: `p-${worker}-${i}` }] }, async () => pause(5 + ((worker * 7 + i * 13) % 40)));
        committed++;
      }
    }),
  );
  expect(committed).toBe(320);
  const states = await db.collection('journal').aggregate<{ _id: string; n: number }>([{ $group: { _id: '$state', n: { $sum: 1 } } }]).toArray();
  expect(states).toEqual([{ _id: 'committed', n: 320 }]);
}, 60_000);

test('a transaction that outlives its first lease is renewed, not rolled back by another sweep', async () => {
  const db = database.connection.db;
  const now = () => new Date();
  const locks = new Locks(db, now);
  const options = { now, locks, leaseMs: 150, rollbackEntry: async () => undefined };
  const writer = new TransactionJournal(db, options);
  // Another instance's sweep: it does not know the transaction runs, only its lease.
  const sweeper = new TransactionJournal(db, options);
  let sweeping = true;
  let recovered = 0;
  const sweeps = (async () => {
    while (sweeping) {
      recovered += await sweeper.recoverAbandoned();
      await pause(20);
    }
  })();
  await writer.run({ targets: [], locked: [{ type: 'Patient', id: 'long' }] }, async (txId) => {
    await pause(700);
    expect(await db.collection('journal').findOne({ _id: txId as never })).toMatchObject({ state: 'applying' });
  });
  sweeping = false;
  await sweeps;
  expect(recovered).toBe(0);
  // Released: no lock, and no lease still running (a renewal that crossed a release may leave a
  // lapsing one behind, which the sweep forgets).
  expect(await db.collection('lock_leases').countDocuments({ until: { $gt: new Date() } })).toBe(0);
  expect(await db.collection('locks').countDocuments({})).toBe(0);
}, 30_000);

test('a lock past its own expiry stays held while its owner renews, and is free once released', async () => {
  const db = database.connection.db;
  const now = () => new Date();
  const locks = new Locks(db, now);
  const held = await locks.acquire(['resource:Patient/renewed'], { ttlMs: 50, waitMs: 0 });
  await locks.renew(held.owner, 5_000);
  await pause(100);
  expect(await locks.tryAcquire('resource:Patient/renewed', 50)).toBeUndefined();
  await held.release();
  expect(await db.collection('lock_leases').countDocuments({ _id: held.owner as never })).toBe(0);
  // A renewal that comes after the release (a heartbeat already on its way) holds nothing.
  await locks.renew(held.owner, 5_000);
  expect(await db.collection('lock_leases').countDocuments({ _id: held.owner as never })).toBe(0);
  const next = await locks.tryAcquire('resource:Patient/renewed', 50);
  expect(next).toBeDefined();
  await next?.release();
});
