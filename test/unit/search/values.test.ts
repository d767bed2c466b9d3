/** Pure value arithmetic shared by extraction and translation: date ranges, decimals, text. */
import { bucketsOf, parseDateRange } from '../../../src/search/date-range';
import { decimalOfNumber, implicitRange, parseDecimal, roundTo, storedRoundings, zeroBucketsUpTo } from '../../../src/search/decimal';
import { INDEXED_TEXT_LENGTH, clip, escapePart, escapeRegex, exactIndexed, foldIndexed, foldText, tokenForm } from '../../../src/search/normalize';

describe('parseDateRange: a FHIR date/dateTime/instant is the UTC range its precision implies', () => {
  test.each<[string, string, string, string]>([
    ['2024', '2024-01-01T00:00:00.000Z', '2024-12-31T23:59:59.999Z', 'Y'],
    ['2024-02', '2024-02-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z', 'M'],
    ['2023-02', '2023-02-01T00:00:00.000Z', '2023-02-28T23:59:59.999Z', 'M'],
    ['2024-06-15', '2024-06-15T00:00:00.000Z', '2024-06-15T23:59:59.999Z', 'D'],
    ['2024-06-15T10:30', '2024-06-15T10:30:00.000Z', '2024-06-15T10:30:59.999Z', 'm'],
    ['2024-06-15T10:00:00+02:00', '2024-06-15T08:00:00.000Z', '2024-06-15T08:00:00.999Z', 's'],
    ['2024-06-15T10:00:00 02:00', '2024-06-15T08:00:00.000Z', '2024-06-15T08:00:00.999Z', 's'],
    ['2024-06-15T23:30:00-05:00', '2024-06-16T04:30:00.000Z', '2024-06-16T04:30:00.999Z', 's'],
    ['2024-06-15T10:00:00', '2024-06-15T10:00:00.000Z', '2024-06-15T10:00:00.999Z', 's'],
    ['2024-06-15T10:00:00.123456Z', '2024-06-15T10:00:00.123Z', '2024-06-15T10:00:00.123Z', 'L'],
    ['0050-03-01', '0050-03-01T00:00:00.000Z', '0050-03-01T23:59:59.999Z', 'D'],
    ['2024-12', '2024-12-01T00:00:00.000Z', '2024-12-31T23:59:59.999Z', 'M'],
    ['2024-12-31', '2024-12-31T00:00:00.000Z', '2024-12-31T23:59:59.999Z', 'D'],
    ['2024-12-31T23:59', '2024-12-31T23:59:00.000Z', '2024-12-31T23:59:59.999Z', 'm'],
    ['2024-12-31T23:59:59.999Z', '2024-12-31T23:59:59.999Z', '2024-12-31T23:59:59.999Z', 'L'],
    ['2025-01-01T00:30:00+01:00', '2024-12-31T23:30:00.000Z', '2024-12-31T23:30:00.999Z', 's'],
    ['0099-12-31', '0099-12-31T00:00:00.000Z', '0099-12-31T23:59:59.999Z', 'D'],
    ['9999', '9999-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', 'Y'],
  ])('%s → [%s, %s] at precision %s', (text, lo, hi, precision) => {
    expect(parseDateRange(text)).toEqual({ lo, hi, precision });
  });

  test.each(['2024-02-30', '2023-02-29', '2024-13', '2024-00', '2024-06-15T24:00:00Z', '2024-06-15T10:60', '2024-06-15T10', '24', '2024-6-1', 'x', '', '2024-06-15T10:00:00+15:00'])(
    'rejects %p',
    (text) => {
      expect(parseDateRange(text)).toBeUndefined();
    },
  );

  test.each<[string, string, string[]]>([
    ['2024-01-01T00:00:00.000Z', '2024-12-31T23:59:59.999Z', ['Y2024']],
    ['2024-06-15T08:00:00.000Z', '2024-06-15T08:00:00.999Z', ['Y2024', 'M2024-06', 'D2024-06-15', 'm2024-06-15T08:00', 's2024-06-15T08:00:00']],
    ['2024-06-15T08:00:00.123Z', '2024-06-15T08:00:00.123Z', ['Y2024', 'M2024-06', 'D2024-06-15', 'm2024-06-15T08:00', 's2024-06-15T08:00:00', 'L2024-06-15T08:00:00.123']],
    ['2024-01-05T00:00:00.000Z', '2024-03-12T23:59:59.999Z', ['Y2024']],
    ['2023-12-01T00:00:00.000Z', '2024-01-31T23:59:59.999Z', []],
  ])('bucketsOf(%s, %s): every bucket the whole range fits in', (lo, hi, buckets) => {
    expect(bucketsOf(lo, hi)).toEqual(buckets);
  });
});

describe('decimal: precision-aware rounding on exact decimals', () => {
  test.each<[string, bigint, number]>([
    ['100', 100n, 0],
    ['100.00', 10000n, -2],
    ['1e2', 1n, 2],
    ['1.5e2', 15n, 1],
    ['-0.35', -35n, -2],
    ['.5', 5n, -1],
    ['+7', 7n, 0],
  ])('parseDecimal(%s) = %s × 10^%s', (text, units, exponent) => {
    expect(parseDecimal(text)).toEqual({ units, exponent });
  });

  test.each(['', '.', 'abc', '1,5', '1e', '--1', '1e99999', 'NaN', 'Infinity'])('parseDecimal rejects %p', (text) => {
    expect(parseDecimal(text)).toBeUndefined();
  });

  test.each<[string, number, bigint]>([
    ['99.5', 0, 100n],
    ['100.4999', 0, 100n],
    ['100.5', 0, 101n],
    ['-0.5', 0, 0n],
    ['-0.51', 0, -1n],
    ['120', 1, 12n],
    ['149', 2, 1n],
    ['150', 2, 2n],
    ['0.35', -1, 4n],
    ['7', -2, 700n],
  ])('roundTo(%s, 10^%s) = %s (half up)', (text, exponent, units) => {
    expect(roundTo(parseDecimal(text)!, exponent)).toBe(units);
  });

  test('storedRoundings stops at the first zero (every coarser rounding is zero too)', () => {
    expect(storedRoundings(decimalOfNumber(120)!)).toEqual(['1:12', '2:1', '3:0']);
    expect(storedRoundings(decimalOfNumber(0.35)!)).toEqual(['-1:4', '0:0']);
    expect(zeroBucketsUpTo(-7)).toEqual(['-8:0', '-7:0']);
  });

  test('implicitRange is value ± half a unit of its precision', () => {
    expect(implicitRange(parseDecimal('100')!)).toEqual({ low: 99.5, high: 100.5 });
    expect(implicitRange(parseDecimal('1e2')!)).toEqual({ low: 50, high: 150 });
    expect(implicitRange(parseDecimal('0.4')!)).toEqual({ low: 0.35, high: 0.45 });
  });
});

describe('normalize', () => {
  test.each<[string, string]>([
    ['  Zoë   ÉLISE ', 'zoe elise'],
    ['Dupré', 'dupre'],
    ['ÅNGSTRÖM', 'angstrom'],
    ['Iñtërnâtiônàlizætiøn', 'internationalizætiøn'],
    ['tab\tand\nnewline', 'tab and newline'],
  ])('foldText(%p) = %p', (input, folded) => {
    expect(foldText(input)).toBe(folded);
  });

  test('the index keeps the folded first INDEXED_TEXT_LENGTH characters of a long value, and :exact a digest of the whole', () => {
    const long = 'Zoë  Élise '.repeat(1000);
    expect(foldIndexed(long)).toBe(foldText(long).slice(0, INDEXED_TEXT_LENGTH));
    expect(foldIndexed('Zoë')).toBe('zoe');
    expect(exactIndexed('Zoë')).toBe('Zoë');
    expect(exactIndexed(long)).toMatch(new RegExp(`^${long.slice(0, INDEXED_TEXT_LENGTH)}#[A-Za-z0-9_-]{43}$`));
    expect(exactIndexed(long)).not.toBe(exactIndexed(`${long}x`));
    // A surrogate pair is never split.
    expect(clip(`${'a'.repeat(INDEXED_TEXT_LENGTH - 1)}😀`, INDEXED_TEXT_LENGTH)).toBe('a'.repeat(INDEXED_TEXT_LENGTH - 1));
  });

  test('escapePart and tokenForm keep separators unambiguous', () => {
    expect(escapePart('a|b$c\\d')).toBe('a\\|b\\$c\\\\d');
    expect(tokenForm('http://s', 'x|y')).toBe('http://s|x\\|y');
    expect(tokenForm(undefined, 'x')).toBe('|x');
  });
});

describe('escapeRegex', () => {
  test.each(['a.b', 'x*+?^$', '{1}(2)[3]|\\', 'http://x.org/a-b', 'mm[Hg]'])('%p matches itself literally and nothing looser', (literal) => {
    const re = new RegExp(`^${escapeRegex(literal)}$`);
    expect(re.test(literal)).toBe(true);
    expect(re.test(`${literal}x`)).toBe(false);
    expect(re.test(literal.replace(/./, 'Z'))).toBe(literal.startsWith('Z'));
  });
});
