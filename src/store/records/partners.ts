/**
 * Partners: the other agencies' FHIR servers CaseBridge exchanges referrals with, registered by an
 * administrator (a record of this collection; no command yet). Each names the Organization our records use for it
 * (a referral Task whose owner is that organisation is sent to the partner), its FHIR base URL,
 * how its own server names it and us (the Task's owner and requester there), and how we
 * authenticate to it: SMART Backend Services with a client it registered for us (our private
 * key for that registration is kept here: protect the database as you protect the records and
 * the signing keys), or a fixed bearer token. Outbound calls go to partners' base URLs only.
 */
import { type Connection, type Model, Schema } from 'mongoose';
import { RECORD_SCHEMA_OPTIONS } from './connection';

export const PARTNERS_COLLECTION = 'workflow_partners';

export type PartnerCredentials =
  | { readonly type: 'smart-backend'; readonly clientId: string; readonly privateJwk: Record<string, unknown>; readonly scope: string; readonly tokenUrl?: string }
  | { readonly type: 'bearer'; readonly token: string }
  | { readonly type: 'none' };

export interface Partner {
  readonly id: string;
  readonly name: string;
  /** `Organization/<id>`: the partner as our records name it. */
  readonly organization: string;
  /** Its FHIR base URL, without trailing slash. */
  readonly baseUrl: string;
  /** The partner's own organisation on its server (the owner of the Tasks we send it); default: `organization`. */
  readonly remoteOrganization?: string;
  /** Our organisation as the partner's server names it (the requester of the Tasks we send it). */
  readonly ourOrganization?: string;
  readonly credentials: PartnerCredentials;
  readonly active: boolean;
  readonly created: Date;
}

interface PartnerDocument {
  _id: string;
  name: string;
  organization: string;
  baseUrl: string;
  remoteOrganization?: string;
  ourOrganization?: string;
  credentials: PartnerCredentials;
  active: boolean;
  created: Date;
}

const REFERENCE = /^Organization\/[A-Za-z0-9.-]{1,64}$/;

const schema = new Schema<PartnerDocument>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    organization: { type: String, required: true, match: REFERENCE, unique: true },
    baseUrl: { type: String, required: true, match: /^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?[^/]$/ },
    remoteOrganization: { type: String, match: REFERENCE },
    ourOrganization: { type: String, match: REFERENCE },
    credentials: { type: Schema.Types.Mixed, required: true },
    active: { type: Boolean, required: true },
    created: { type: Date, required: true },
  },
  { ...RECORD_SCHEMA_OPTIONS, collection: PARTNERS_COLLECTION, minimize: false },
);

export interface Partners {
  register(partner: Omit<Partner, 'active' | 'created'>, now: Date): Promise<Partner>;
  find(id: string): Promise<Partner | undefined>;
  list(): Promise<Partner[]>;
  setActive(id: string, active: boolean): Promise<boolean>;
  remove(id: string): Promise<boolean>;
}

export function partners(connection: Connection): { records: Partners; model: Model<PartnerDocument> } {
  const model = (connection.models.WorkflowPartner as Model<PartnerDocument> | undefined) ?? connection.model<PartnerDocument>('WorkflowPartner', schema);
  const records: Partners = {
    async register(partner, now) {
      const created = await model.create({
        _id: partner.id,
        name: partner.name,
        organization: partner.organization,
        baseUrl: partner.baseUrl,
        ...(partner.remoteOrganization ? { remoteOrganization: partner.remoteOrganization } : {}),
        ...(partner.ourOrganization ? { ourOrganization: partner.ourOrganization } : {}),
        credentials: partner.credentials,
        active: true,
        created: now,
      });
      return fromDocument(created.toObject());
    },
    async find(id) {
      const doc = await model.findOne({ _id: id }).setOptions({ sanitizeFilter: true }).lean<PartnerDocument>();
      return doc === null ? undefined : fromDocument(doc);
    },
    async list() {
      return (await model.find({}).sort({ created: 1, _id: 1 }).lean<PartnerDocument[]>()).map(fromDocument);
    },
    async setActive(id, active) {
      return (await model.updateOne({ _id: id }, { $set: { active } }).setOptions({ sanitizeFilter: true })).matchedCount === 1;
    },
    async remove(id) {
      return (await model.deleteOne({ _id: id }).setOptions({ sanitizeFilter: true })).deletedCount === 1;
    },
  };
  return { records, model };
}

function fromDocument(doc: PartnerDocument): Partner {
  return {
    id: doc._id,
    name: doc.name,
    organization: doc.organization,
    baseUrl: doc.baseUrl,
    ...((doc.remoteOrganization !== undefined && doc.remoteOrganization !== null) ? { remoteOrganization: doc.remoteOrganization } : {}),
    ...((doc.ourOrganization !== undefined && doc.ourOrganization !== null) ? { ourOrganization: doc.ourOrganization } : {}),
    credentials: doc.credentials,
    active: doc.active,
    created: doc.created,
  };
}
