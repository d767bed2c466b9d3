import { randomBytes } from 'node:crypto';

/**
 * Server-assigned logical ids: UUID version 7 (RFC 9562 §5.7), which fits FHIR's id type
 * ([A-Za-z0-9\-\.]{1,64}). Its first 48 bits are the Unix time in milliseconds, so ids taken
 * later sort after earlier ones as strings.
 *
 * Why time-ordered: every index keyed by the id (`_id` on MongoDB, FerretDB's `_id` index, the
 * history's keys) then takes new entries at its end, as it does for a sequence, where random
 * UUIDs put each one on a random page: each write then dirties a page per index, and the
 * pages of one commit stop being shared. What it reveals: the millisecond an id was assigned,
 * which `meta.lastUpdated` of the first version already shows to whoever can read it.
 *
 * Within one millisecond a 12-bit counter (rand_a, RFC 9562 §6.2 method 1) keeps a process's
 * ids increasing; it starts at a random value below 2048 each millisecond, and when it runs out
 * the timestamp moves one millisecond ahead (§6.2: "borrowing" from the future). The last 62
 * bits are random: the ids of two processes differ even in the same millisecond.
 */
let lastMillis = 0;
let counter = 0;

export function newId(now: number = Date.now()): string {
  if (now > lastMillis) {
    lastMillis = now;
    counter = randomBytes(2).readUInt16BE() & 0x7ff;
  } else if (counter < 0xfff) {
    counter++; // same millisecond, or the clock went back: stay after the last id
  } else {
    lastMillis++;
    counter = 0;
  }
  return formatV7(lastMillis, counter, randomBytes(8));
}

/** The UUID text of a version 7 id: 48-bit milliseconds, version, 12-bit counter, variant, 62 random bits. */
export function formatV7(millis: number, counter: number, random: Uint8Array): string {
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(millis, 0, 6);
  bytes.writeUInt16BE(0x7000 | (counter & 0xfff), 6);
  bytes.set(random.subarray(0, 8), 8);
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
