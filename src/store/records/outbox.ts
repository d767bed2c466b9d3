/**
 * The outbox: work that must reach another system — a subscription notification, a referral sent
 * to a partner and the polls that follow it, an attachment pushed to a payer — recorded in the
 * database before it is attempted, so that it survives a restart, is retried with backoff, and
 * is done once whatever the number of instances (each attempt holds a lease: leases.ts).
 *
 * An entry's `_id` is its meaning (`notify:<subscription>:<Type/id/_history/v>`,
 * `referral-send:<task>`): enqueueing the same work twice records it once, so whoever notices
 * the work may enqueue it without coordination. Done and abandoned entries are kept a while (so
 * that late duplicates are still recognised) and then swept.
 */
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS, isDuplicateKey } from './connection';

export const OUTBOX_COLLECTION = 'workflow_outbox';

/** pending: to attempt at `due`; done: delivered (or no longer needed); dead: abandoned after its last attempt. */
export type OutboxState = 'pending' | 'done' | 'dead';

export interface OutboxEntry {
  readonly id: string;
  readonly kind: string;
  /** What the work is for (a Subscription id, a partner id): entries of one target are delivered in order. */
  readonly target: string;
  /** Its place among the target's entries (a notification's event number): equally due entries go in this order. */
  readonly order: number;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly state: OutboxState;
  /** Failed attempts so far. */
  readonly attempts: number;
  readonly due: Date;
  readonly created: Date;
  readonly lastError?: string;
  readonly finished?: Date;
}

interface OutboxDocument {
  _id: string;
  kind: string;
  target: string;
  order: number;
  payload: Record<string, unknown>;
  state: OutboxState;
  attempts: number;
  due: Date;
  created: Date;
  lastError?: string;
  finished?: Date;
}

const schema = new Schema<OutboxDocument>(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true, index: true },
    target: { type: String, required: true, index: true },
    order: { type: Number, required: true },
    payload: { type: Schema.Types.Mixed, required: true },
    state: { type: String, required: true, enum: ['pending', 'done', 'dead'] },
    attempts: { type: Number, required: true },
    due: { type: Date, required: true, index: true },
    created: { type: Date, required: true },
    lastError: { type: String },
    finished: { type: Date },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: OUTBOX_COLLECTION, minimize: false },
);

export interface Outbox {
  /** Records new work; 'exists' when an entry with this id is already there (in any state). */
  enqueue(entry: { id: string; kind: string; target: string; order?: number; payload: Record<string, unknown>; due: Date }, now: Date): Promise<'enqueued' | 'exists'>;
  get(id: string): Promise<OutboxEntry | undefined>;
  /** Pending entries of these kinds due at `now`, oldest due first (at most `limit`). */
  due(kinds: readonly string[], now: Date, limit: number): Promise<OutboxEntry[]>;
  /** Delivered, or no longer needed. */
  complete(id: string, now: Date, payload?: Record<string, unknown>): Promise<void>;
  /** Another attempt at `due` (a failure when `error` is given: counted); `payload` replaces it when given. */
  reschedule(id: string, change: { due: Date; error?: string; payload?: Record<string, unknown>; resetAttempts?: boolean }): Promise<void>;
  /** Holds back every pending entry of `target` until at least `due` (its endpoint is failing: keep them in order). */
  deferTarget(target: string, due: Date): Promise<void>;
  /** Abandoned after its last attempt. */
  abandon(id: string, now: Date, error: string): Promise<void>;
  count(filter: { kind?: string; target?: string; state?: OutboxState }): Promise<number>;
  list(filter: { kind?: string; target?: string; state?: OutboxState }): Promise<OutboxEntry[]>;
  /** Removes done and dead entries finished before `before`; answers how many. */
  sweep(before: Date): Promise<number>;
}

export function outbox(connection: Connection): { records: Outbox; model: Model<OutboxDocument> } {
  const model = (connection.models.WorkflowOutbox as Model<OutboxDocument> | undefined) ?? connection.model<OutboxDocument>('WorkflowOutbox', schema);
  const select = (filter: { kind?: string; target?: string; state?: OutboxState }) => ({
    ...(filter.kind !== undefined ? { kind: filter.kind } : {}),
    ...(filter.target !== undefined ? { target: filter.target } : {}),
    ...(filter.state !== undefined ? { state: filter.state } : {}),
  });
  const records: Outbox = {
    async enqueue(entry, now) {
      try {
        await model.create({ _id: entry.id, kind: entry.kind, target: entry.target, order: entry.order ?? 0, payload: entry.payload, state: 'pending', attempts: 0, due: entry.due, created: now });
        return 'enqueued';
      } catch (error) {
        if (isDuplicateKey(error)) return 'exists';
        throw error;
      }
    },
    async get(id) {
      const doc = await model.findOne({ _id: id }).setOptions({ sanitizeFilter: true }).lean<OutboxDocument>();
      return doc === null ? undefined : fromDocument(doc);
    },
    async due(kinds, now, limit) {
      const docs = await model
        .find({ state: 'pending', kind: { $in: [...kinds] }, due: { $lte: now } })
        .sort({ due: 1, order: 1, created: 1, _id: 1 })
        .limit(limit)
        .lean<OutboxDocument[]>();
      return docs.map(fromDocument);
    },
    async complete(id, now, payload) {
      await model.updateOne({ _id: id }, { $set: { state: 'done', finished: now, ...(payload ? { payload } : {}) }, $unset: { lastError: 1 } }).setOptions({ sanitizeFilter: true });
    },
    async reschedule(id, change) {
      const set: Record<string, unknown> = { due: change.due, ...(change.payload ? { payload: change.payload } : {}), ...(change.error !== undefined ? { lastError: change.error } : {}) };
      if (change.resetAttempts) set.attempts = 0;
      const update = change.error !== undefined && !change.resetAttempts ? { $set: set, $inc: { attempts: 1 } } : { $set: set };
      await model.updateOne({ _id: id }, update).setOptions({ sanitizeFilter: true });
    },
    async deferTarget(target, due) {
      await model.updateMany({ target, state: 'pending', due: { $lt: due } }, { $set: { due } });
    },
    async abandon(id, now, error) {
      await model.updateOne({ _id: id }, { $set: { state: 'dead', finished: now, lastError: error }, $inc: { attempts: 1 } });
    },
    count: (filter) => model.countDocuments(select(filter)),
    async list(filter) {
      return (await model.find(select(filter)).sort({ created: 1, order: 1, _id: 1 }).lean<OutboxDocument[]>()).map(fromDocument);
    },
    async sweep(before) {
      return (await model.deleteMany({ state: { $in: ['done', 'dead'] }, finished: { $lt: before } })).deletedCount;
    },
  };
  return { records, model };
}

function fromDocument(doc: OutboxDocument): OutboxEntry {
  return {
    id: doc._id,
    kind: doc.kind,
    target: doc.target,
    order: doc.order ?? 0,
    payload: doc.payload ?? {},
    state: doc.state,
    attempts: doc.attempts,
    due: doc.due,
    created: doc.created,
    ...((doc.lastError !== undefined && doc.lastError !== null) ? { lastError: doc.lastError } : {}),
    ...((doc.finished !== undefined && doc.finished !== null) ? { finished: doc.finished } : {}),
  };
}
