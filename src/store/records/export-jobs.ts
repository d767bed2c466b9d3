/**
 * Bulk Data export jobs: what a client asked to export (system, patients, a Group; types; since),
 * where the job stands (accepted → in-progress → completed, failed or cancelled), the NDJSON files
 * it produced, and when they expire. Any instance may run a job (it holds the job's lease while
 * it does); the files are in the database (export-files.ts), so any instance serves them.
 * See: https://hl7.org/fhir/uv/bulkdata/export.html
 */
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS } from './connection';
import { type RecordedClient, recordedClient, recordedClientSchema } from './recorded-client';

export const EXPORT_JOBS_COLLECTION = 'workflow_export_jobs';

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

export function exportJobs(connection: Connection): { records: ExportJobs; model: Model<JobDocument> } {
  const model = (connection.models.WorkflowExportJob as Model<JobDocument> | undefined) ?? connection.model<JobDocument>('WorkflowExportJob', schema);
  const get = async (id: string) => {
    const doc = await model.findOne({ _id: id }).setOptions({ sanitizeFilter: true }).lean<JobDocument>();
    return doc === null ? undefined : fromDocument(doc);
  };
  const records: ExportJobs = {
    async create({ id, requestedBy, request, now }) {
      const doc = await model.create({ _id: id, requestedBy: recordedClient(requestedBy), request, state: 'accepted', transactionTime: now, created: now, output: [] });
      return fromDocument(doc.toObject());
    },
    get,
    async unfinished(limit) {
      return (await model.find({ state: { $in: ['accepted', 'in-progress'] } }).sort({ created: 1 }).limit(limit).lean<JobDocument[]>()).map(fromDocument);
    },
    async progress(id, progress) {
      await model.updateOne({ _id: id, state: 'in-progress' }, { $set: { progress } }).setOptions({ sanitizeFilter: true });
    },
    async started(id) {
      await model.updateOne({ _id: id, state: 'accepted' }, { $set: { state: 'in-progress', progress: 'started' } }).setOptions({ sanitizeFilter: true });
    },
    async finish(id, result) {
      const updated = await model
        .updateOne(
          { _id: id, state: { $in: ['accepted', 'in-progress'] } },
          { $set: { state: result.state, output: [...result.output], finished: result.now, expires: result.expires, ...(result.error ? { error: result.error } : {}) }, $unset: { progress: 1 } },
        )
        ;
      return updated.matchedCount === 1;
    },
    async cancel(id, now) {
      const job = await get(id);
      if (!job || job.state === 'cancelled') return job !== undefined;
      // Its files go at once: a cancelled job expires now.
      await model.updateOne({ _id: id }, { $set: { state: 'cancelled', finished: job.finished ?? now, expires: now } }).setOptions({ sanitizeFilter: true });
      return true;
    },
    async expired(now, limit) {
      return (await model.find({ expires: { $lte: now } }).limit(limit).lean<JobDocument[]>()).map(fromDocument);
    },
    async remove(id) {
      await model.deleteOne({ _id: id }).setOptions({ sanitizeFilter: true });
    },
  };
  return { records, model };
}

function fromDocument(doc: JobDocument): ExportJob {
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
