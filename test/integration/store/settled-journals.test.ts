// A process learns once that a transaction committed, or that its journal is gone: later reads of
// what it wrote do not look its journal up again (every resource a transaction Bundle created
// keeps its tag). Transactions still open are looked up each time.
import type { Resource } from '@medplum/fhirtypes';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import { MongoRepository } from '../../../src/store/mongo/mongo-repository';
import { recordedTestDatabase } from '../../support/database';

const { database, commands } = recordedTestDatabase();

const registry = buildSearchParameterRegistry({ baseUrl: 'http://casebridge.test/fhir' });
const patient = (id: string, active = true) => ({ resourceType: 'Patient', id, active }) as Resource & { id: string };
const journalReads = () => commands.filter((c) => (c.commandName === 'find' || c.commandName === 'findAndModify') && c.command[c.commandName] === 'journal').length;

test('a committed transaction is looked up once; one in flight every time', async () => {
  let now = new Date('2025-03-01T10:00:00Z');
  const repo = new MongoRepository({ db: database().connection.db, indexer: () => ({}), registry, now: () => now, wildcardIndexes: false });
  await repo.initialise();
  await repo.applyAll([
    { kind: 'create', resource: patient('tx-a') },
    { kind: 'create', resource: patient('tx-b') },
  ]);

  const before = journalReads();
  expect((await repo.read('Patient', 'tx-a')).resource).toMatchObject({ id: 'tx-a' });
  expect(journalReads()).toBe(before + 1);
  // the same transaction again, by another read and by a search: no lookup
  expect((await repo.read('Patient', 'tx-b')).resource).toMatchObject({ id: 'tx-b' });
  await repo.read('Patient', 'tx-a');
  expect(journalReads()).toBe(before + 1);

  // its journal forgotten after the retention: still shown, still no lookup
  now = new Date(now.getTime() + 10 * 60_000);
  await repo.initialise(); // recovery at start-up also forgets ended journals past the retention
  expect(await database().connection.db.collection('journal').countDocuments()).toBe(0);
  const afterRecovery = journalReads(); // recovery lists open journals
  await repo.read('Patient', 'tx-a');
  expect(journalReads()).toBe(afterRecovery);

  // a fresh process never saw it: one lookup finds the journal gone, then none
  const other = new MongoRepository({ db: database().connection.db, indexer: () => ({}), registry, now: () => now, wildcardIndexes: false });
  await other.initialise();
  const beforeOther = journalReads();
  expect((await other.read('Patient', 'tx-a')).resource).toMatchObject({ id: 'tx-a' });
  expect((await other.read('Patient', 'tx-b')).resource).toMatchObject({ id: 'tx-b' });
  expect(journalReads()).toBe(beforeOther + 1);

  // a writer meeting the tag needs no lookup either
  const beforeUpdate = journalReads();
  await other.update(patient('tx-a', false));
  expect(journalReads()).toBe(beforeUpdate);
});

test('a transaction still open is hidden, and looked up again until it commits', async () => {
  const now = new Date('2025-03-01T10:00:00Z');
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let hold = true;
  const writer = new MongoRepository({
    db: database().connection.db,
    indexer: () => ({}),
    registry,
    now: () => now,
    wildcardIndexes: false,
    // the Patient is written (tagged, its transaction open); the Observation's insert waits
    beforeWrite: ({ collection }) => (hold && collection === 'Observation' ? held : undefined),
  });
  const reader = new MongoRepository({ db: database().connection.db, indexer: () => ({}), registry, now: () => now, wildcardIndexes: false });
  await writer.initialise();
  const done = writer.applyAll([
    { kind: 'create', resource: patient('open-a') },
    { kind: 'create', resource: { resourceType: 'Observation', id: 'open-o', status: 'final', code: { text: 'x' } } as Resource & { id: string } },
  ]);
  await waitFor(async () => (await database().connection.db.collection('Patient').countDocuments({ _id: 'open-a' } as never)) === 1);

  const before = journalReads();
  await expect(reader.read('Patient', 'open-a')).rejects.toMatchObject({ status: 404 });
  await expect(reader.read('Patient', 'open-a')).rejects.toMatchObject({ status: 404 });
  expect(journalReads()).toBe(before + 2);

  hold = false;
  release();
  await done;
  expect((await reader.read('Patient', 'open-a')).resource).toMatchObject({ id: 'open-a' });
  await reader.read('Patient', 'open-a');
  expect(journalReads()).toBe(before + 3);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
