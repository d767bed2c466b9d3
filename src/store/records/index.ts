/** The operational records on one database connection: what auth/ (and later jobs) read and write. */
import type { MongoConnection } from '../../platform/mongo';
import { recordsConnection } from './connection';
import { type RegisteredClients, REGISTERED_CLIENTS_COLLECTION, registeredClients } from './registered-clients';
import { type SigningKeys, SIGNING_KEYS_COLLECTION, signingKeys } from './signing-keys';
import { type UsedAssertions, USED_ASSERTIONS_COLLECTION, usedAssertions } from './used-assertions';
import { CHECKPOINTS_COLLECTION } from './checkpoints';
import { EXPORT_FILES_COLLECTION } from './export-files';
import { EXPORT_CANCELLATIONS_COLLECTION, EXPORT_JOBS_COLLECTION } from './export-jobs';
import { LEASES_COLLECTION } from './leases';
import { OUTBOX_COLLECTION } from './outbox';
import { PARTNERS_COLLECTION } from './partners';
import { SUBSCRIPTION_EVENTS_COLLECTION, SUBSCRIPTION_STATE_COLLECTION } from './subscription-state';

export { CLIENT_ROLES, type ClientRole, type JsonWebKeySet, type RegisteredClient, type RegisteredClients } from './registered-clients';
export type { SigningKeyRecord, SigningKeys } from './signing-keys';
export type { UsedAssertions } from './used-assertions';
export type { Checkpoints } from './checkpoints';
export type { ExportFiles, FileWriter } from './export-files';
export type { ExportFile, ExportJob, ExportJobs, ExportRequest, ExportState } from './export-jobs';
export type { Leases } from './leases';
export type { Outbox, OutboxEntry, OutboxState } from './outbox';
export type { Partner, PartnerCredentials, Partners } from './partners';
export type { RecordedClient } from './recorded-client';
export type { SubscriptionState, SubscriptionStates } from './subscription-state';
export { type WorkflowRecords, workflowRecords } from './workflow-records';

/** Collections of the operational records (never resource collections: those are named by type). */
export const RECORD_COLLECTIONS: readonly string[] = [
  REGISTERED_CLIENTS_COLLECTION,
  USED_ASSERTIONS_COLLECTION,
  SIGNING_KEYS_COLLECTION,
  // The workflows' (workflow-records.ts).
  OUTBOX_COLLECTION,
  LEASES_COLLECTION,
  EXPORT_JOBS_COLLECTION,
  EXPORT_CANCELLATIONS_COLLECTION,
  EXPORT_FILES_COLLECTION,
  PARTNERS_COLLECTION,
  SUBSCRIPTION_STATE_COLLECTION,
  SUBSCRIPTION_EVENTS_COLLECTION,
  CHECKPOINTS_COLLECTION,
];

export interface OperationalRecords {
  readonly clients: RegisteredClients;
  readonly usedAssertions: UsedAssertions;
  readonly signingKeys: SigningKeys;
}

/** The records on `connection`, their collections and indexes created (idempotent). */
export async function operationalRecords(connection: MongoConnection): Promise<OperationalRecords> {
  const odm = recordsConnection(connection);
  const clients = registeredClients(odm);
  const assertions = usedAssertions(odm);
  const keys = signingKeys(odm);
  for (const model of [clients.model, assertions.model, keys.model]) {
    await model.createCollection().catch((error: unknown) => {
      // NamespaceExists (48): made by an earlier start.
      if ((error as { code?: unknown }).code !== 48) throw error;
    });
    await model.createIndexes();
  }
  return { clients: clients.records, usedAssertions: assertions.records, signingKeys: keys.records };
}
