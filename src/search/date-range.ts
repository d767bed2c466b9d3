/**
 * FHIR date, dateTime and instant values as UTC ranges, and the spans (and, for composites,
 * precision buckets) that make date equality one indexed lookup (docs/storage.md, "Search index").
 *
 * Every value stands for the range its precision implies: `2024` is 2024-01-01T00:00:00.000Z to
 * 2024-12-31T23:59:59.999Z. Values without a timezone are taken as UTC, on both sides.
 * See: https://hl7.org/fhir/R4/search.html#date and https://hl7.org/fhir/R4/datatypes.html#dateTime
 */

import { escapeRegex } from './normalize';

/** Year, month, day, minute, second, millisecond. */
export type DatePrecision = 'Y' | 'M' | 'D' | 'm' | 's' | 'L';

export interface DateRange {
  /** First instant of the range (ISO, UTC, milliseconds). */
  readonly lo: string;
  /** Last instant of the range (inclusive). */
  readonly hi: string;
  readonly precision: DatePrecision;
}

/** Open ends of a Period are stored as these instants. */
export const MIN_INSTANT = '0001-01-01T00:00:00.000Z';
export const MAX_INSTANT = '9999-12-31T23:59:59.999Z';

const PRECISIONS: readonly DatePrecision[] = ['Y', 'M', 'D', 'm', 's', 'L'];
/** Length of the ISO prefix that identifies a bucket of each precision. */
const PREFIX_LENGTH: Record<DatePrecision, number> = { Y: 4, M: 7, D: 10, m: 16, s: 19, L: 23 };

// yyyy[-mm[-dd[Thh:mm[:ss[.fff]][Z|±hh:mm]]]]; a space stands for '+' (an unencoded '+' in a URL).
const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+\- ]\d{2}:\d{2})?)?)?)?$/;

const MIN_MS = Date.parse(MIN_INSTANT);
const MAX_MS = Date.parse(MAX_INSTANT);

/** Milliseconds of UTC fields; overflowing fields roll over (month 12 is January next year). */
function utcMs(fields: { y: number; mo: number; d: number; h: number; mi: number; s: number; ms: number }): number {
  const { y, mo, d, h, mi, s, ms } = fields;
  if (y >= 100) {
    return Date.UTC(y, mo, d, h, mi, s, ms);
  }
  const date = new Date(0);
  date.setUTCFullYear(y, mo, d); // Date.UTC would read years 0..99 as 1900..1999
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in a month (1-based), leap years included. */
function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

const DAY_MS = 86_400_000;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * `new Date(ms).toISOString()` for an instant clamped to MIN_INSTANT..MAX_INSTANT (always a
 * four-digit year), computed instead of formatted by the runtime: every date a resource is
 * indexed by gives two, and toISOString was an eighth of extracting the synthetic resources.
 * The calendar is H. Hinnant's civil_from_days (https://howardhinnant.github.io/date_algorithms.html).
 */
export function iso(ms: number): string {
  const t = Math.min(Math.max(ms, MIN_MS), MAX_MS);
  if (!Number.isInteger(t)) {
    return new Date(t).toISOString(); // not a whole millisecond (or NaN): the runtime's answer
  }
  const days = Math.floor(t / DAY_MS);
  let rest = t - days * DAY_MS;
  const z = days + 719_468; // days since 0000-03-01
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153); // March = 0
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(rest - seconds * 1000, 3)}Z`;
}

/**
 * Parses a FHIR date/dateTime/instant (or a search value of the same form) into its UTC range.
 * Returns undefined for anything malformed, including impossible calendar dates (2024-02-31).
 */
export function parseDateRange(text: string): DateRange | undefined {
  const m = DATE.exec(text);
  if (!m) {
    return undefined;
  }
  const [, ys, mos, ds, hs, mis, ss, frac, tz] = m;
  const y = Number(ys);
  const mo = mos === undefined ? 1 : Number(mos);
  const d = ds === undefined ? 1 : Number(ds);
  const h = hs === undefined ? 0 : Number(hs);
  const mi = mis === undefined ? 0 : Number(mis);
  const s = ss === undefined ? 0 : Number(ss);
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (tz !== undefined && tz !== 'Z') {
    const oh = Number(tz.slice(1, 3));
    const om = Number(tz.slice(4, 6));
    if (oh > 14 || om > 59) {
      return undefined;
    }
    offsetMinutes = (tz[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const precision: DatePrecision =
    frac !== undefined ? 'L' : ss !== undefined ? 's' : mis !== undefined ? 'm' : ds !== undefined ? 'D' : mos !== undefined ? 'M' : 'Y';
  const start = utcMs({ y, mo: mo - 1, d, h, mi, s, ms }) - offsetMinutes * 60_000;
  const next = nextStart(precision, { y, mo: mo - 1, d, h, mi, s, ms }) - offsetMinutes * 60_000;
  return { lo: iso(start), hi: iso(next - 1), precision };
}

function nextStart(
  precision: DatePrecision,
  f: { y: number; mo: number; d: number; h: number; mi: number; s: number; ms: number },
): number {
  switch (precision) {
    case 'Y':
      return utcMs({ ...f, y: f.y + 1, mo: 0, d: 1 });
    case 'M':
      return utcMs({ ...f, mo: f.mo + 1, d: 1 });
    case 'D':
      return utcMs({ ...f, d: f.d + 1 });
    case 'm':
      return utcMs({ ...f, mi: f.mi + 1 });
    case 's':
      return utcMs({ ...f, s: f.s + 1 });
    case 'L':
      return utcMs({ ...f, ms: f.ms + 1 });
  }
}

/** The bucket of one precision that contains an instant: `M2024-06`, `D2024-06-15`, … */
export function bucketOf(precision: DatePrecision, instant: string): string {
  return `${precision}${instant.slice(0, PREFIX_LENGTH[precision])}`;
}

/**
 * Every bucket the whole range [lo, hi] fits in, coarsest first: a value fits in `Y2024` when it
 * starts and ends in 2024. A composite's leading date component is joined to the others in each
 * of its buckets; `eq` on a search value of precision P matches a stored range exactly when the
 * range fits in the search value's P-bucket (the search range contains the stored one).
 */
export function bucketsOf(lo: string, hi: string): string[] {
  const result: string[] = [];
  for (const p of PRECISIONS) {
    const n = PREFIX_LENGTH[p];
    if (lo.slice(0, n) !== hi.slice(0, n)) {
      break;
    }
    result.push(bucketOf(p, lo));
  }
  return result;
}

/**
 * A value's span `lo|hi`, its one equality term. A range fits in the search value's period of
 * precision P (`eq`) exactly when lo and hi both start with that period's ISO prefix, so `eq` is
 * one anchored pattern (spanPattern) whose literal start an index narrows to the values that
 * begin in the period. Where it was one bucket term per precision the range fits in (up to six
 * per value), it is one term per value.
 */
export function spanOf(lo: string, hi: string): string {
  return `${lo}|${hi}`;
}

/** The anchored pattern of the spans that fit in the period of precision `precision` holding `instant`. */
export function spanPattern(precision: DatePrecision, instant: string): string {
  const period = escapeRegex(instant.slice(0, PREFIX_LENGTH[precision]));
  // `[^\|]`, not `[^|]`: an unescaped `|` reads as an alternative to FerretDB's pushdown, which
  // then does not narrow (tools/ferretdb, regexPrefix).
  return `^${period}[^\\|]*\\|${period}`;
}

/** Milliseconds since the epoch of an ISO instant produced by this module. */
export function instantMs(instant: string): number {
  return Date.parse(instant);
}

/** ISO form of a millisecond instant, clamped to [MIN_INSTANT, MAX_INSTANT]. */
export function instantIso(ms: number): string {
  return iso(ms);
}
