/**
 * What CaseBridge keeps about each Subscription beside the resource: who subscribed (whose view
 * of the data its notifications are limited to), how far its changes have been looked at, how
 * many events it has had (the backport's events-since-subscription-start), and its run of
 * failed deliveries (after a few, the Subscription's status becomes `error`).
 * See: https://hl7.org/fhir/R4/subscription.html
 */
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS } from './connection';
import { type RecordedClient, recordedClient, recordedClientSchema } from './recorded-client';

export const SUBSCRIPTION_STATE_COLLECTION = 'workflow_subscriptions';

export interface SubscriptionState {
  readonly id: string;
  readonly subscriber: RecordedClient;
  /** When it became active: changes before are not its business. */
  readonly start?: Date;
  /** Changes last updated before this have been looked at (less a margin). */
  readonly checkpoint?: Date;
  readonly events: number;
  /** Consecutive failed deliveries. */
  readonly failures: number;
  readonly lastError?: string;
  readonly updated: Date;
}

interface StateDocument {
  _id: string;
  subscriber: RecordedClient;
  start?: Date;
  checkpoint?: Date;
  events: number;
  failures: number;
  lastError?: string;
  updated: Date;
}

const schema = new Schema<StateDocument>(
  {
    _id: { type: String, required: true },
    subscriber: { type: recordedClientSchema, required: true },
    start: { type: Date },
    checkpoint: { type: Date },
    events: { type: Number, required: true },
    failures: { type: Number, required: true },
    lastError: { type: String },
    updated: { type: Date, required: true },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: SUBSCRIPTION_STATE_COLLECTION, minimize: false },
);

export interface SubscriptionStates {
  /** Records (or replaces) the subscriber; keeps the rest. */
  subscribe(id: string, subscriber: RecordedClient, now: Date): Promise<void>;
  get(id: string): Promise<SubscriptionState | undefined>;
  /** It is active from `start`: changes since are notified. */
  activate(id: string, start: Date, now: Date): Promise<void>;
  setCheckpoint(id: string, checkpoint: Date, now: Date): Promise<void>;
  /** Counts `n` more events; answers the new total. */
  addEvents(id: string, n: number, now: Date): Promise<number>;
  /** A failed delivery; answers the run of failures. */
  failed(id: string, error: string, now: Date): Promise<number>;
  /** A delivery went through: the run of failures ends. */
  succeeded(id: string, now: Date): Promise<void>;
  remove(id: string): Promise<void>;
  ids(): Promise<string[]>;
}

export function subscriptionStates(connection: Connection): { records: SubscriptionStates; model: Model<StateDocument> } {
  const model = (connection.models.WorkflowSubscription as Model<StateDocument> | undefined) ?? connection.model<StateDocument>('WorkflowSubscription', schema);
  const find = (id: string) => model.findOne({ _id: id }).setOptions({ sanitizeFilter: true }).lean<StateDocument>();
  const records: SubscriptionStates = {
    async subscribe(id, subscriber, now) {
      await model
        .updateOne({ _id: id }, { $set: { subscriber: recordedClient(subscriber), updated: now }, $setOnInsert: { events: 0, failures: 0 } }, { upsert: true })
        .setOptions({ sanitizeFilter: true });
    },
    async get(id) {
      const doc = await find(id);
      return doc === null ? undefined : fromDocument(doc);
    },
    async activate(id, start, now) {
      await model.updateOne({ _id: id }, { $set: { start, checkpoint: start, updated: now } }).setOptions({ sanitizeFilter: true });
    },
    async setCheckpoint(id, checkpoint, now) {
      await model.updateOne({ _id: id }, { $set: { checkpoint, updated: now } }).setOptions({ sanitizeFilter: true });
    },
    async addEvents(id, n, now) {
      await model.updateOne({ _id: id }, { $inc: { events: n }, $set: { updated: now } });
      return (await find(id))?.events ?? 0;
    },
    async failed(id, error, now) {
      await model.updateOne({ _id: id }, { $inc: { failures: 1 }, $set: { lastError: error, updated: now } });
      return (await find(id))?.failures ?? 0;
    },
    async succeeded(id, now) {
      await model.updateOne({ _id: id }, { $set: { failures: 0, updated: now }, $unset: { lastError: 1 } }).setOptions({ sanitizeFilter: true });
    },
    async remove(id) {
      await model.deleteOne({ _id: id }).setOptions({ sanitizeFilter: true });
    },
    async ids() {
      return (await model.find({}, { _id: 1 }).lean<{ _id: string }[]>()).map((d) => d._id);
    },
  };
  return { records, model };
}

function fromDocument(doc: StateDocument): SubscriptionState {
  return {
    id: doc._id,
    subscriber: recordedClient(doc.subscriber),
    ...(doc.start !== undefined && doc.start !== null ? { start: doc.start } : {}),
    ...((doc.checkpoint !== undefined && doc.checkpoint !== null) ? { checkpoint: doc.checkpoint } : {}),
    events: doc.events,
    failures: doc.failures,
    ...((doc.lastError !== undefined && doc.lastError !== null) ? { lastError: doc.lastError } : {}),
    updated: doc.updated,
  };
}
