import { storedSortPath, storedTerms, toStoredFilter, toStoredIndex } from '../../../src/store/mongo/index-layout';

describe('stored layout of the search index', () => {
  const logical = {
    code: { c: ['44261-6'], t: ['http://loinc.org|44261-6'], o: '44261-6' },
    date: { lo: ['2025-01-01T10:00:00.000Z'], hi: ['2025-01-01T10:00:00.999Z'], w: ['2025-01-01T10:00:00.000Z|2025-01-01T10:00:00.999Z'], o: '2025-01-01T10:00:00.000Z' },
    subject: { r: ['Patient/1'], o: 'Patient/1' },
    'value-quantity': { v: [7], b: ['0:7'], uAbCdEfGhIj: [7] },
    // a parameter with ranges only (a hand-made case: every date value now has its span term)
    period: { lo: ['2024-06-01T00:00:00.000Z'], hi: ['2025-05-31T23:59:59.999Z'] },
  };

  test('terms go to idx.k, with a presence term only for a parameter that has none; ranges to idx.r; sort keys to idx.o', () => {
    expect(toStoredIndex(logical)).toEqual({
      k: ['code:c:44261-6', 'code:t:http://loinc.org|44261-6', 'date:w:2025-01-01T10:00:00.000Z|2025-01-01T10:00:00.999Z', 'subject:r:Patient/1', 'value-quantity:b:0:7', 'period:'],
      r: {
        'date~lo': ['2025-01-01T10:00:00.000Z'],
        'date~hi': ['2025-01-01T10:00:00.999Z'],
        'value-quantity~v': [7],
        'value-quantity~uAbCdEfGhIj': [7],
        'period~lo': ['2024-06-01T00:00:00.000Z'],
        'period~hi': ['2025-05-31T23:59:59.999Z'],
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
    [':missing=true', { 'idx.date': { $exists: false } }, { 'idx.k': { $not: { $regex: '^date:' } } }],
    [':missing=false', { 'idx.date': { $exists: true } }, { 'idx.k': { $regex: '^date:' } }],
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

  test(':missing finds a parameter by any of its terms, or by its presence term when it has none', () => {
    const stored = toStoredIndex(logical);
    const present = (code: string) => {
      const re = new RegExp((toStoredFilter({ [`idx.${code}`]: { $exists: true } })['idx.k'] as { $regex: string }).$regex);
      return stored.k.some((t) => re.test(t));
    };
    expect(['code', 'date', 'subject', 'value-quantity', 'period'].map(present)).toEqual([true, true, true, true, true]);
    // 'code' must not find 'code-value-quantity' or 'combo-code' terms
    expect(present('combo-code')).toBe(false);
    expect(present('cod')).toBe(false);
  });

  test('terms of a stored document are read back by key', () => {
    const doc = { idx: toStoredIndex(logical) };
    expect(storedTerms(doc, 'subject', 'r')).toEqual(['Patient/1']);
    expect(storedTerms(doc, 'code', 'c')).toEqual(['44261-6']);
    expect(storedSortPath('date')).toBe('idx.o.date');
  });
});
