/**
 * The used-assertion ledger: a client assertion's jti is accepted once per client. SMART asks the
 * server to remember them for the assertion's lifetime; a record is kept until its `expiresAt`
 * (the assertion's exp plus the clock tolerance) and removed by a periodic sweep, since FerretDB
 * has no TTL indexes.
 * See: https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#signature-verification
 */
import { createHash } from 'node:crypto';
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS, isDuplicateKey } from './connection';

export const USED_ASSERTIONS_COLLECTION = 'used_client_assertions';

interface UsedAssertionDocument {
  /** sha256(client_id NUL jti): bounded, and free of whatever characters a jti may hold. */
  _id: string;
  clientId: string;
  expiresAt: Date;
}

const schema = new Schema<UsedAssertionDocument>(
  {
    _id: { type: String, required: true },
    clientId: { type: String, required: true },
    expiresAt: { type: Date, required: true, index: true },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: USED_ASSERTIONS_COLLECTION },
);

export interface UsedAssertions {
  /** 'replayed' when this client already used this jti (and its record has not expired). */
  record(assertion: { clientId: string; jti: string; expiresAt: Date }): Promise<'recorded' | 'replayed'>;
  /** Removes the records that expired before `now`; answers how many. */
  sweep(now: Date): Promise<number>;
}

export function usedAssertions(connection: Connection): { records: UsedAssertions; model: Model<UsedAssertionDocument> } {
  const model = connection.models.UsedAssertion as Model<UsedAssertionDocument> | undefined ?? connection.model<UsedAssertionDocument>('UsedAssertion', schema);
  const records: UsedAssertions = {
    async record({ clientId, jti, expiresAt }) {
      const _id = createHash('sha256').update(`${clientId}\0${jti}`).digest('hex');
      try {
        await model.create({ _id, clientId, expiresAt });
        return 'recorded';
      } catch (error) {
        if (isDuplicateKey(error)) return 'replayed';
        throw error;
      }
    },
    async sweep(now) {
      const result = await model.deleteMany({ expiresAt: { $lt: now } });
      return result.deletedCount;
    },
  };
  return { records, model };
}
