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
 *
 * A holder that runs long (a transaction) renews its hold in a lease document of its own
 * (`lock_leases`, keyed by owner), never in the lock documents: a renewal is an update, which
 * FerretDB applies by reading the document and writing it back whole, so a renewal that read a
 * lock just before its release would write it back over the next holder's. A lease's `_id` is
 * never reused, and only its owner's renewals write it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Collection, Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { FhirError } from '../../fhir/outcomes';

/** How long a lock is held beyond its own expiry: its owner is alive and renewing. */
interface LeaseDoc {
  _id: string;
  until: Date;
}

interface LockDoc {
  _id: string;
  owner: string;
  expiresAt: Date;
  /** The process holding it: at start-up a process frees the locks of dead processes of its host. */
  host?: string;
  pid?: number;
  instance?: string;
}

/** This process, as lock and journal documents name it. */
export interface Holder {
  readonly host: string;
  readonly pid: number;
  /** Tells this process from an earlier one that had the same pid. */
  readonly instance: string;
}

const HOLDER: Holder = { host: hostname(), pid: process.pid, instance: randomUUID() };

export function currentHolder(): Holder {
  return HOLDER;
}

export interface LockTiming {
  /** A holder that has not released its lock after this long is presumed crashed. */
  readonly ttlMs: number;
  /** How long a caller waits for held locks before answering 409. */
  readonly waitMs: number;
}

export interface Lease {
  /** Names the holder in the lock documents (renew, releaseOwner). */
  readonly owner: string;
  release(): Promise<void>;
}

const DUPLICATE_KEY = 11000;
const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 50;
const RELEASE_RETRIES = 30;
const RELEASE_RETRY_PAUSE_MS = 1_000;

export class Locks {
  private readonly collection: Collection<LockDoc>;
  private readonly leases: Collection<LeaseDoc>;
  /** Owners holding locks in this process, and those of them that renewed (only their leases need deleting on release). */
  private readonly live = new Set<string>();
  private readonly renewed = new Set<string>();

  constructor(
    db: Db,
    private readonly now: () => Date,
    /** Observes each release before it is sent (tests fail it: the repository's write hook). */
    private readonly beforeRelease?: (write: { collection: string; operation: string }) => void | Promise<void>,
  ) {
    this.collection = db.collection<LockDoc>('locks');
    this.leases = db.collection<LeaseDoc>('lock_leases');
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
    this.live.add(owner);
    return { owner, release: () => this.releaseAll(held, owner) };
  }

  /** One lock, taken only if free (or expired) now: undefined when someone holds it. */
  async tryAcquire(name: string, ttlMs: number): Promise<Lease | undefined> {
    try {
      return await this.acquire([name], { ttlMs, waitMs: 0 });
    } catch (err) {
      if (err instanceof FhirError && err.code === 'CONFLICT') return undefined;
      throw err;
    }
  }

  /** Extends the hold of every lock `owner` holds, and of its transaction (journal.ts), to now + ttlMs. */
  async renew(owner: string, ttlMs: number): Promise<void> {
    if (!this.live.has(owner)) return; // released: nothing left to hold
    this.renewed.add(owner);
    await this.leases.updateOne({ _id: owner }, { $set: { until: new Date(this.now().getTime() + ttlMs) } }, { upsert: true });
    // Released while this renewal was on its way: its lease goes too.
    if (!this.live.has(owner)) await this.leases.deleteOne({ _id: owner });
  }

  /** Until when `owner` renewed its hold (undefined: never renewed, or released). */
  async renewedUntil(owner: string): Promise<Date | undefined> {
    return (await this.leases.findOne({ _id: owner }))?.until;
  }

  /** Frees the locks of an owner that is gone (its transaction was rolled back by someone else). */
  async releaseOwner(owner: string): Promise<void> {
    await this.collection.deleteMany({ owner });
    await this.leases.deleteOne({ _id: owner });
  }

  /**
   * Forgets leases that lapsed before `before` (their owners crashed, or a renewal landed after
   * the release). Give a margin: a live owner renews well before its lease lapses.
   */
  async forgetLapsedLeases(before: Date): Promise<void> {
    await this.leases.deleteMany({ until: { $lt: before } });
  }

  /**
   * Frees the locks held by processes of this host that are no longer running (killed, crashed):
   * without it, their resources would answer 409 until the locks expire. Returns how many.
   */
  async releaseDeadHolders(): Promise<number> {
    const ours = await this.collection.find({ host: HOLDER.host }).toArray();
    const dead = ours.filter((l) => l.instance !== HOLDER.instance && l.pid !== undefined && (l.pid === HOLDER.pid || !isAlive(l.pid)));
    if (dead.length > 0) {
      await this.collection.deleteMany({ _id: { $in: dead.map((l) => l._id) } });
    }
    return dead.length;
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
        await this.collection.insertOne({ _id: id, owner, expiresAt: new Date(now.getTime() + ttlMs), ...HOLDER });
        return;
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) {
          throw err;
        }
      }
      const holder = await this.collection.findOne({ _id: id });
      if (holder && holder.expiresAt.getTime() <= now.getTime() && ((await this.renewedUntil(holder.owner))?.getTime() ?? 0) <= now.getTime()) {
        await this.collection.deleteOne({ _id: id, owner: holder.owner });
        continue;
      }
      if (Date.now() >= giveUpAt) {
        throw new FhirError('CONFLICT', 'The resource is being changed by another request; try again');
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /**
   * Never fails: a release that fails (the database is restarting) is retried in the background
   * for a while, so that the resources are not held until the locks expire.
   */
  private async releaseAll(ids: readonly string[], owner: string): Promise<void> {
    this.live.delete(owner);
    try {
      if (ids.length > 0) await this.deleteEach(ids, owner);
      if (this.renewed.delete(owner)) await this.leases.deleteOne({ _id: owner });
    } catch {
      // Not the caller's failure: what it did under the locks is done. (A lease left behind lapses.)
      if (ids.length > 0) this.retryRelease(ids, owner, RELEASE_RETRIES);
    }
  }

  private retryRelease(ids: readonly string[], owner: string, left: number): void {
    if (left === 0) return;
    setTimeout(() => {
      this.deleteEach(ids, owner).catch(() => this.retryRelease(ids, owner, left - 1));
    }, RELEASE_RETRY_PAUSE_MS).unref();
  }

  /**
   * One `deleteOne` per lock, in one command: a delete of at most one document is a retryable
   * write, so on a replica set the driver retries it once through an election (a `deleteMany`
   * is never retried). Deleting an already deleted lock is a no-op, so a retry is harmless.
   * See: https://www.mongodb.com/docs/manual/core/retryable-writes/
   */
  private async deleteEach(ids: readonly string[], owner: string): Promise<void> {
    await this.beforeRelease?.({ collection: 'locks', operation: 'release' });
    await this.collection.bulkWrite(
      ids.map((id) => ({ deleteOne: { filter: { _id: id, owner } } })),
      { ordered: false },
    );
  }
}

/** Whether a process of this host is running (EPERM: it is, under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Lock ids are hashes: names can hold search values (identifiers) that must not be stored. */
function lockId(name: string): string {
  return createHash('sha256').update(name).digest('base64url');
}

export function resourceLockName(resourceType: string, id: string): string {
  return `resource:${resourceType}/${id}`;
}
