/**
 * Checkpoints of the workflows' periodic scans (how far the referral scan has looked), shared by
 * every instance so that a restart or another instance goes on from there.
 */
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS } from './connection';

export const CHECKPOINTS_COLLECTION = 'workflow_checkpoints';

interface CheckpointDocument {
  _id: string;
  at: Date;
}

const schema = new Schema<CheckpointDocument>(
  { _id: { type: String, required: true }, at: { type: Date, required: true } },
  { ...RECORD_SCHEMA_OPTIONS, collection: CHECKPOINTS_COLLECTION },
);

export interface Checkpoints {
  get(name: string): Promise<Date | undefined>;
  set(name: string, at: Date): Promise<void>;
}

export function checkpoints(connection: Connection): { records: Checkpoints; model: Model<CheckpointDocument> } {
  const model = (connection.models.WorkflowCheckpoint as Model<CheckpointDocument> | undefined) ?? connection.model<CheckpointDocument>('WorkflowCheckpoint', schema);
  return {
    model,
    records: {
      async get(name) {
        return (await model.findOne({ _id: name }).setOptions({ sanitizeFilter: true }).lean<CheckpointDocument>())?.at;
      },
      async set(name, at) {
        await model.updateOne({ _id: name }, { $set: { at } }, { upsert: true }).setOptions({ sanitizeFilter: true });
      },
    },
  };
}
