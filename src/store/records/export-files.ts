/**
 * Export files, in the database so that every instance serves them: a file is a sequence of
 * chunks of at most CHUNK_BYTES, written as the export produces them and read back one at a
 * time, each by its `_id` (`<file>:<n>`) — the one query FerretDB answers from its index — so
 * writing and serving a file take constant memory however large it is.
 */
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS } from './connection';

export const EXPORT_FILES_COLLECTION = 'workflow_export_chunks';

/** 1 MiB: well under the 16 MiB document limit, few round trips. */
export const CHUNK_BYTES = 1024 * 1024;

interface ChunkDocument {
  _id: string;
  job: string;
  file: string;
  n: number;
  data: Buffer;
}

const schema = new Schema<ChunkDocument>(
  {
    _id: { type: String, required: true },
    job: { type: String, required: true, index: true },
    file: { type: String, required: true },
    n: { type: Number, required: true },
    data: { type: Buffer, required: true },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: EXPORT_FILES_COLLECTION },
);

/** A file being written: text in, chunks out as they fill. */
export interface FileWriter {
  write(text: string): Promise<void>;
  /** Writes what is left; answers the file's size in bytes. */
  close(): Promise<number>;
}

export interface ExportFiles {
  writer(job: string, file: string): FileWriter;
  /** The file's chunks in order; nothing for a file that does not exist. */
  read(file: string): AsyncIterable<Buffer>;
  /** Deletes every file of a job; answers how many chunks went. */
  removeJob(job: string): Promise<number>;
}

export function exportFiles(connection: Connection): { records: ExportFiles; model: Model<ChunkDocument> } {
  const model = (connection.models.WorkflowExportChunk as Model<ChunkDocument> | undefined) ?? connection.model<ChunkDocument>('WorkflowExportChunk', schema);
  const records: ExportFiles = {
    writer(job, file) {
      let pending: Buffer[] = [];
      let size = 0;
      let n = 0;
      let total = 0;
      /** Writes the full chunks pending (all that is pending when `last`), keeping the rest. */
      const flush = async (last: boolean) => {
        if (size === 0) return;
        const data = Buffer.concat(pending, size);
        let offset = 0;
        for (; data.length - offset >= CHUNK_BYTES || (last && offset < data.length); offset += CHUNK_BYTES) {
          await model.create({ _id: `${file}:${n}`, job, file, n, data: data.subarray(offset, offset + CHUNK_BYTES) });
          n++;
        }
        const rest = data.subarray(Math.min(offset, data.length));
        pending = rest.length > 0 ? [rest] : [];
        size = rest.length;
      };
      return {
        async write(text) {
          const bytes = Buffer.from(text, 'utf8');
          pending.push(bytes);
          size += bytes.length;
          total += bytes.length;
          if (size >= CHUNK_BYTES) await flush(false);
        },
        async close() {
          await flush(true);
          return total;
        },
      };
    },
    async *read(file) {
      for (let n = 0; ; n++) {
        // A hydrated document: mongoose casts the stored binary back to a Buffer.
        const chunk = await model.findOne({ _id: `${file}:${n}` }).setOptions({ sanitizeFilter: true });
        if (chunk === null) return;
        yield chunk.data;
      }
    },
    async removeJob(job) {
      return (await model.deleteMany({ job }).setOptions({ sanitizeFilter: true })).deletedCount;
    },
  };
  return { records, model };
}
