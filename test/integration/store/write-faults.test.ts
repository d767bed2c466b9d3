// Database faults injected through the repository's write hooks at the moments a failover hits:
// a server-selection or network error in the middle of a transaction Bundle, during its
// rollback, and during the release of its locks. Whatever happens: no reader ever sees part of
// the Bundle, recovery finishes in the running process (no restart), and a write that was made
// is never reported failed. (test/integration/rest/bundle.test.ts covers a generic failure at
// each write over HTTP; reliability/crash.test.ts kills the processes; this covers the driver's
// failover errors, a rollback that fails, and a release that fails.)
import type { Resource } from '@medplum/fhirtypes';
import { MongoNetworkError, MongoServerSelectionError } from 'mongodb';
import { databaseFault } from '../../../src/platform/mongo';
import { extractIndex } from '../../../src/search/extract';
import { parseSearch } from '../../../src/search/parse';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import { MongoRepository } from '../../../src/store/mongo/mongo-repository';
import type { PlannedWrite } from '../../../src/store/repository';
import { type TestDatabase, testDatabase } from '../../support/database';

const BASE = 'http://casebridge.test/fhir';
const registry = buildSearchParameterRegistry({ baseUrl: BASE });
let database: TestDatabase;

/** The next faults to inject, by `collection/operation` (`*` for any resource write), each used once. */
const faults: { at: string; error: () => Error; skip: number }[] = [];
const hook = ({ collection, operation }: { collection: string; operation: string }) => {
  const found = faults.findIndex((f) => f.at === `${collection}/${operation}` || (f.at === '*' && !['locks', 'journal', 'history'].includes(collection) && operation !== 'rollback'));
  const fault = faults[found];
  if (!fault) return;
  if (fault.skip > 0) {
    fault.skip--;
    return;
  }
  faults.splice(found, 1);
  throw fault.error();
};

const noServer = () =>
  new MongoServerSelectionError('Server selection timed out after 30000 ms', {
    type: 'ReplicaSetNoPrimary',
    servers: new Map(),
    stale: false,
    compatible: true,
    heartbeatFrequencyMS: 10_000,
    localThresholdMS: 15,
    setName: 'rs0',
    maxElectionId: null,
    maxSetVersion: null,
    commonWireVersion: 0,
    logicalSessionTimeoutMinutes: 30,
  } as never);
const lostConnection = () => new MongoNetworkError('connection 5 to 10.0.0.2:27017 closed');

let repo: MongoRepository;
beforeAll(async () => {
  database = await testDatabase();
  repo = new MongoRepository({ db: database.connection.db, registry, indexer: (r) => extractIndex(r, registry), now: () => new Date(), wildcardIndexes: false, beforeWrite: hook });
  await repo.initialise();
});
afterAll(async () => {
  await database.drop();
});
afterEach(() => {
  faults.length = 0;
});

const patient = (id: string, family: string) => ({ resourceType: 'Patient', id, name: [{ family }] }) as Resource & { id: string };
const note = (id: string, patientId: string, text: string) =>
  ({ resourceType: 'Communication', id, status: 'completed', subject: { reference: `Patient/${patientId}` }, payload: [{ contentString: text }] }) as Resource & { id: string };

/** Seeds a patient with two notes and returns a Bundle that rewrites all three, creates one and deletes one. */
async function scenario(key: string): Promise<PlannedWrite[]> {
  await repo.create(patient(`${key}-p`, 'Before'));
  await repo.create(note(`${key}-n1`, `${key}-p`, 'before'));
  await repo.create(note(`${key}-n2`, `${key}-p`, 'before'));
  return [
    { kind: 'update', method: 'PUT', resource: patient(`${key}-p`, 'After') },
    { kind: 'update', method: 'PUT', resource: note(`${key}-n1`, `${key}-p`, 'after') },
    { kind: 'create', resource: note(`${key}-n3`, `${key}-p`, 'after') },
    { kind: 'delete', resourceType: 'Communication', id: `${key}-n2` },
  ];
}

/** What a reader sees of the scenario: the family, and each note's text (or absent). */
async function seen(key: string): Promise<Record<string, string>> {
  const found = await repo.search(parseSearch('Communication', { subject: [`Patient/${key}-p`] }, registry, { strict: true, defaultCount: 20, maxCount: 100, baseUrl: BASE }));
  const notes = Object.fromEntries(
    found.matches.filter((m) => m.id.startsWith(`${key}-`)).map((m) => [m.id, ((m.resource as { payload?: { contentString?: string }[] }).payload?.[0]?.contentString ?? '') as string]),
  );
  const family = ((await repo.read('Patient', `${key}-p`)).resource as { name?: { family?: string }[] }).name?.[0]?.family ?? '';
  return { family, ...notes };
}

const before = (key: string) => ({ family: 'Before', [`${key}-n1`]: 'before', [`${key}-n2`]: 'before' });
const after = (key: string) => ({ family: 'After', [`${key}-n1`]: 'after', [`${key}-n3`]: 'after' });

async function leftovers(): Promise<{ journal: number; locks: number }> {
  const db = database.connection.db;
  return { journal: await db.collection('journal').countDocuments({ state: { $in: ['applying', 'rolling-back'] } }), locks: await db.collection('locks').countDocuments({}) };
}

test('a server-selection error in the middle of a Bundle: 503-class failure, rolled back at once, nothing of it visible', async () => {
  const writes = await scenario('ss');
  faults.push({ at: '*', error: noServer, skip: 1 });
  const failure = await repo.applyAll(writes).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(databaseFault(failure)).toBe('unavailable');
  expect(faults).toEqual([]);
  expect(await seen('ss')).toEqual(before('ss'));
  expect(await leftovers()).toEqual({ journal: 0, locks: 0 });
  // Nothing holds the resources: the next write goes through at once.
  await repo.update(patient('ss-p', 'Later'));
});

test('a network error mid-Bundle and again during its rollback: nothing visible meanwhile, and the running process finishes the rollback', async () => {
  const writes = await scenario('rb');
  faults.push({ at: '*', error: lostConnection, skip: 2 }, { at: 'Patient/rollback', error: lostConnection, skip: 0 });
  const failure = await repo.applyAll(writes).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(databaseFault(failure)).toBe('unavailable');
  expect(faults).toEqual([]);
  // The transaction is still open (its rollback did not finish): readers show the versions before it.
  expect((await leftovers()).journal).toBe(1);
  expect(await seen('rb')).toEqual(before('rb'));
  // The database answers again: the sweep of this very process rolls it back (no restart, no lease wait).
  const stop = repo.startRecoverySweep(50, () => undefined);
  try {
    // Finished means restored, ended and unlocked: the locks are freed after the journal ends.
    const finished = async () => {
      const left = await leftovers();
      return left.journal === 0 && left.locks === 0;
    };
    for (let i = 0; i < 200 && !(await finished()); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  } finally {
    stop();
  }
  expect(await leftovers()).toEqual({ journal: 0, locks: 0 });
  expect(await seen('rb')).toEqual(before('rb'));
  const patientNow = await repo.read('Patient', 'rb-p');
  expect(patientNow.versionId).toBe(1);
  await repo.update(patient('rb-p', 'Later'));
});

test('a network error while the locks are released: the committed Bundle is reported committed, and the locks are freed in the background', async () => {
  const writes = await scenario('lr');
  faults.push({ at: 'locks/release', error: lostConnection, skip: 0 });
  const results = await repo.applyAll(writes);
  expect(faults).toEqual([]);
  expect(results.map((r) => r.version.versionId)).toEqual([2, 2, 1, 2]);
  expect(await seen('lr')).toEqual(after('lr'));
  // The retried release frees them within about a second; a writer waiting for one gets it.
  const later = await repo.update(patient('lr-p', 'Later'));
  expect(later.version.versionId).toBe(3);
  expect(await leftovers()).toEqual({ journal: 0, locks: 0 });
});

test('a network error while a single write releases its lock: the write is reported made', async () => {
  await repo.create(patient('sw-p', 'Before'));
  faults.push({ at: 'locks/release', error: noServer, skip: 0 });
  const result = await repo.update(patient('sw-p', 'After'));
  expect(faults).toEqual([]);
  expect(result.version.versionId).toBe(2);
  expect(((await repo.read('Patient', 'sw-p')).resource as { name: { family: string }[] }).name[0]?.family).toBe('After');
});

test('a concurrent reader never sees part of a Bundle that fails mid-way', async () => {
  const writes = await scenario('cr');
  const observed: Record<string, string>[] = [];
  let running = true;
  const reader = (async () => {
    while (running) observed.push(await seen('cr'));
  })();
  // Slow the Bundle down so the reader reads while it is half-applied.
  faults.push({ at: '*', error: lostConnection, skip: 3 });
  const slow = async (w: { collection: string; operation: string }) => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    hook(w);
  };
  const slowed = new MongoRepository({ db: database.connection.db, registry, indexer: (r) => extractIndex(r, registry), now: () => new Date(), wildcardIndexes: false, beforeWrite: slow });
  await slowed.applyAll(writes).catch(() => undefined);
  running = false;
  await reader;
  expect(observed.length).toBeGreaterThan(2);
  for (const state of observed) expect(state).toEqual(before('cr'));
});
