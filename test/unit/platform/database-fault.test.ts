// Which driver errors are the database's fault (503 / 507) rather than the request's.
import { MongoBulkWriteError, MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { databaseFault } from '../../../src/platform/mongo';

const serverError = (message: string, code?: number) => new MongoServerError({ message, ...(code !== undefined ? { code } : {}) });

test.each<[string, unknown, ReturnType<typeof databaseFault>]>([
  ['a lost connection', new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed'), 'unavailable'],
  ['no server to select', new MongoServerSelectionError('connect ECONNREFUSED 127.0.0.1:1', { type: 'Unknown', servers: new Map(), stale: false, compatible: true, heartbeatFrequencyMS: 1, localThresholdMS: 1, setName: null, maxElectionId: null, maxSetVersion: null, commonWireVersion: 0, logicalSessionTimeoutMinutes: null } as never), 'unavailable'],
  ['a primary that stepped down', serverError('not primary', 10107), 'unavailable'],
  ['SQLite out of space through FerretDB', serverError('[db.go:167 fsql.(*DB).InTransaction] database or disk is full (13)'), 'storage-full'],
  ['MongoDB out of disk space', serverError('OutOfDiskSpace', 14031), 'storage-full'],
  ['a duplicate key', serverError('E11000 duplicate key', 11000), undefined],
  ['a plain error', new Error('boom'), undefined],
  ['a failed transaction whose rollback failed too', new AggregateError([new Error('x'), new MongoNetworkError('connection closed')]), 'unavailable'],
  ['an error caused by one', new Error('audit failed', { cause: serverError('database or disk is full') }), 'storage-full'],
])('%s', (_title, err, expected) => {
  expect(databaseFault(err)).toBe(expected);
});

test('a bulk insert cut off by a refused connection is unavailable', () => {
  const err = new MongoBulkWriteError({ message: 'connect ECONNREFUSED 127.0.0.1:45913', code: 6 } as never, {} as never);
  expect(databaseFault(err)).toBe('unavailable');
});
