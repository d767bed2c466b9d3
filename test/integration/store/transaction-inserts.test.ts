// A transaction Bundle's creates go to the database as one insert per type, all at once. When one
// of them fails, the others (still in flight) must have settled before the rollback runs, so that
// nothing of the transaction remains.
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
const now = () => new Date();
const resource = (resourceType: string, id: string) => ({ resourceType, id, status: 'final' }) as unknown as Resource & { id: string };

test('one type failing to insert leaves none of the types inserted beside it, even those that finish after the failure', async () => {
  const setup = new MongoRepository({ db: database.connection.db, indexer, registry, now, wildcardIndexes: false });
  await setup.initialise();
  await setup.create({ resourceType: 'Patient', id: 'taken', active: true } as Resource & { id: string });
  const before = await databaseContents(database.connection.db);

  // The Observation and Encounter inserts are held back until the Patient insert has failed.
  let patientInsertEnded!: () => void;
  const patientEnded = new Promise<void>((resolve) => (patientInsertEnded = resolve));
  const started: string[] = [];
  const repository = new MongoRepository({
    db: database.connection.db,
    indexer,
    registry,
    now,
    wildcardIndexes: false,
    beforeWrite: ({ collection, operation }) => {
      if (operation !== 'insert') return undefined;
      started.push(collection);
      return collection === 'Observation' || collection === 'Encounter' ? patientEnded.then(() => new Promise((r) => setTimeout(r, 50))) : undefined;
    },
  });
  const applying = repository.applyAll([
    { kind: 'create', resource: resource('Observation', 'obs-1') },
    { kind: 'create', resource: { resourceType: 'Patient', id: 'taken', active: false } as Resource & { id: string } },
    { kind: 'create', resource: resource('Encounter', 'enc-1') },
  ]);
  const outcome = applying.then(
    () => undefined,
    (err: unknown) => err,
  );
  // The Patient insert fails on its duplicate id while the other two wait.
  await waitFor(() => started.includes('Patient') && started.includes('Observation') && started.includes('Encounter'));
  await new Promise((r) => setTimeout(r, 50));
  patientInsertEnded();
  expect(await outcome).toMatchObject({ status: 409 });
  // Time for an insert still in flight to land, had the failure been reported without waiting for it.
  await new Promise((r) => setTimeout(r, 300));
  expect(await databaseContents(database.connection.db)).toEqual(before);
  await expect(setup.read('Observation', 'obs-1')).rejects.toMatchObject({ status: 404 });
  await expect(setup.read('Encounter', 'enc-1')).rejects.toMatchObject({ status: 404 });
  expect((await setup.read('Patient', 'taken')).resource).toMatchObject({ active: true });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!condition()) throw new Error('condition not met in time');
}
