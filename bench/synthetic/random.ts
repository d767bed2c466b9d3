/**
 * Seeded pseudo-random numbers for the synthetic data generator: sfc32 (Chris Doty-Humphrey's
 * Small Fast Counting generator, 128-bit state) seeded through splitmix32.
 *
 * Why not mulberry32: its state is 32 bits, so the 128-bit UUIDs it produces can only take 2^32
 * values; at 10k clients × 35 resources (3.5e5 ids) a birthday collision is all but certain.
 * sfc32 keeps 128 bits of state, and every client gets its own stream keyed by (seed, index),
 * so client i is the same whatever the number of clients generated.
 *
 * Nothing here reads Math.random or the clock.
 */

/** splitmix32 finaliser: a good 32-bit avalanche, used to derive stream states from keys. */
function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Stream labels, so the shared pool and each client draw from unrelated sequences. */
export const STREAM = { pool: 0x706f6f6c, client: 0x636c6e74 } as const;

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream keyed by any number of 32-bit integers (seed, stream label, client index…). */
  static of(...keys: number[]): Random {
    let h = 0x2545f491;
    for (const key of keys) {
      h = mix32(h ^ mix32(key >>> 0));
    }
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      h = mix32(h + i);
      words.push(h);
    }
    return new Random(words as [number, number, number, number]);
  }

  private constructor([a, b, c, d]: [number, number, number, number]) {
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    for (let i = 0; i < 12; i++) {
      this.next();
    }
  }

  /** The next unsigned 32-bit integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) {
      throw new RangeError('pick() from an empty list');
    }
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** Picks by weight: [[value, weight], …]. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    const total = choices.reduce((sum, [, w]) => sum + w, 0);
    let x = this.float() * total;
    for (const [value, weight] of choices) {
      x -= weight;
      if (x < 0) {
        return value;
      }
    }
    return (choices[choices.length - 1] as readonly [T, number])[0];
  }

  /** k distinct items, in a random order (partial Fisher–Yates on a copy). */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = [...items];
    const n = Math.min(k, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.float() * (copy.length - i));
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy.slice(0, n);
  }

  /** Roughly normal (Irwin–Hall of 4 uniforms), mean 0, standard deviation 1. */
  normal(): number {
    return (this.float() + this.float() + this.float() + this.float() - 2) * Math.sqrt(3);
  }

  /** A version 4 (random) UUID in canonical form, RFC 9562 §5.4. */
  uuid(): string {
    const hex = [this.next(), this.next(), this.next(), this.next()].map((w) => w.toString(16).padStart(8, '0')).join('');
    const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}
