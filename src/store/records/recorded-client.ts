/**
 * A client as work done later on its behalf remembers it: the subscriber of a Subscription, the
 * requester of an export or of a payer's documentation request. What it may see is computed
 * again from this when the work runs (auth/access-scope.ts), and only while the client is still
 * registered and active.
 */
import { Schema } from 'mongoose';
import { CLIENT_ROLES, type ClientRole } from './registered-clients';

export interface RecordedClient {
  readonly clientId: string;
  readonly display: string;
  /** `Organization/<id>`. */
  readonly organization?: string;
  readonly role: ClientRole;
  /** The scopes its access token granted. */
  readonly scopes: readonly string[];
  /** The purposes of use its token stated. */
  readonly purposes: readonly string[];
}

export const recordedClientSchema = new Schema<RecordedClient>(
  {
    clientId: { type: String, required: true },
    display: { type: String, required: true },
    organization: { type: String },
    role: { type: String, required: true, enum: CLIENT_ROLES },
    scopes: { type: [String], required: true },
    purposes: { type: [String], default: [] },
  },
  { _id: false, id: false, versionKey: false, strict: 'throw' },
);

export function recordedClient(doc: RecordedClient): RecordedClient {
  return {
    clientId: doc.clientId,
    display: doc.display,
    ...((doc.organization !== undefined && doc.organization !== null) ? { organization: doc.organization } : {}),
    role: doc.role,
    scopes: [...doc.scopes],
    purposes: [...(doc.purposes ?? [])],
  };
}
