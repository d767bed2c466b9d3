/**
 * Calendar validity of date, dateTime and instant ("Dates SHALL be valid dates"), which the
 * regexes of the FHIR schema do not check: 2024-02-31, 2023-02-29, hour 24, offset +15:00. And
 * the instants a value may denote, which Period's per-1 compares (FHIRPath would compare strings).
 * See: https://hl7.org/fhir/R4/datatypes.html#dateTime
 */

const DATE_PARTS =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|([+-])(\d{2}):(\d{2}))?)?)?)?$/;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const HOUR_MS = 3_600_000;

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function utc(parts: { y: number; mo: number; d: number; hh?: number; mi?: number; ss?: number; ms?: number }): number {
  const date = new Date(Date.UTC(2000, parts.mo - 1, parts.d, parts.hh ?? 0, parts.mi ?? 0, parts.ss ?? 0, parts.ms ?? 0));
  date.setUTCFullYear(parts.y); // Date.UTC maps years 0-99 to 1900-1999
  return date.getTime();
}

/** The numeric group `i` of a DATE_PARTS match, if present. */
function group(m: RegExpExecArray, i: number): number | undefined {
  return m[i] === undefined ? undefined : Number(m[i]);
}

/**
 * Calendar validity of a value of type `code`; malformed values (no DATE_PARTS match) are left
 * to the JSON schema stage.
 */
export function calendarProblem(value: string, code: string): string | undefined {
  const m = DATE_PARTS.exec(value);
  return m ? matchProblem(m, value, code) : undefined;
}

function matchProblem(m: RegExpExecArray, value: string, code: string): string | undefined {
  const y = Number(m[1]);
  const [mo, d, hh, mi, ss, tzh, tzm] = [2, 3, 4, 5, 6, 10, 11].map((i) => group(m, i));
  const invalid = (why: string): string => `Invalid ${code} ${JSON.stringify(value)}: ${why}`;
  if (mo !== undefined && (mo < 1 || mo > 12)) {
    return invalid(`there is no month ${mo}`);
  }
  if (mo !== undefined && d !== undefined) {
    const days = daysInMonth(y, mo);
    if (d < 1 || d > days) {
      return invalid(`${MONTHS[mo - 1]} ${y} has ${days} days`);
    }
  }
  if (hh !== undefined && hh > 23) {
    return invalid(`there is no hour ${hh}`);
  }
  if (mi !== undefined && mi > 59) {
    return invalid(`there is no minute ${mi}`);
  }
  if (ss !== undefined && ss > 60) {
    return invalid(`there is no second ${ss}`);
  }
  if (tzh !== undefined && tzm !== undefined && (tzh > 14 || tzm > 59 || (tzh === 14 && tzm > 0))) {
    return invalid('time-zone offsets range from -14:00 to +14:00');
  }
  return undefined;
}

/**
 * The interval of milliseconds a date/dateTime/instant may denote, given its precision; values
 * without a time zone (dates) are widened by the ±14 h a zone could shift them. Undefined for a
 * malformed or impossible value.
 */
export function timeRange(value: string): { low: number; high: number } | undefined {
  const m = DATE_PARTS.exec(value);
  if (!m || matchProblem(m, value, 'dateTime')) {
    return undefined;
  }
  const y = Number(m[1]);
  const [mo, d, hh, mi, ss] = [2, 3, 4, 5, 6].map((i) => group(m, i));
  let low: number;
  let high: number;
  if (mo === undefined) {
    low = utc({ y, mo: 1, d: 1 });
    high = utc({ y: y + 1, mo: 1, d: 1 }) - 1;
  } else if (d === undefined) {
    low = utc({ y, mo, d: 1 });
    high = utc({ y, mo, d: daysInMonth(y, mo) }) + 24 * HOUR_MS - 1;
  } else if (hh === undefined) {
    low = utc({ y, mo, d });
    high = low + 24 * HOUR_MS - 1;
  } else {
    const ms = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
    low = utc({ y, mo, d, hh, mi, ss, ms });
    high = low + (ss === undefined ? 60_000 : 1000) - 1;
  }
  const zone = m[8];
  if (zone === undefined) {
    return { low: low - 14 * HOUR_MS, high: high + 14 * HOUR_MS };
  }
  const offset = zone === 'Z' ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * HOUR_MS + Number(m[11]) * 60_000);
  return { low: low - offset, high: high - offset };
}
