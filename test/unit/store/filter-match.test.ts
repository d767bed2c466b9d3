// The evaluator that re-checks a version shown in place of a transaction's (store/mongo/filter-match.ts).
import { matchesFilter } from '../../../src/store/mongo/filter-match';

const doc = {
  _id: 'p1',
  owner: 'Organization/a',
  lastUpdated: new Date('2025-01-02T00:00:00Z'),
  idx: { k: ['family:', 'family:s:before', 'gender:c:female'], r: { 'birthdate~lo': ['1990-01-01', '2000-01-01'] }, o: { family: 'before' } },
};

test.each<[string, Record<string, unknown>, boolean]>([
  ['a term', { 'idx.k': 'family:s:before' }, true],
  ['another term', { 'idx.k': 'family:s:after' }, false],
  ['$in', { 'idx.k': { $in: ['x', 'gender:c:female'] } }, true],
  ['$nin', { 'idx.k': { $nin: ['gender:c:female'] } }, false],
  ['$ne', { 'idx.k': { $ne: 'gender:c:male' } }, true],
  ['anchored prefix', { 'idx.k': { $regex: '^family:s:bef' } }, true],
  ['$exists on a missing path', { 'idx.r.date~lo': { $exists: false } }, true],
  ['range on any element (uncorrelated)', { 'idx.r.birthdate~lo': { $gte: '1995-01-01', $lt: '1995-06-01' } }, true],
  ['$elemMatch ties the bounds to one element', { 'idx.r.birthdate~lo': { $elemMatch: { $gte: '1995-01-01', $lt: '1995-06-01' } } }, false],
  ['$elemMatch that one element satisfies', { 'idx.r.birthdate~lo': { $elemMatch: { $gte: '1999-01-01', $lt: '2001-01-01' } } }, true],
  ['strings never compare with numbers', { 'idx.r.birthdate~lo': { $gt: 5 } }, false],
  ['dates compare as dates', { lastUpdated: { $gt: new Date('2025-01-01T00:00:00Z') } }, true],
  ['$and/$or/$nor', { $and: [{ owner: 'Organization/a' }, { $or: [{ _id: 'x' }, { _id: 'p1' }] }, { $nor: [{ 'idx.k': 'gender:c:male' }] }] }, true],
  ['$not', { 'idx.k': { $not: { $regex: '^gender:c:f' } } }, false],
  ['sort key keyset', { 'idx.o.family': { $gt: 'a' } }, true],
])('%s', (_name, filter, expected) => {
  expect(matchesFilter(filter, doc)).toBe(expected);
});

test('an operator it does not know is refused rather than guessed', () => {
  expect(() => matchesFilter({ 'idx.k': { $size: 3 } }, doc)).toThrow(/\$size/);
  expect(() => matchesFilter({ $where: 'true' }, doc)).toThrow(/\$where/);
});
