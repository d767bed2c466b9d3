/**
 * Exact decimal arithmetic for number and quantity search (precision-aware equality).
 *
 * A search value carries an implicit precision: `100` means [99.5, 100.5), `100.00` means
 * [99.995, 100.005), `1e2` means [50, 150). A stored value v matches `eq` with precision 10^e when
 * floor(v / 10^e + 1/2) equals the search value in units of 10^e. Doing that on doubles drifts at
 * the boundaries, so both sides round the decimal text with BigInt.
 * See: https://hl7.org/fhir/R4/search.html#number
 */

/** value = units × 10^exponent; `exponent` is the precision (`1.50` → units 150, exponent −2). */
export interface DecimalValue {
  readonly units: bigint;
  readonly exponent: number;
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Smallest and largest rounding exponents stored in the index (`b` key). */
export const MIN_ROUNDING_EXPONENT = -8;
export const MAX_ROUNDING_EXPONENT = 8;

/** Parses decimal text (`-1.50`, `1e2`, `.5`); undefined when it is not a finite decimal. */
export function parseDecimal(text: string): DecimalValue | undefined {
  const m = DECIMAL.exec(text);
  if (!m) {
    return undefined;
  }
  const [, sign = '', intPart = '', fracPart = '', expPart] = m;
  if (intPart === '' && fracPart === '') {
    return undefined;
  }
  const exp = expPart === undefined ? 0 : Number(expPart);
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1000) {
    return undefined;
  }
  const digits = BigInt(`${intPart}${fracPart}` || '0');
  return { units: sign === '-' ? -digits : digits, exponent: exp - fracPart.length };
}

/** The decimal of a stored JSON number, with the precision of its shortest text form. */
export function decimalOfNumber(value: number): DecimalValue | undefined {
  return Number.isFinite(value) ? parseDecimal(String(value)) : undefined;
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** floor(a / b) for b > 0 (BigInt division truncates towards zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** The value in units of 10^exponent, rounded half up: floor(v / 10^exponent + 1/2). */
export function roundTo(value: DecimalValue, exponent: number): bigint {
  if (exponent <= value.exponent) {
    return value.units * pow10(value.exponent - exponent);
  }
  const d = pow10(exponent - value.exponent);
  return floorDiv(2n * value.units + d, 2n * d);
}

/** The stored rounding bucket `exponent:units` (key `b`). */
export function roundingBucket(exponent: number, units: bigint): string {
  return `${exponent}:${units}`;
}

/**
 * The rounding buckets stored for a value: one per exponent coarser than the value's own
 * precision, within [MIN, MAX], up to the first that rounds to zero. Finer exponents need no
 * bucket: there the rounding is the value itself, so equality on `v` answers them. Coarser
 * exponents after the first zero round to zero too (|v| < 10^e / 2 only grows with e), so a
 * search for zero asks for any zero bucket at or below its exponent (zeroBucketsUpTo).
 */
export function storedRoundings(value: DecimalValue): string[] {
  const result: string[] = [];
  const from = Math.max(value.exponent + 1, MIN_ROUNDING_EXPONENT);
  for (let e = from; e <= MAX_ROUNDING_EXPONENT; e++) {
    const units = roundTo(value, e);
    result.push(roundingBucket(e, units));
    if (units === 0n) {
      break;
    }
  }
  return result;
}

/** Every zero bucket at or below `exponent`: one of them is stored iff the value rounds to 0 there. */
export function zeroBucketsUpTo(exponent: number): string[] {
  const result: string[] = [];
  for (let e = MIN_ROUNDING_EXPONENT; e <= Math.min(exponent, MAX_ROUNDING_EXPONENT); e++) {
    result.push(roundingBucket(e, 0n));
  }
  return result;
}

/** Converts to the nearest double. */
export function toNumber(value: DecimalValue): number {
  return Number(`${value.units}e${value.exponent}`);
}

/** The implicit range [low, high) of a search value: value ± half a unit of its precision. */
export function implicitRange(value: DecimalValue): { low: number; high: number } {
  const twice = 2n * value.units;
  return {
    low: Number(`${twice - 1n}e${value.exponent}`) / 2,
    high: Number(`${twice + 1n}e${value.exponent}`) / 2,
  };
}
