/**
 * When to try again after a failed delivery: exponential backoff from 15 seconds, doubling up to
 * an hour, with a little spread so that many entries failing together do not all return at once.
 * Pure (the spread comes from the entry's id, not from randomness, so tests can predict it).
 */
const FIRST_DELAY_MS = 15_000;
const LONGEST_DELAY_MS = 3_600_000;

/** Failed attempts after which an entry is abandoned (about a day and a half of retrying). */
export const MAX_ATTEMPTS = 40;

/** The delay before attempt `attempts + 1`, after `attempts` failures (1, 2, …). */
export function retryDelayMs(attempts: number, key = ''): number {
  const base = Math.min(FIRST_DELAY_MS * 2 ** Math.max(0, attempts - 1), LONGEST_DELAY_MS);
  // Up to 10% more, the same for the same key and attempt.
  let hash = attempts;
  for (const c of key) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return base + Math.floor((base / 10) * ((hash % 1000) / 1000));
}
