// A write whose majority did not confirm it within wtimeout is the database's fault (503, and the
// store reads it back before reporting it failed), not the request's.
import { MongoWriteConcernError } from 'mongodb';
import { databaseFault } from '../../../src/platform/mongo';

const writeConcernError = (code: number, codeName: string) =>
  new MongoWriteConcernError({ ok: 1, n: 1, writeConcernError: { code, codeName, errmsg: 'waiting for replication timed out', errInfo: { wtimeout: true } } } as never);

test('a write concern timeout (wtimeout) is unavailability', () => {
  expect(databaseFault(writeConcernError(64, 'WriteConcernTimeout'))).toBe('unavailable');
});

test('another write concern error (an unknown replica-set tag) is not', () => {
  expect(databaseFault(writeConcernError(79, 'UnknownReplWriteConcern'))).toBeUndefined();
});
