/**
 * Bulk Data export jobs: what a client asked to export (system, patients, a Group; types; since),
 * where the job stands (accepted → in-progress → completed, failed or cancelled), the NDJSON files
 * it produced, and when they expire. Any instance may run a job (it holds the job's lease while
 * it does); the files are in the database (export-files.ts), so any instance serves them.
 * See: https://hl7.org/fhir/uv/bulkdata/export.html
 */
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS, isDuplicateKey } from './connection';
import { type RecordedClient, recordedClient, recordedClientSchema } from './recorded-client';

export const EXPORT_JOBS_COLLECTION = 'workflow_export_jobs';
export const EXPORT_CANCELLATIONS_COLLECTION = 'workflow_export_cancellations';

export type ExportState = 'accepted' | 'in-progress' | 'completed' | 'failed' | 'cancelled';

export interface ExportRequest {
  readonly level: 'system' | 'patient' | 'group';
  /** `Group/<id>` for a group export. */
  readonly group?: string;
  /** Resource types to export, in order. */
  readonly types: readonly string[];
  /** Only resources last updated at or after this instant (_since). */
  readonly since?: string;
  /** The kick-off request's URL, as the manifest repeats it. */
  readonly requestUrl: string;
}

export interface ExportFile {
  readonly type: string;
  /** The file's id (export-files.ts). */
  readonly file: string;
  readonly count: number;
  readonly bytes: number;
}

export interface ExportJob {
  readonly id: string;
  readonly requestedBy: RecordedClient;
  readonly request: ExportRequest;
  readonly state: ExportState;
  /** The instant the export reflects (the manifest's transactionTime). */
  readonly transactionTime: Date;
  readonly created: Date;
  /** How far it got, for X-Progress. */
  readonly progress?: string;
  readonly output: readonly ExportFile[];
  readonly error?: string;
  readonly finished?: Date;
  /** When its files are deleted. */
  readonly expires?: Date;
}

interface JobDocument {
  _id: string;
  requestedBy: RecordedClient;
  request: ExportRequest;
  state: ExportState;
  transactionTime: Date;
  created: Date;
  progress?: string;
  output: ExportFile[];
  error?: string;
  finished?: Date;
  expires?: Date;
}

const schema = new Schema<JobDocument>(
  {
    _id: { type: String, required: true },
    requestedBy: { type: recordedClientSchema, required: true },
    request: { type: Schema.Types.Mixed, required: true },
    state: { type: String, required: true, enum: ['accepted', 'in-progress', 'completed', 'failed', 'cancelled'], index: true },
    transactionTime: { type: Date, required: true },
    created: { type: Date, required: true },
    progress: { type: String },
    output: { type: Schema.Types.Mixed, required: true },
    error: { type: String },
    finished: { type: Date },
    expires: { type: Date, index: true },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: EXPORT_JOBS_COLLECTION, minimize: false },
);

/**
 * A job's cancellation (its owner's DELETE) is a document of its own, inserted once, never an
 * update of the job: on FerretDB an update reads the document and writes it back whole, so the
 * worker's progress note or result, written in the same milliseconds, would write the job back
 * as it was before the cancellation (docs/storage.md). The worker alone updates the job.
 */
interface CancellationDocument {
  _id: string;
  at: Date;
}

const cancellationSchema = new Schema<CancellationDocument>(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: EXPORT_CANCELLATIONS_COLLECTION },
);

export interface ExportJobs {
  create(job: { id: string; requestedBy: RecordedClient; request: ExportRequest; now: Date }): Promise<ExportJob>;
  get(id: string): Promise<ExportJob | undefined>;
  /** Jobs accepted or in progress (to run, or to take over from a crashed instance). */
  unfinished(limit: number): Promise<ExportJob[]>;
  progress(id: string, progress: string): Promise<void>;
  started(id: string): Promise<void>;
  /** The job's result; only while it is still running (a cancelled job stays cancelled). */
  finish(id: string, result: { state: 'completed' | 'failed'; output: readonly ExportFile[]; error?: string; now: Date; expires: Date }): Promise<boolean>;
  /** Cancels a job that has not finished, or ends a finished one early; false when there is none. */
  cancel(id: string, now: Date): Promise<boolean>;
  /** Jobs whose files expired (or that were cancelled) before `now`: their files are to be deleted. */
  expired(now: Date, limit: number): Promise<ExportJob[]>;
  remove(id: string): Promise<void>;
}

export function exportJobs(connection: Connection): { records: ExportJobs; models: [Model<JobDocument>, Model<CancellationDocument>] } {
  const model = (connection.models.WorkflowExportJob as Model<JobDocument> | undefined) ?? connection.model<JobDocument>('WorkflowExportJob', schema);
  const cancellations =
    (connection.models.WorkflowExportCancellation as Model<CancellationDocument> | undefined) ?? connection.model<CancellationDocument>('WorkflowExportCancellation', cancellationSchema);
  const cancellationOf = (id: string) => cancellations.findOne({ _id: id }).setOptions({ sanitizeFilter: true }).lean<CancellationDocument>();
  const get = async (id: string) => {
    const [doc, cancelled] = await Promise.all([model.findOne({ _id: id }).setOptions({ sanitizeFilter: true }).lean<JobDocument>(), cancellationOf(id)]);
    return doc === null ? undefined : fromDocument(doc, cancelled ?? undefined);
  };
  const records: ExportJobs = {
    async create({ id, requestedBy, request, now }) {
      const doc = await model.create({ _id: id, requestedBy: recordedClient(requestedBy), request, state: 'accepted', transactionTime: now, created: now, output: [] });
      return fromDocument(doc.toObject());
    },
    get,
    async unfinished(limit) {
      const cancelled = (await cancellations.find({}, { _id: 1 }).lean<CancellationDocument[]>()).map((c) => c._id);
      const running = { state: { $in: ['accepted', 'in-progress'] as ExportState[] }, ...(cancelled.length > 0 ? { _id: { $nin: cancelled } } : {}) };
      return (await model.find(running).sort({ created: 1 }).limit(limit).lean<JobDocument[]>()).map((doc) => fromDocument(doc));
    },
    async progress(id, progress) {
      await model.updateOne({ _id: id, state: 'in-progress' }, { $set: { progress } }).setOptions({ sanitizeFilter: true });
    },
    async started(id) {
      await model.updateOne({ _id: id, state: 'accepted' }, { $set: { state: 'in-progress', progress: 'started' } }).setOptions({ sanitizeFilter: true });
    },
    async finish(id, result) {
      // A cancellation written after this check still wins: get() reads it over the job.
      if (await cancellationOf(id)) return false;
      const updated = await model.updateOne(
        { _id: id, state: { $in: ['accepted', 'in-progress'] } },
        { $set: { state: result.state, output: [...result.output], finished: result.now, expires: result.expires, ...(result.error ? { error: result.error } : {}) }, $unset: { progress: 1 } },
      );
      return updated.matchedCount === 1;
    },
    async cancel(id, now) {
      const job = await get(id);
      if (!job || job.state === 'cancelled') return job !== undefined;
      try {
        await cancellations.create({ _id: id, at: now });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error; // cancelled meanwhile
      }
      return true;
    },
    async expired(now, limit) {
      // Cancelled jobs first (their files go at once), then those past their expiry.
      const cancelled = await cancellations.find({ at: { $lte: now } }).limit(limit).lean<CancellationDocument[]>();
      const docs = cancelled.length > 0 ? await model.find({ _id: { $in: cancelled.map((c) => c._id) } }).lean<JobDocument[]>() : [];
      const byId = new Map(docs.map((d) => [d._id, d]));
      const jobs: ExportJob[] = [];
      for (const c of cancelled) {
        const doc = byId.get(c._id);
        if (doc) jobs.push(fromDocument(doc, c));
        // A job removed before its cancellation was: nothing is left to expire but the cancellation.
        else await cancellations.deleteOne({ _id: c._id }).setOptions({ sanitizeFilter: true });
      }
      if (jobs.length >= limit) return jobs;
      const past = await model
        .find({ expires: { $lte: now }, ...(cancelled.length > 0 ? { _id: { $nin: cancelled.map((c) => c._id) } } : {}) })
        .limit(limit - jobs.length)
        .lean<JobDocument[]>();
      return [...jobs, ...past.map((doc) => fromDocument(doc))];
    },
    async remove(id) {
      await model.deleteOne({ _id: id }).setOptions({ sanitizeFilter: true });
      await cancellations.deleteOne({ _id: id }).setOptions({ sanitizeFilter: true });
    },
  };
  return { records, models: [model, cancellations] };
}

/** The job as it stands: a cancelled one ended (and expired) when it was cancelled, unless it had ended before. */
function fromDocument(doc: JobDocument, cancelled?: CancellationDocument): ExportJob {
  if (cancelled) {
    doc = { ...doc, state: 'cancelled', finished: doc.finished ?? cancelled.at, expires: cancelled.at };
  }
  return {
    id: doc._id,
    requestedBy: recordedClient(doc.requestedBy),
    request: doc.request,
    state: doc.state,
    transactionTime: doc.transactionTime,
    created: doc.created,
    ...((doc.progress !== undefined && doc.progress !== null) ? { progress: doc.progress } : {}),
    output: doc.output ?? [],
    ...((doc.error !== undefined && doc.error !== null) ? { error: doc.error } : {}),
    ...((doc.finished !== undefined && doc.finished !== null) ? { finished: doc.finished } : {}),
    ...((doc.expires !== undefined && doc.expires !== null) ? { expires: doc.expires } : {}),
  };
}
