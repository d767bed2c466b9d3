/**
 * The server's signing keys for access tokens, shared by every instance on the database: each
 * verifies what any other signed. A key is generated on first start (auth/signing-keys.ts);
 * rotation adds a newer one (docs/security.md).
 */
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS, isDuplicateKey } from './connection';

export const SIGNING_KEYS_COLLECTION = 'signing_keys';

export interface SigningKeyRecord {
  readonly kid: string;
  readonly alg: 'ES384';
  readonly publicJwk: Record<string, unknown>;
  readonly privateJwk: Record<string, unknown>;
  readonly created: Date;
}

interface SigningKeyDocument {
  _id: string;
  alg: 'ES384';
  publicJwk: Record<string, unknown>;
  privateJwk: Record<string, unknown>;
  created: Date;
}

const schema = new Schema<SigningKeyDocument>(
  {
    _id: { type: String, required: true },
    alg: { type: String, required: true, enum: ['ES384'] },
    publicJwk: { type: Schema.Types.Mixed, required: true },
    privateJwk: { type: Schema.Types.Mixed, required: true },
    created: { type: Date, required: true },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: SIGNING_KEYS_COLLECTION, minimize: false },
);

export interface SigningKeys {
  /** Oldest first. */
  list(): Promise<SigningKeyRecord[]>;
  /** False when a key with this kid exists already. */
  add(key: SigningKeyRecord): Promise<boolean>;
  /** False when there is no such key. */
  remove(kid: string): Promise<boolean>;
}

export function signingKeys(connection: Connection): { records: SigningKeys; model: Model<SigningKeyDocument> } {
  const model = connection.models.SigningKey as Model<SigningKeyDocument> | undefined ?? connection.model<SigningKeyDocument>('SigningKey', schema);
  const records: SigningKeys = {
    async list() {
      const docs = await model.find({}).sort({ created: 1, _id: 1 }).lean<SigningKeyDocument[]>();
      return docs.map((d) => ({ kid: d._id, alg: d.alg, publicJwk: d.publicJwk, privateJwk: d.privateJwk, created: d.created }));
    },
    async add(key) {
      try {
        await model.create({ _id: key.kid, alg: key.alg, publicJwk: key.publicJwk, privateJwk: key.privateJwk, created: key.created });
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    },
    async remove(kid) {
      const result = await model.deleteOne({ _id: kid }).setOptions({ sanitizeFilter: true });
      return result.deletedCount === 1;
    },
  };
  return { records, model };
}
