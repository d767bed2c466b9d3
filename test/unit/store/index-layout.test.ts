import { storedSortPath, storedTerms, toStoredFilter, toStoredIndex } from '../../../src/store/mongo/index-layout';

describe('stored layout of the search index', () => {
  const logical = {
    code: { c: ['44261-6'], t: ['http://loinc.org|44261-6'], o: '44261-6' },
    date: { lo: ['2025-01-01T10:00:00.000Z'], hi: ['2025-01-01T10:00:00.999Z'], b: ['Y2025', 'M2025-01'], o: '2025-01-01T10:00:00.000Z' },
    subject: { r: ['Patient/1'], o: 'Patient/1' },
    'value-quantity': { v: [7], b: ['0:7'], uAbCdEfGhIj: [7] },
  };

  test('terms go to idx.k with a presence term per parameter; ranges to idx.r; sort keys to idx.o', () => {
    expect(toStoredIndex(logical)).toEqual({
      k: [
        'code:',
        'code:c:44261-6',
        'code:t:http://loinc.org|44261-6',
        'date:',
        'date:b:Y2025',
        'date:b:M2025-01',
        'subject:',
        'subject:r:Patient/1',
        'value-quantity:',
        'value-quantity:b:0:7',
      ],
      r: {
        'date~lo': ['2025-01-01T10:00:00.000Z'],
        'date~hi': ['2025-01-01T10:00:00.999Z'],
        'value-quantity~v': [7],
        'value-quantity~uAbCdEfGhIj': [7],
      },
      o: { code: '44261-6', date: '2025-01-01T10:00:00.000Z', subject: 'Patient/1' },
    });
  });

  test.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['equality', { 'idx.code.t': 'http://loinc.org|44261-6' }, { 'idx.k': 'code:t:http://loinc.org|44261-6' }],
    ['$in', { 'idx.code.c': { $in: ['a', 'b'] } }, { 'idx.k': { $in: ['code:c:a', 'code:c:b'] } }],
    [':not', { 'idx.code.c': { $nin: ['a', 'b'] } }, { 'idx.k': { $nin: ['code:c:a', 'code:c:b'] } }],
    ['starts-with', { 'idx.name.s': { $regex: '^smi' } }, { 'idx.k': { $regex: '^name:s:smi' } }],
    [':contains', { 'idx.name.s': { $regex: 'mit' } }, { 'idx.k': { $regex: '^name:s:.*mit' } }],
    ['a range', { 'idx.date.hi': { $gt: '2025' } }, { 'idx.r.date~hi': { $gt: '2025' } }],
    [':missing=true', { 'idx.date': { $exists: false } }, { 'idx.k': { $ne: 'date:' } }],
    ['a sort key', { 'idx.date.o': { $lt: 'x' } }, { 'idx.o.date': { $lt: 'x' } }],
    [
      'two term conditions in one object become an AND',
      { 'idx.code.c': 'a', 'idx.status.c': 'final' },
      { $and: [{ 'idx.k': 'code:c:a' }, { 'idx.k': 'status:c:final' }] },
    ],
    ['other paths unchanged', { _id: { $in: ['1'] }, idx: { $exists: true } }, { _id: { $in: ['1'] }, idx: { $exists: true } }],
  ])('%s', (_title, logicalFilter, stored) => {
    expect(toStoredFilter(logicalFilter)).toEqual(stored);
  });

  test('terms of a stored document are read back by key', () => {
    const doc = { idx: toStoredIndex(logical) };
    expect(storedTerms(doc, 'subject', 'r')).toEqual(['Patient/1']);
    expect(storedTerms(doc, 'code', 'c')).toEqual(['44261-6']);
    expect(storedSortPath('date')).toBe('idx.o.date');
  });
});
