/** Pure value arithmetic shared by extraction and translation: date ranges, decimals, text. */
import { MAX_INSTANT, MIN_INSTANT, bucketsOf, iso, parseDateRange } from '../../../src/search/date-range';
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

describe('iso: the instant of a millisecond, as toISOString writes it, within MIN_INSTANT..MAX_INSTANT', () => {
  const min = Date.parse(MIN_INSTANT);
  const max = Date.parse(MAX_INSTANT);
  const runtime = (ms: number) => new Date(Math.min(Math.max(ms, min), max)).toISOString();

  test('every year from 1 to 9999 at its turns (new year, end of February, March, last millisecond)', () => {
    const differences: string[] = [];
    for (let year = 1; year <= 9999; year++) {
      for (const at of ['-01-01T00:00:00.000Z', '-02-28T23:59:59.999Z', '-03-01T00:00:00.000Z', '-12-31T23:59:59.999Z']) {
        const ms = Date.parse(`${String(year).padStart(4, '0')}${at}`);
        for (const t of [ms - 1, ms, ms + 1]) if (iso(t) !== runtime(t)) differences.push(`${t}: ${iso(t)} ≠ ${runtime(t)}`);
      }
    }
    expect(differences).toEqual([]);
  });

  test('random instants, the epoch, leap days of century years, and clamping at both ends', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const samples = Array.from({ length: 200_000 }, () => Math.floor(min + random() * (max - min)));
    samples.push(0, -1, 1, min, max, min - 1, max + 1, -1e15, 1e15, Date.parse('2000-02-29T12:00:00Z'), Date.parse('1900-02-28T23:59:59.999Z'), Date.parse('2100-03-01T00:00:00Z'));
    expect(samples.filter((t) => iso(t) !== runtime(t))).toEqual([]);
    expect(iso(min - 1)).toBe(MIN_INSTANT);
    expect(iso(max + 1)).toBe(MAX_INSTANT);
  });

  test('not a whole millisecond: the runtime answers (NaN throws as toISOString does)', () => {
    expect(iso(1.5)).toBe(new Date(1.5).toISOString());
    expect(() => iso(Number.NaN)).toThrow(RangeError);
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
    for (const part of ['', 'plain', '|', '$', '\\', 'end|', '$start', 'x\\\\y']) {
      expect(escapePart(part)).toBe(part.replace(/[\\|$]/g, (c) => `\\${c}`));
    }
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
