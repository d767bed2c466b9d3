/**
 * The local development client: on the embedded database only (MONGODB_URI unset) and only while
 * no client is registered, the service registers one administrator client and writes its
 * credentials (client_id and private key) into DATA_DIR, readable by their owner only, so that
 * the quick start stays two commands: `npm start`, then `TOKEN=$(npm run -s token)`. Whoever can
 * read DATA_DIR can read the embedded database's files anyway: the key adds no new reach.
 * Never on MongoDB, where clients are registered with `npm run client:register`.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../platform/logger';
import { generateClientKey, writeCredentials } from './client-credentials';
import type { AuthService } from './service';

export const DEVELOPMENT_CLIENT_ID = 'casebridge-local-development';
export const DEVELOPMENT_CLIENT_FILE = 'development-client.json';

/** Full access, as the README walk-through needs (create, read, search, update, delete, history);
 *  the purposes let a developer try purpose-of-use rules. */
const DEVELOPMENT_CLIENT = {
  clientId: DEVELOPMENT_CLIENT_ID,
  name: 'CaseBridge local development client (embedded database only)',
  role: 'administrator',
  scopes: ['system/*.cruds'],
  purposes: ['TREAT', 'HPAYMT', 'HOPERAT', 'PUBHLTH', 'CAREMGT', 'COC'],
} as const;

export function developmentCredentialsFile(dataDir: string): string {
  return path.join(dataDir, DEVELOPMENT_CLIENT_FILE);
}

export interface DevelopmentClientOptions {
  /** The embedded database (MONGODB_URI unset): the only one this is ever done on. */
  readonly embedded: boolean;
  readonly dataDir: string;
  readonly logger: Logger;
}

/**
 * On the embedded database, registers the development client when no client is registered.
 * Answers 'registered', 'present' (registered before, active, its credentials in DATA_DIR),
 * 'credentials-missing' (registered, but the file is gone) or 'not-needed' (MongoDB, or other
 * clients are registered: nothing is done).
 */
export type DevelopmentClientState = 'registered' | 'present' | 'credentials-missing' | 'not-needed';

export async function ensureDevelopmentClient(auth: AuthService, options: DevelopmentClientOptions): Promise<DevelopmentClientState> {
  const { dataDir, logger } = options;
  if (!options.embedded) return 'not-needed';
  const clients = await auth.clients();
  const file = developmentCredentialsFile(dataDir);
  if (clients.some((c) => c.clientId === DEVELOPMENT_CLIENT_ID && c.active)) {
    return (await access(file).then(() => true, () => false)) ? 'present' : 'credentials-missing';
  }
  if (clients.length > 0) return 'not-needed';
  const { privateJwk, publicJwks } = await generateClientKey('ES384');
  // The key first: a failed registration leaves a key no client has, which the next start replaces.
  await writeCredentials(file, { client_id: DEVELOPMENT_CLIENT_ID, private_key: privateJwk });
  await auth.register({ ...DEVELOPMENT_CLIENT, scopes: [...DEVELOPMENT_CLIENT.scopes], purposes: [...DEVELOPMENT_CLIENT.purposes], jwks: publicJwks });
  logger.warn({ clientId: DEVELOPMENT_CLIENT_ID, credentials: file }, 'registered the local development client (administrator, system/*.cruds) because no client was registered on this embedded database');
  return 'registered';
}
