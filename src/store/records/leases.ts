/**
 * Leases: who does a piece of work (deliver a notification, send a referral, run an export,
 * scan a subscription) while several instances share the database. A lease is a document whose
 * `_id` names the work: inserting it succeeds for one instance only — a unique `_id` is the one
 * conditional write FerretDB 1.x performs atomically (store/mongo/locks.ts). It lapses at
 * `until`, so the work of an instance that crashed is taken up by another; taking over a lapsed
 * lease (delete, then insert) is the one step that is not atomic on FerretDB, and only matters
 * after a crash. Released leases are deleted; lapsed ones are swept (no TTL index on FerretDB).
 */
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS, isDuplicateKey } from './connection';

export const LEASES_COLLECTION = 'workflow_leases';

interface LeaseDocument {
  _id: string;
  owner: string;
  until: Date;
}

const schema = new Schema<LeaseDocument>(
  {
    _id: { type: String, required: true },
    owner: { type: String, required: true },
    until: { type: Date, required: true, index: true },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: LEASES_COLLECTION },
);

export interface Leases {
  /** True when `owner` now holds the lease `name` until now + ttlMs (taken, or taken over from a lapsed holder). */
  acquire(name: string, owner: string, at: { now: Date; ttlMs: number }): Promise<boolean>;
  /** Extends a lease `owner` holds; false when it lapsed and another took it. */
  renew(name: string, owner: string, until: Date): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
  /** Deletes leases that lapsed before `now` (their holders crashed); answers how many. */
  sweep(now: Date): Promise<number>;
}

export function leases(connection: Connection): { records: Leases; model: Model<LeaseDocument> } {
  const model = (connection.models.WorkflowLease as Model<LeaseDocument> | undefined) ?? connection.model<LeaseDocument>('WorkflowLease', schema);
  const records: Leases = {
    async acquire(name, owner, { now, ttlMs }) {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await model.create({ _id: name, owner, until: new Date(now.getTime() + ttlMs) });
          return true;
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
        }
        const holder = await model.findOne({ _id: name }).setOptions({ sanitizeFilter: true }).lean<LeaseDocument>();
        if (holder === null) continue;
        if (holder.owner === owner) return this.renew(name, owner, new Date(now.getTime() + ttlMs));
        if (holder.until.getTime() > now.getTime()) return false;
        await model.deleteOne({ _id: name, owner: holder.owner }).setOptions({ sanitizeFilter: true });
      }
      return false;
    },
    async renew(name, owner, until) {
      const result = await model.updateOne({ _id: name, owner }, { $set: { until } }).setOptions({ sanitizeFilter: true });
      return result.matchedCount === 1;
    },
    async release(name, owner) {
      await model.deleteOne({ _id: name, owner }).setOptions({ sanitizeFilter: true });
    },
    async sweep(now) {
      return (await model.deleteMany({ until: { $lt: now } })).deletedCount;
    },
  };
  return { records, model };
}
