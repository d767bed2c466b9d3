/**
 * Dates for the synthetic data. The agency works in US Pacific time, so dateTimes carry its
 * offset (-08:00 or -07:00 by the US daylight-saving rule in force since 2007); FHIR requires
 * a timezone on any dateTime with a time (https://hl7.org/fhir/R4/datatypes.html#dateTime).
 * Days are counted as local calendar days since 1970-01-01; nothing reads the clock.
 */
export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** 'YYYY-MM-DD' → its day number. Throws on anything else (including impossible dates). */
export function parseDay(value: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) {
    throw new RangeError(`referenceDate must be a date in the form YYYY-MM-DD, got ${JSON.stringify(value)}`);
  }
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  if (new Date(ms).getUTCDate() !== d) {
    throw new RangeError(`referenceDate is not a calendar date: ${value}`);
  }
  return ms / DAY_MS;
}

/** Day of month of the n-th Sunday of a month (month 0-based). */
function nthSunday(year: number, month: number, n: number): number {
  const firstWeekday = new Date(Date.UTC(year, month, 1)).getUTCDay();
  return 1 + ((7 - firstWeekday) % 7) + 7 * (n - 1);
}

/** Offset from UTC in minutes of US Pacific time at a UTC instant. */
export function pacificOffsetMinutes(utcMs: number): number {
  const year = new Date(utcMs).getUTCFullYear();
  const dstStart = Date.UTC(year, 2, nthSunday(year, 2, 2), 10); // 02:00 PST
  const dstEnd = Date.UTC(year, 10, nthSunday(year, 10, 1), 9); // 02:00 PDT
  return utcMs >= dstStart && utcMs < dstEnd ? -420 : -480;
}

/** The UTC instant of a local wall-clock time (hours are business hours: no DST ambiguity). */
export function localInstant(day: number, hour: number, minute = 0): number {
  const local = day * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS;
  return local - pacificOffsetMinutes(local + 8 * HOUR_MS) * MINUTE_MS;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** FHIR dateTime / instant with seconds and the local offset: 2025-03-04T09:30:00-08:00. */
export function dateTime(utcMs: number): string {
  const offset = pacificOffsetMinutes(utcMs);
  const d = new Date(utcMs + offset * MINUTE_MS);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** FHIR date of a local day number. */
export function date(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
