/**
 * Locks on a unique `_id`: inserting a document whose `_id` exists fails atomically, and that is
 * the only conditional write FerretDB 1.x performs atomically (its updates and deletes read,
 * filter in Go, then write by `_id`, so a compare-and-set filter on them can let two writers
 * through). Every write of a resource holds its lock; a transaction Bundle holds the locks of
 * all its resources; identical conditional creates share one.
 *
 * A lock carries an expiry so a holder that crashed cannot block for ever. Taking over an expired
 * lock is the one step that is not atomic on FerretDB (two takers could both delete it); it only
 * matters after a crash, at the moment of contention.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { FhirError } from '../../fhir/outcomes';

interface LockDoc {
  _id: string;
  owner: string;
  expiresAt: Date;
}

export interface LockTiming {
  /** A holder that has not released its lock after this long is presumed crashed. */
  readonly ttlMs: number;
  /** How long a caller waits for held locks before answering 409. */
  readonly waitMs: number;
}

export interface Lease {
  release(): Promise<void>;
}

const DUPLICATE_KEY = 11000;
const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 50;

export class Locks {
  private readonly collection: Collection<LockDoc>;

  constructor(
    db: Db,
    private readonly now: () => Date,
  ) {
    this.collection = db.collection<LockDoc>('locks');
  }

  /** Takes every named lock (in a fixed order, so two callers cannot deadlock) or none. */
  async acquire(names: readonly string[], timing: LockTiming): Promise<Lease> {
    const ids = [...new Set(names.map(lockId))].sort();
    const owner = randomUUID();
    const held: string[] = [];
    const giveUpAt = Date.now() + timing.waitMs;
    try {
      for (const id of ids) {
        await this.take(id, owner, timing.ttlMs, giveUpAt);
        held.push(id);
      }
    } catch (err) {
      await this.releaseAll(held, owner);
      throw err;
    }
    return { release: () => this.releaseAll(held, owner) };
  }

  async withLocks<T>(names: readonly string[], timing: LockTiming, body: () => Promise<T>): Promise<T> {
    const lease = await this.acquire(names, timing);
    try {
      return await body();
    } finally {
      await lease.release();
    }
  }

  private async take(id: string, owner: string, ttlMs: number, giveUpAt: number): Promise<void> {
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, LONGEST_PAUSE_MS)) {
      const now = this.now();
      try {
        await this.collection.insertOne({ _id: id, owner, expiresAt: new Date(now.getTime() + ttlMs) });
        return;
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) {
          throw err;
        }
      }
      const holder = await this.collection.findOne({ _id: id });
      if (holder && holder.expiresAt.getTime() <= now.getTime()) {
        await this.collection.deleteOne({ _id: id, owner: holder.owner });
        continue;
      }
      if (Date.now() >= giveUpAt) {
        throw new FhirError('CONFLICT', 'The resource is being changed by another request; try again');
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  private async releaseAll(ids: readonly string[], owner: string): Promise<void> {
    if (ids.length > 0) {
      await this.collection.deleteMany({ _id: { $in: [...ids] }, owner });
    }
  }
}

/** Lock ids are hashes: names can hold search values (identifiers) that must not be stored. */
function lockId(name: string): string {
  return createHash('sha256').update(name).digest('base64url');
}

export function resourceLockName(resourceType: string, id: string): string {
  return `resource:${resourceType}/${id}`;
}
