/**
 * Request budgets shared by every instance on one database: a fixed window of `points` requests
 * per `durationSeconds` per key, counted in the database (rate-limiter-flexible's Mongo store,
 * so two instances behind one load balancer share a client's budget). FerretDB has no TTL
 * indexes: an expired window is replaced by the next request of its key, and sweep() removes the
 * windows of keys gone quiet.
 */
import { type Db, type DbOptions, ReadConcern } from 'mongodb';
import { RateLimiterMongo, RateLimiterRes } from 'rate-limiter-flexible';

export type Budget = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

export interface RateLimit {
  /** Spends one request of `key`'s budget. */
  consume(key: string): Promise<Budget>;
}

export const RATE_LIMIT_COLLECTION = 'rate_limits';
const COLLECTION = RATE_LIMIT_COLLECTION;
export const BUDGET_CONCERNS: DbOptions = { writeConcern: { w: 1 }, readConcern: new ReadConcern('local') };

export async function mongoRateLimit(db: Db, options: { name: string; points: number; durationSeconds: number }): Promise<RateLimit> {
  // The library would create a TTL index, which FerretDB refuses: create the key index ourselves.
  await db.collection(COLLECTION).createIndex({ key: 1 }, { unique: true, name: 'key' });
  const limiter = new RateLimiterMongo({
    // Every request updates its budget: acknowledged by the primary alone, read locally. A budget
    // is not a record (an election may forget a window and let a client a few more requests),
    // and the majority concern of the data (platform/mongo.ts) would add a replication round
    // trip to every request.
    storeClient: db.client.db(db.databaseName, BUDGET_CONCERNS),
    tableName: COLLECTION,
    keyPrefix: options.name,
    points: options.points,
    duration: options.durationSeconds,
    disableIndexesCreation: true,
  });
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
        return { allowed: true };
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
        }
        throw err;
      }
    },
  };
}

/** Removes windows that ended before `now` (the library replaces them anyway; this keeps the collection small). */
export async function sweepRateLimits(db: Db, now: Date): Promise<number> {
  const result = await db.collection(COLLECTION).deleteMany({ expire: { $lt: now } });
  return result.deletedCount;
}
