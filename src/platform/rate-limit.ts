/**
 * Request budgets shared by every instance on one database: a fixed window of `points` requests
 * per `durationSeconds` per key (a client, an address).
 *
 * Each process counts its own requests and adds them to the window's shared document at most
 * every FLUSH_MS, one `$inc` by `_id` per key that was busy, reading back the total of every
 * instance; it decides from that total plus what it has counted since. So the database is
 * written per busy key and interval, not per request (rate-limiter-flexible, used before, wrote
 * it on every request: on the embedded database a read paid a write and a collection scan for its
 * budget). The price: instances learn of each other's requests one interval late, so together
 * they may admit what each admits in one interval beyond the budget. Counting goes on locally
 * while the database does not answer; the counts are added when it does.
 */
import { type Db, type DbOptions, ReadConcern } from 'mongodb';

export type Budget = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

export interface RateLimit {
  /** Spends one request of `key`'s budget. */
  consume(key: string): Promise<Budget>;
}

/** A budget counted in the database. */
export interface SharedRateLimit extends RateLimit {
  /** Adds the requests counted here to the shared windows now (tests). */
  flush(): Promise<void>;
  /**
   * Stops the interval and adds what is counted here one last time: on shutdown, once no more
   * requests come and before the connection closes (a flush timer firing after would fail, and
   * the other instances would never learn of this one's last requests). Requests consumed after
   * it are counted here only.
   */
  close(): Promise<void>;
}

export const RATE_LIMIT_COLLECTION = 'rate_limits';
/**
 * Budgets are acknowledged by the primary alone and read locally: a budget is not a record (an
 * election may forget a window and let a client a few more requests), and the majority concern
 * of the data (platform/mongo.ts) would add a replication round trip.
 */
export const BUDGET_CONCERNS: DbOptions = { writeConcern: { w: 1 }, readConcern: new ReadConcern('local') };

const FLUSH_MS = 100;

interface WindowDoc {
  /** `<name>:<key>:<window start, ms>`: one document per key and window, found by `_id` alone. */
  _id: string;
  points: number;
  /** When the window ends: sweep() removes it after. */
  expire: Date;
}

/** One key's requests in one window, by the window document's `_id`. */
interface Counter {
  /** Start of the window (ms). */
  window: number;
  /** Every instance's requests in the window, as last read from the database. */
  shared: number;
  /** This process's requests not yet added to `shared`: being added, and not yet sent. */
  sending: number;
  pending: number;
}

export async function mongoRateLimit(
  db: Db,
  options: { name: string; points: number; durationSeconds: number; now?: () => number; onError?: (err: unknown) => void },
): Promise<SharedRateLimit> {
  const collection = db.client.db(db.databaseName, BUDGET_CONCERNS).collection<WindowDoc>(RATE_LIMIT_COLLECTION);
  // The unique index on `key` that rate-limiter-flexible's documents needed would refuse these.
  if ((await collection.indexExists('key').catch(() => false)) === true) await collection.dropIndex('key');
  const now = options.now ?? Date.now;
  const durationMs = options.durationSeconds * 1000;
  const counters = new Map<string, Counter>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let flushing: Promise<void> = Promise.resolve();
  let lastSweep = now();

  const windowOf = (at: number) => Math.floor(at / durationMs) * durationMs;
  const idOf = (key: string, window: number) => `${options.name}:${key}:${window}`;

  async function addPending(): Promise<void> {
    const at = now();
    for (const [id, counter] of counters) {
      // A window that has ended counts for nothing any more.
      if (counter.window + durationMs <= at) {
        if (counter.sending === 0) counters.delete(id);
        continue;
      }
      if (counter.pending === 0) continue;
      const added = counter.pending;
      counter.pending = 0;
      counter.sending += added;
      try {
        const doc = await collection.findOneAndUpdate(
          { _id: id },
          { $inc: { points: added }, $setOnInsert: { expire: new Date(counter.window + durationMs) } },
          { upsert: true, returnDocument: 'after' },
        );
        counter.sending -= added;
        counter.shared = Math.max(counter.shared, doc?.points ?? 0);
      } catch (err) {
        // Sent again at the next flush.
        counter.sending -= added;
        counter.pending += added;
        options.onError?.(err);
      }
    }
    if (at - lastSweep >= durationMs) {
      lastSweep = at;
      await sweepRateLimits(db, new Date(at)).catch((err: unknown) => options.onError?.(err));
    }
  }

  function flush(): Promise<void> {
    flushing = flushing.then(addPending);
    return flushing;
  }

  function schedule(): void {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush().then(() => {
        if ([...counters.values()].some((c) => c.pending > 0)) schedule();
      });
    }, FLUSH_MS);
    timer.unref();
  }

  return {
    flush,
    close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      return flush();
    },
    async consume(key) {
      const at = now();
      const window = windowOf(at);
      const id = idOf(key, window);
      let counter = counters.get(id);
      if (!counter) {
        counter = { window, shared: 0, sending: 0, pending: 0 };
        counters.set(id, counter);
      }
      if (counter.shared + counter.sending + counter.pending >= options.points) {
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window + durationMs - at) / 1000)) };
      }
      counter.pending++;
      schedule();
      return { allowed: true };
    },
  };
}

/** Removes windows that ended before `now`. */
export async function sweepRateLimits(db: Db, now: Date): Promise<number> {
  const result = await db.collection(RATE_LIMIT_COLLECTION).deleteMany({ expire: { $lt: now } });
  return result.deletedCount;
}
