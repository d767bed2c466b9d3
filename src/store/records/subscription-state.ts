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
export const SUBSCRIPTION_EVENTS_COLLECTION = 'workflow_subscription_events';

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
  /** Written by earlier versions only: the count is in EventsDocument (kept to carry it on). */
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

/**
 * The count of a subscription's events, each notification's number, in a document of its own
 * that only the scan of the subscription writes (one at a time, under its lease). On FerretDB an
 * update reads the document and writes it back whole: a delivery's failure count or its success,
 * written in the same milliseconds as the scan's count in the same document, wrote the count back
 * as it was, and the next notification took a number already sent (docs/storage.md).
 */
interface EventsDocument {
  _id: string;
  events: number;
}

const eventsSchema = new Schema<EventsDocument>(
  {
    _id: { type: String, required: true },
    events: { type: Number, required: true },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: SUBSCRIPTION_EVENTS_COLLECTION },
);

export interface SubscriptionStates {
  /** Records (or replaces) the subscriber; keeps the rest. */
  subscribe(id: string, subscriber: RecordedClient, now: Date): Promise<void>;
  get(id: string): Promise<SubscriptionState | undefined>;
  /** It is active from `start`: changes since are notified. */
  activate(id: string, start: Date, now: Date): Promise<void>;
  setCheckpoint(id: string, checkpoint: Date, now: Date): Promise<void>;
  /** Counts `n` more events; answers the new total. Only the subscription's scan counts (one at a time). */
  addEvents(id: string, n: number, now: Date): Promise<number>;
  /** A failed delivery; answers the run of failures. */
  failed(id: string, error: string, now: Date): Promise<number>;
  /** A delivery went through: the run of failures ends. */
  succeeded(id: string, now: Date): Promise<void>;
  remove(id: string): Promise<void>;
  ids(): Promise<string[]>;
}

export function subscriptionStates(connection: Connection): { records: SubscriptionStates; models: [Model<StateDocument>, Model<EventsDocument>] } {
  const model = (connection.models.WorkflowSubscription as Model<StateDocument> | undefined) ?? connection.model<StateDocument>('WorkflowSubscription', schema);
  const counts =
    (connection.models.WorkflowSubscriptionEvents as Model<EventsDocument> | undefined) ?? connection.model<EventsDocument>('WorkflowSubscriptionEvents', eventsSchema);
  const find = (id: string) => model.findOne({ _id: id }).setOptions({ sanitizeFilter: true }).lean<StateDocument>();
  const countOf = (id: string) => counts.findOne({ _id: id }).setOptions({ sanitizeFilter: true }).lean<EventsDocument>();
  const records: SubscriptionStates = {
    async subscribe(id, subscriber, now) {
      await model
        .updateOne({ _id: id }, { $set: { subscriber: recordedClient(subscriber), updated: now }, $setOnInsert: { events: 0, failures: 0 } }, { upsert: true })
        .setOptions({ sanitizeFilter: true });
    },
    async get(id) {
      const [doc, count] = await Promise.all([find(id), countOf(id)]);
      return doc === null ? undefined : fromDocument(doc, count ?? undefined);
    },
    async activate(id, start, now) {
      await model.updateOne({ _id: id }, { $set: { start, checkpoint: start, updated: now } }).setOptions({ sanitizeFilter: true });
    },
    async setCheckpoint(id, checkpoint, now) {
      await model.updateOne({ _id: id }, { $set: { checkpoint, updated: now } }).setOptions({ sanitizeFilter: true });
    },
    async addEvents(id, n, now) {
      // The first count carries on from what an earlier version kept in the state.
      const events = ((await countOf(id))?.events ?? (await find(id))?.events ?? 0) + n;
      await counts.updateOne({ _id: id }, { $set: { events } }, { upsert: true }).setOptions({ sanitizeFilter: true });
      await model.updateOne({ _id: id }, { $set: { updated: now } }).setOptions({ sanitizeFilter: true });
      return events;
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
      await counts.deleteOne({ _id: id }).setOptions({ sanitizeFilter: true });
    },
    async ids() {
      return (await model.find({}, { _id: 1 }).lean<{ _id: string }[]>()).map((d) => d._id);
    },
  };
  return { records, models: [model, counts] };
}

function fromDocument(doc: StateDocument, count?: EventsDocument): SubscriptionState {
  return {
    id: doc._id,
    subscriber: recordedClient(doc.subscriber),
    ...(doc.start !== undefined && doc.start !== null ? { start: doc.start } : {}),
    ...((doc.checkpoint !== undefined && doc.checkpoint !== null) ? { checkpoint: doc.checkpoint } : {}),
    events: count?.events ?? doc.events,
    failures: doc.failures,
    ...((doc.lastError !== undefined && doc.lastError !== null) ? { lastError: doc.lastError } : {}),
    updated: doc.updated,
  };
}
