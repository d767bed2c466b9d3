/**
 * Registered clients: the backend services allowed to ask for tokens (SMART Backend Services),
 * each with the organisation it acts for, its role, the scopes and purposes of use it may be
 * granted, and its public keys (inline JWKS, or the jwks_uri an administrator registered).
 * See: https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#registering-a-client-communicating-public-keys
 */
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS } from './connection';

export const REGISTERED_CLIENTS_COLLECTION = 'registered_clients';

/** What a client is, which the access policy reads beside its scopes. */
export const CLIENT_ROLES = ['agency', 'ehr', 'payer', 'auditor', 'administrator'] as const;
export type ClientRole = (typeof CLIENT_ROLES)[number];

export interface JsonWebKeySet {
  readonly keys: readonly Record<string, unknown>[];
}

export interface RegisteredClient {
  readonly clientId: string;
  readonly name: string;
  /** `Organization/<id>`; absent only for administrator and auditor clients. */
  readonly organization?: string;
  readonly role: ClientRole;
  readonly scopes: readonly string[];
  readonly purposes: readonly string[];
  /** Exactly one of jwks and jwksUri. */
  readonly jwks?: JsonWebKeySet;
  readonly jwksUri?: string;
  readonly active: boolean;
  readonly created: Date;
  /** When it was last disabled, if it is. */
  readonly disabled?: Date;
}

interface ClientDocument {
  _id: string;
  name: string;
  organization?: string;
  role: ClientRole;
  scopes: string[];
  purposes: string[];
  jwks?: JsonWebKeySet;
  jwksUri?: string;
  active: boolean;
  created: Date;
  disabled?: Date;
}

const schema = new Schema<ClientDocument>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    organization: { type: String, match: /^Organization\/[A-Za-z0-9.-]{1,64}$/ },
    role: { type: String, required: true, enum: CLIENT_ROLES },
    scopes: { type: [String], required: true },
    purposes: { type: [String], default: [] },
    jwks: { type: Schema.Types.Mixed },
    jwksUri: { type: String },
    active: { type: Boolean, required: true },
    created: { type: Date, required: true },
    disabled: { type: Date },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: REGISTERED_CLIENTS_COLLECTION, minimize: false },
);
schema.pre('validate', function oneKeySource() {
  if ((this.jwks === undefined) === (this.jwksUri === undefined)) {
    throw new Error('A registered client has either an inline JWKS or a jwks_uri, not both and not neither.');
  }
});

export interface RegisteredClients {
  register(client: Omit<RegisteredClient, 'active' | 'created' | 'disabled'>, now: Date): Promise<RegisteredClient>;
  find(clientId: string): Promise<RegisteredClient | undefined>;
  /** False when there is no such client. */
  setActive(clientId: string, active: boolean, now: Date): Promise<boolean>;
  count(): Promise<number>;
  list(): Promise<RegisteredClient[]>;
  /** Deletes a registration (a temporary client's); disabling is how clients normally end.
   *  False when there is no such client. */
  remove(clientId: string): Promise<boolean>;
}

export function registeredClients(connection: Connection): { records: RegisteredClients; model: Model<ClientDocument> } {
  const model = connection.models.RegisteredClient as Model<ClientDocument> | undefined ?? connection.model<ClientDocument>('RegisteredClient', schema);
  const records: RegisteredClients = {
    async register(client, now) {
      const created = await model.create({
        _id: client.clientId,
        name: client.name,
        ...(client.organization !== undefined ? { organization: client.organization } : {}),
        role: client.role,
        scopes: [...client.scopes],
        purposes: [...client.purposes],
        ...(client.jwks !== undefined ? { jwks: client.jwks } : {}),
        ...(client.jwksUri !== undefined ? { jwksUri: client.jwksUri } : {}),
        active: true,
        created: now,
      });
      return fromDocument(created.toObject());
    },
    async find(clientId) {
      const doc = await model.findOne({ _id: clientId }).setOptions({ sanitizeFilter: true }).lean<ClientDocument>();
      return doc === null ? undefined : fromDocument(doc);
    },
    async setActive(clientId, active, now) {
      const update = active ? { $set: { active: true }, $unset: { disabled: 1 } } : { $set: { active: false, disabled: now } };
      const result = await model.updateOne({ _id: clientId }, update).setOptions({ sanitizeFilter: true });
      return result.matchedCount === 1;
    },
    count: () => model.countDocuments({}),
    async remove(clientId) {
      const result = await model.deleteOne({ _id: clientId }).setOptions({ sanitizeFilter: true });
      return result.deletedCount === 1;
    },
    async list() {
      const docs = await model.find({}).sort({ created: 1, _id: 1 }).lean<ClientDocument[]>();
      return docs.map(fromDocument);
    },
  };
  return { records, model };
}

function fromDocument(doc: ClientDocument): RegisteredClient {
  return {
    clientId: doc._id,
    name: doc.name,
    ...(doc.organization !== undefined && doc.organization !== null ? { organization: doc.organization } : {}),
    role: doc.role,
    scopes: doc.scopes,
    purposes: doc.purposes ?? [],
    ...(doc.jwks !== undefined && doc.jwks !== null ? { jwks: doc.jwks } : {}),
    ...(doc.jwksUri !== undefined && doc.jwksUri !== null ? { jwksUri: doc.jwksUri } : {}),
    active: doc.active,
    created: doc.created,
    ...(doc.disabled !== undefined && doc.disabled !== null ? { disabled: doc.disabled } : {}),
  };
}
