// The single-resource write is a compare-and-set on the version it read (store/mongo/
// compare-and-set.ts): a writer that stalled past its lock's expiry cannot overwrite the version
// another writer made meanwhile (a lost update, a duplicate versionId).
import type { Resource } from '@medplum/fhirtypes';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import { compareAndSet } from '../../../src/store/mongo/compare-and-set';
import type { CurrentDoc } from '../../../src/store/mongo/documents';
import { MongoRepository } from '../../../src/store/mongo/mongo-repository';
import { type TestDatabase, testDatabase } from '../../support/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => {
  await database.drop();
});

const indexer = () => ({});
const registry = buildSearchParameterRegistry({ baseUrl: 'http://casebridge.test/fhir' });
const patient = (active: boolean) => ({ resourceType: 'Patient', id: 'contested', active }) as Resource & { id: string };

test('a writer whose lock expired while it stalled gets 409, and the newer version stands', async () => {
  let now = new Date('2025-04-01T10:00:00Z');
  const db = database.connection.db;
  const base = { db, indexer, registry, now: () => now, wildcardIndexes: false } as const;
  const other = new MongoRepository(base);
  await other.initialise();
  await other.create(patient(true));

  // The stalled writer: its replace waits until released.
  let release: () => void = () => undefined;
  let stalled = false;
  const stalling = new MongoRepository({
    ...base,
    beforeWrite: ({ operation }) => {
      if (operation !== 'replace') return undefined;
      stalled = true;
      return new Promise<void>((resolve) => (release = resolve));
    },
  });
  const late = stalling.update(patient(false)).then(
    () => 'written',
    (err: { status?: number }) => err.status,
  );
  for (let i = 0; i < 200 && !stalled; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(stalled).toBe(true);

  // Its lock expires; another writer takes it and makes version 2.
  now = new Date(now.getTime() + 10 * 60_000);
  const second = await other.update({ ...patient(true), gender: 'female' } as Resource & { id: string });
  expect(second.version.versionId).toBe(2);

  release();
  expect(await late).toBe(409);
  const current = await other.read('Patient', 'contested');
  expect(current.versionId).toBe(2);
  expect(current.resource).toMatchObject({ active: true, gender: 'female' });
});

test.each([
  ['MongoDB form: one filtered replace', true],
  ['FerretDB form: check by _id, then replace by _id', false],
])('compareAndSet (%s) replaces only the expected version', async (_title, atomicFilters) => {
  const collection = database.connection.db.collection<CurrentDoc>(`Cas${atomicFilters ? 'A' : 'B'}`);
  const doc = (vid: number): CurrentDoc => ({ _id: 'x', vid, lastUpdated: new Date(), method: 'PUT', json: `{"v":${vid}}` });
  await collection.insertOne(doc(1));
  const swap = compareAndSet(atomicFilters);
  expect(await swap(collection, { id: 'x', vid: 1 }, doc(2))).toBe(true);
  expect(await swap(collection, { id: 'x', vid: 1 }, doc(3))).toBe(false);
  expect(await swap(collection, { id: 'missing', vid: 1 }, doc(3))).toBe(false);
  expect((await collection.findOne({ _id: 'x' }))?.vid).toBe(2);
});
