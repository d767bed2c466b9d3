/** The operational records on one database connection: what auth/ (and later jobs) read and write. */
import type { MongoConnection } from '../../platform/mongo';
import { recordsConnection } from './connection';
import { type RegisteredClients, REGISTERED_CLIENTS_COLLECTION, registeredClients } from './registered-clients';
import { type SigningKeys, SIGNING_KEYS_COLLECTION, signingKeys } from './signing-keys';
import { type UsedAssertions, USED_ASSERTIONS_COLLECTION, usedAssertions } from './used-assertions';

export { CLIENT_ROLES, type ClientRole, type JsonWebKeySet, type RegisteredClient, type RegisteredClients } from './registered-clients';
export type { SigningKeyRecord, SigningKeys } from './signing-keys';
export type { UsedAssertions } from './used-assertions';

/** Collections of the operational records (never resource collections: those are named by type). */
export const RECORD_COLLECTIONS: readonly string[] = [REGISTERED_CLIENTS_COLLECTION, USED_ASSERTIONS_COLLECTION, SIGNING_KEYS_COLLECTION];

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
