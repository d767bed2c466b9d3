// A process that dies in the middle of a transaction leaves a journal; the next process to start
// rolls it back, so the database shows no trace of the half-applied transaction.
import { spawnSync } from 'node:child_process';
import type { Resource } from '@medplum/fhirtypes';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import { MongoRepository } from '../../../src/store/mongo/mongo-repository';
import { type TestDatabase, databaseContents, testDatabase } from '../../support/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => {
  await database.drop();
});

const indexer = () => ({});
const registry = buildSearchParameterRegistry({ baseUrl: 'http://casebridge.test/fhir' });

const contents = () => databaseContents(database.connection.db);

test('a transaction interrupted mid-apply is invisible to readers, and rolled back by the next process once its lease expires', async () => {
  let now = new Date('2025-03-01T10:00:00Z');
  const first = new MongoRepository({ db: database.connection.db, indexer, registry, now: () => now, wildcardIndexes: false, lockWaitMs: 100 });
  await first.initialise();
  const existing = (await first.create({ resourceType: 'Patient', id: 'kept', active: true } as Resource & { id: string })).version;
  expect(existing.versionId).toBe(1);
  const before = await contents();

  // The "crashing" process: its third write (the update's replace, after one insert of both
  // creates and the history copy) never completes, as if the process died there.
  let writes = 0;
  const crashing = new MongoRepository({
    db: database.connection.db,
    indexer,
    registry,
    now: () => now,
    wildcardIndexes: false,
    beforeWrite: ({ collection }) => (collection !== 'journal' && ++writes === 3 ? new Promise<void>(() => undefined) : undefined),
  });
  void crashing.applyAll([
    { kind: 'create', resource: { resourceType: 'Patient', id: 'new-1', active: true } as Resource & { id: string } },
    { kind: 'create', resource: { resourceType: 'Patient', id: 'new-2', active: true } as Resource & { id: string } },
    { kind: 'update', method: 'PUT', resource: { resourceType: 'Patient', id: 'kept', active: false } as Resource & { id: string } },
  ]);
  await waitFor(() => writes === 3);
  const halfApplied = await contents();
  expect(halfApplied.Patient).toHaveLength(3);

  // Readers see none of it: the creates are absent, the update's resource is at its old version.
  await expect(first.read('Patient', 'new-1')).rejects.toMatchObject({ status: 404 });
  await expect(first.vread('Patient', 'kept', 2)).rejects.toMatchObject({ status: 404 });
  expect((await first.read('Patient', 'kept')).resource).toMatchObject({ active: true, meta: { versionId: '1' } });
  const history = await first.history({ level: 'type', resourceType: 'Patient' }, { count: 10 });
  expect(history.versions.map((v) => `${v.id}/${v.versionId}`)).toEqual(['kept/1']);

  // Before the lease expires the transaction still holds its resources: a writer gets 409.
  await expect(first.update({ resourceType: 'Patient', id: 'new-1', active: false } as Resource & { id: string })).rejects.toMatchObject({
    status: 409,
  });

  // The next process starts after the lease: recovery undoes everything.
  now = new Date(now.getTime() + 10 * 60_000);
  const next = new MongoRepository({ db: database.connection.db, indexer, registry, now: () => now, wildcardIndexes: false });
  await next.initialise();
  expect(await contents()).toEqual(before);
  // The journal stays as a tombstone while a reader may still hold a version it restored...
  const journal = database.connection.db.collection('journal');
  expect(await journal.find({}).toArray()).toEqual([expect.objectContaining({ state: 'rolled-back', endedAt: now })]);
  // ...and is forgotten once no reader can be that old.
  now = new Date(now.getTime() + 6 * 60_000);
  await next.initialise();
  expect(await journal.countDocuments({})).toBe(0);
  const kept = await next.read('Patient', 'kept');
  expect(kept.versionId).toBe(1);
  expect(kept.resource).toMatchObject({ active: true });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(condition()).toBe(true);
}

test('a transaction of a process that died on this host is rolled back at start-up at once, and its locks freed', async () => {
  const now = () => new Date('2025-03-02T10:00:00Z');
  const db = database.connection.db;
  const first = new MongoRepository({ db, indexer, registry, now, wildcardIndexes: false, lockWaitMs: 100 });
  await first.initialise();
  await first.create({ resourceType: 'Patient', id: 'held', active: true } as Resource & { id: string });
  const before = await contents();

  let writes = 0;
  const crashing = new MongoRepository({
    db,
    indexer,
    registry,
    now,
    wildcardIndexes: false,
    beforeWrite: ({ collection }) => (collection !== 'journal' && ++writes === 3 ? new Promise<void>(() => undefined) : undefined),
  });
  void crashing.applyAll([
    { kind: 'create', resource: { resourceType: 'Patient', id: 'gone-1', active: true } as Resource & { id: string } },
    { kind: 'update', method: 'PUT', resource: { resourceType: 'Patient', id: 'held', active: false } as Resource & { id: string } },
  ]);
  await waitFor(() => writes === 3);
  // Make its journal and locks those of a process that has exited (same host, pid no longer running).
  const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid as number;
  await db.collection('journal').updateMany({}, { $set: { pid: dead, instance: 'exited' } });
  await db.collection('locks').updateMany({}, { $set: { pid: dead, instance: 'exited' } });

  // The lease has not run out (same clock): a restarted process still recovers it before serving.
  const next = new MongoRepository({ db, indexer, registry, now, wildcardIndexes: false, lockWaitMs: 100 });
  await next.initialise();
  expect(await contents()).toEqual(before);
  expect(await db.collection('journal').find({}).toArray()).toEqual([expect.objectContaining({ state: 'rolled-back' })]);
  const updated = await next.update({ resourceType: 'Patient', id: 'held', active: false } as Resource & { id: string });
  expect(updated.version.versionId).toBe(2);
});
