// Server-assigned ids: UUID version 7, increasing within a process.
import { formatV7, newId } from '../../../src/platform/ids';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const millisOf = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

test('an id is a version 7 UUID carrying the time it was taken, and a FHIR id', () => {
  const now = Date.UTC(2026, 11, 5, 14, 0, 0, 123);
  const id = newId(now + 60_000);
  expect(id).toMatch(UUID_V7);
  expect(id).toMatch(FHIR_ID);
  expect(millisOf(id)).toBe(now + 60_000);
});

test('ids taken in the same millisecond increase, also past the 4,096 the counter holds', () => {
  const now = Date.UTC(2027, 0, 1);
  const ids = Array.from({ length: 10_000 }, () => newId(now));
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(ids).size).toBe(ids.length);
  // The counter ran out: the timestamp borrowed a few milliseconds ahead, no more.
  expect(millisOf(ids[ids.length - 1] as string)).toBeGreaterThan(now);
  expect(millisOf(ids[ids.length - 1] as string)).toBeLessThan(now + 10);
});

test('a clock that goes back does not make ids go back', () => {
  const now = Date.UTC(2027, 1, 1);
  const first = newId(now);
  const second = newId(now - 5_000);
  expect(second > first).toBe(true);
  expect(millisOf(second)).toBe(now);
});

test('ids of later milliseconds sort after earlier ones', () => {
  const now = Date.UTC(2027, 2, 1);
  const earlier = newId(now);
  expect(newId(now + 1) > earlier).toBe(true);
  // Whatever the counter and the random bits, as another process would have them:
  expect(formatV7(now + 1, 0, new Uint8Array(8)) > formatV7(now, 0xfff, new Uint8Array(8).fill(255))).toBe(true);
});

test('the variant bits are set whatever the random bytes', () => {
  expect(formatV7(0, 0, new Uint8Array(8))).toBe('00000000-0000-7000-8000-000000000000');
  expect(formatV7(2 ** 48 - 1, 0xfff, new Uint8Array(8).fill(255))).toBe('ffffffff-ffff-7fff-bfff-ffffffffffff');
});
