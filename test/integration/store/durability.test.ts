// Durability and failover settings (docs/storage.md#durability-and-failover), watched through the
// driver's command monitoring on the real FerretDB: every command the store sends carries the
// majority write concern with journal and timeout, or the majority read concern, in a session;
// lock releases are retryable single-document deletes; and a write whose answer was lost is
// reported made when it was made.
import type { Resource } from '@medplum/fhirtypes';
import type { CommandStartedEvent, Document } from 'mongodb';
import { MongoNetworkError } from 'mongodb';
import { READ_CONCERN, WRITE_CONCERN } from '../../../src/platform/mongo';
import { RATE_LIMIT_COLLECTION, mongoRateLimit } from '../../../src/platform/rate-limit';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import { extractIndex } from '../../../src/search/extract';
import { parseSearch } from '../../../src/search/parse';
import { MongoRepository, type MongoRepositoryOptions } from '../../../src/store/mongo/mongo-repository';
import { recordedTestDatabase } from '../../support/database';

const { database, commands } = recordedTestDatabase();

const registry = buildSearchParameterRegistry({ baseUrl: 'http://casebridge.test/fhir' });
const base = (): MongoRepositoryOptions => ({ db: database().connection.db, registry, indexer: (r) => extractIndex(r, registry), now: () => new Date(), wildcardIndexes: false });
const patient = (id: string, extra: Partial<Resource> = {}) => ({ resourceType: 'Patient', id, active: true, ...extra }) as Resource & { id: string };

const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify']);
const READS = new Set(['find', 'aggregate', 'count', 'distinct']);
const WIRE_WRITE_CONCERN = { w: WRITE_CONCERN.w, j: WRITE_CONCERN.journal, wtimeout: WRITE_CONCERN.wtimeoutMS };

/** The commands sent while `body` ran (monitoring, handshakes and session clean-up left out). */
async function sent(body: () => Promise<unknown>): Promise<CommandStartedEvent[]> {
  commands.length = 0;
  await body();
  return commands.filter((c) => WRITES.has(c.commandName) || READS.has(c.commandName));
}

test('the settings: majority write concern with journal and a 10 s timeout, majority reads', () => {
  expect(WRITE_CONCERN).toEqual({ w: 'majority', journal: true, wtimeoutMS: 10_000 });
  expect(READ_CONCERN).toEqual({ level: 'majority' });
});

test('every write and read of creates, updates, deletes, reads, searches and a transaction carries its concern, in a session, and FerretDB accepts them', async () => {
  const repo = new MongoRepository(base());
  await repo.initialise();
  const seen = await sent(async () => {
    await repo.create(patient('d1'));
    await repo.update(patient('d1', { gender: 'female' }));
    await repo.read('Patient', 'd1');
    await repo.search(parseSearch('Patient', { gender: ['female'], _total: ['accurate'] }, registry, { strict: true, defaultCount: 20, maxCount: 100, baseUrl: 'http://casebridge.test/fhir' }));
    await repo.applyAll([
      { kind: 'create', resource: patient('d2') },
      { kind: 'update', method: 'PUT', resource: patient('d1', { gender: 'male' }) },
    ]);
    await repo.delete('Patient', 'd2');
  });
  expect(seen.filter((c) => WRITES.has(c.commandName)).length).toBeGreaterThan(8);
  expect(seen.filter((c) => READS.has(c.commandName)).length).toBeGreaterThan(4);
  for (const { commandName, command } of seen) {
    const described = `${commandName} ${JSON.stringify(command).slice(0, 200)}`;
    expect({ described, lsid: command.lsid !== undefined }).toEqual({ described, lsid: true });
    // FerretDB is a standalone server: no transaction numbers, no multi-document transactions.
    expect({ described, txn: command.txnNumber ?? command.startTransaction ?? command.autocommit }).toEqual({ described, txn: undefined });
    if (WRITES.has(commandName)) expect({ described, writeConcern: command.writeConcern as unknown }).toEqual({ described, writeConcern: WIRE_WRITE_CONCERN });
    else expect({ described, readConcern: command.readConcern as unknown }).toEqual({ described, readConcern: READ_CONCERN });
  }
});

test('locks are released with retryable single-document deletes (a deleteMany is never retried)', async () => {
  const repo = new MongoRepository(base());
  await repo.create(patient('l1'));
  await repo.create(patient('l2'));
  const seen = await sent(() =>
    repo.applyAll([
      { kind: 'update', method: 'PUT', resource: patient('l1', { gender: 'other' }) },
      { kind: 'update', method: 'PUT', resource: patient('l2', { gender: 'other' }) },
    ]),
  );
  const releases = seen.filter((c) => c.commandName === 'delete' && c.command.delete === 'locks');
  expect(releases.length).toBeGreaterThan(0);
  for (const { command } of releases) {
    for (const statement of command.deletes as Document[]) expect(statement.limit).toBe(1);
  }
  expect(await database().connection.db.collection('locks').countDocuments({})).toBe(0);
});

describe('a write whose answer is lost after it was made is reported made', () => {
  /** Loses the answer of the first `operation` on Patient (the write was made); `lost()` says it did. */
  const lostAnswer = (operation: string) => {
    let armed = true;
    const hook = ({ collection, operation: op }: { collection: string; operation: string }) => {
      if (armed && collection === 'Patient' && op === operation) {
        armed = false;
        throw new MongoNetworkError('connection 7 to 127.0.0.1:27017 closed');
      }
    };
    return Object.assign(hook, { lost: () => !armed });
  };

  test('an update (the compare-and-set)', async () => {
    const afterWrite = lostAnswer('replace');
    const repo = new MongoRepository({ ...base(), afterWrite });
    await repo.create(patient('w1'));
    const result = await repo.update(patient('w1', { gender: 'unknown' }));
    expect(afterWrite.lost()).toBe(true);
    expect(result.version.versionId).toBe(2);
    expect((await repo.read('Patient', 'w1')).resource).toMatchObject({ gender: 'unknown' });
  });

  test('a create', async () => {
    const afterWrite = lostAnswer('insert');
    const repo = new MongoRepository({ ...base(), afterWrite });
    const result = await repo.create(patient('w2'));
    expect(afterWrite.lost()).toBe(true);
    expect(result.version.versionId).toBe(1);
    expect((await repo.read('Patient', 'w2')).versionId).toBe(1);
  });

  test('a write that was not made still fails', async () => {
    const failing = (event: { collection: string; operation: string }) => {
      if (event.collection === 'Patient' && event.operation === 'replace') throw new MongoNetworkError('connection 8 to 127.0.0.1:27017 closed');
    };
    const repo = new MongoRepository({ ...base(), beforeWrite: failing });
    await repo.create(patient('w3'));
    await expect(repo.update(patient('w3', { gender: 'male' }))).rejects.toThrow(MongoNetworkError);
    expect((await repo.read('Patient', 'w3')).versionId).toBe(1);
  });
});

describe('a transaction Bundle on a replica set runs as one MongoDB transaction (transactions: chosen at connect time)', () => {
  test('every command of it carries the session, the transaction number and autocommit:false; the first starts it with snapshot reads; no journal is written', async () => {
    const flavour = database().connection.flavour;
    const repo = new MongoRepository({ ...base(), transactions: true });
    await repo.create(patient('t1'));
    let outcome: unknown;
    const seen = await sent(async () => {
      outcome = await repo
        .applyAll([
          { kind: 'update', method: 'PUT', resource: patient('t1', { gender: 'female' }) },
          { kind: 'create', resource: patient('t2') },
        ])
        .catch((err: unknown) => err);
    });
    const inTransaction = commands.filter((c) => c.command.txnNumber !== undefined && c.command.autocommit === false);
    const data = inTransaction.filter((c) => WRITES.has(c.commandName) || READS.has(c.commandName));
    expect(data.length).toBeGreaterThan(0);
    expect(data[0]?.command.startTransaction).toBe(true);
    expect(data[0]?.command.readConcern).toEqual({ level: 'snapshot' });
    const [first] = data;
    for (const { command } of data) {
      expect(command.lsid).toEqual(first?.command.lsid);
      expect(command.txnNumber).toEqual(first?.command.txnNumber);
      // Inside a transaction the concerns belong to the transaction, not to each command.
      expect(command.writeConcern).toBeUndefined();
    }
    for (const { command } of data.slice(1)) expect(command.startTransaction).toBeUndefined();
    // The journal is for FerretDB: none of it is written.
    expect(seen.filter((c) => ['journal', 'journal_targets'].includes(String(c.command[c.commandName])))).toEqual([]);
    const ended = inTransaction.filter((c) => c.commandName === 'commitTransaction' || c.commandName === 'abortTransaction');
    expect(ended.length).toBeGreaterThan(0);
    for (const { command } of ended) expect(command.writeConcern).toEqual(WIRE_WRITE_CONCERN);
    if (flavour.transactions) {
      expect(outcome).toHaveLength(2);
      expect(ended.map((c) => c.commandName)).toContain('commitTransaction');
      expect((await repo.read('Patient', 't1')).versionId).toBe(2);
    } else {
      // FerretDB 1.x has no transactions: it ignores the fields on some commands and refuses
      // others (`unknown field "autocommit"` on insert), so what it stores of such a "transaction"
      // is arbitrary. That is why the store chooses the journal there, from the flavour at
      // connect time (flavour.transactions is false on FerretDB even as a replica set).
      expect(outcome).toBeInstanceOf(Error);
      expect(flavour.kind).toBe('ferretdb');
    }
    expect(await database().connection.db.collection('locks').countDocuments({})).toBe(0);
  });
});

test('request budgets are the exception: acknowledged by the primary alone (a budget is not a record)', async () => {
  const budget = await mongoRateLimit(database().connection.db, { name: 'durability', points: 5, durationSeconds: 60 });
  commands.length = 0;
  expect(await budget.consume('client-1')).toEqual({ allowed: true });
  await budget.flush();
  const updates = commands.filter((c) => String(c.command[c.commandName]) === RATE_LIMIT_COLLECTION && WRITES.has(c.commandName));
  expect(updates.length).toBeGreaterThan(0);
  for (const { command } of updates) expect(command.writeConcern).toEqual({ w: 1 });
});
