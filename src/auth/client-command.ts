/**
 * `npm run client:register | client:disable | client:enable | client:list` (src/client.ts):
 * the administrator's commands for registered clients, on the database the service uses
 * (MONGODB_URI, or the embedded one in DATA_DIR while the service is stopped).
 *
 *   npm run -s client:register -- --name "Riverside CMHS" --organization Organization/riverside \
 *     --role agency --scopes "system/*.cruds" [--purposes "TREAT CAREMGT"] \
 *     (--jwks-file jwks.json | --jwks-uri https://… | --generate-key riverside.json [--alg ES384|RS384]) \
 *     [--client-id riverside-cmhs]
 *   npm run -s client:disable -- --client-id <id>
 *   npm run -s signing-key:rotate            (a newer key for access tokens; lists the keys)
 *   npm run -s signing-key:retire -- --kid <kid>   (removes an older one)
 *
 * register prints the client_id alone on standard output (the rest goes to standard error).
 */
import { access, readFile } from 'node:fs/promises';
import pino from 'pino';
import { loadConfig } from '../config/config';
import { openCommandDatabase } from '../platform/command-database';
import { CommandRefused, type CommandIo, commandStreams, parseCommand } from '../platform/command-line';
import { createLogger } from '../platform/logger';
import { type AssertionAlgorithm, generateClientKey, writeCredentials } from './client-credentials';
import { RegistrationRefused } from './client-registration';
import { type AuthService, openAuthService } from './service';

const FLAGS: Readonly<Record<string, readonly string[]>> = {
  register: ['name', 'organization', 'role', 'scopes', 'purposes', 'jwks-file', 'jwks-uri', 'generate-key', 'alg', 'client-id'],
  disable: ['client-id'],
  enable: ['client-id'],
  list: [],
  'rotate-signing-key': [],
  'retire-signing-key': ['kid'],
};

const USAGE =
  'usage: npm run -s client:register -- --name <name> --role agency|ehr|payer|auditor|administrator [--organization Organization/<id>] --scopes "<scopes>" [--purposes "<codes>"] (--jwks-file <file> | --jwks-uri <https URL> | --generate-key <credentials file> [--alg ES384|RS384]) [--client-id <id>]; npm run -s client:disable -- --client-id <id>; npm run -s client:enable -- --client-id <id>; npm run -s client:list; npm run -s signing-key:rotate; npm run -s signing-key:retire -- --kid <kid>';

export async function runClientCommand(argv: readonly string[], io: CommandIo = {}): Promise<void> {
  const { action, flags } = parseCommand(argv, FLAGS, USAGE);
  const env = io.env ?? process.env;
  const { out, err } = commandStreams(io);
  const config = loadConfig(env);
  // Logs go to standard error: standard output carries the answer (a client_id) to scripts.
  const logger = createLogger(env.LOG_LEVEL ? config.logLevel : 'warn', pino.destination(2));
  // Checked before the database is opened: a bad request costs nothing.
  const keyFile = action === 'register' ? await prepareRegistration(flags) : undefined;
  const command = action.endsWith('signing-key') ? `npm run signing-key:${action.split('-')[0]}` : `npm run client:${action}`;
  const database = await openCommandDatabase({ ...config, logger, command });
  try {
    const auth = await openAuthService({ config, connection: database.connection, logger });
    switch (action) {
      case 'register':
        return await register(auth, flags, keyFile, { out, err });
      case 'disable':
      case 'enable':
        return await setActive(auth, flags, action === 'enable', err);
      case 'rotate-signing-key': {
        const kid = await auth.rotateSigningKey();
        err(`Access tokens are now signed with key ${kid} (other instances follow within a minute); older keys keep verifying until retired.\n`);
        return listSigningKeys(auth, out);
      }
      case 'retire-signing-key':
        return await retireSigningKey(auth, flags, { out, err });
      default:
        return await list(auth, out);
    }
  } finally {
    await database.close();
  }
}

async function prepareRegistration(flags: Map<string, string>): Promise<string | undefined> {
  const sources = ['jwks-file', 'jwks-uri', 'generate-key'].filter((f) => flags.has(f));
  if (sources.length !== 1) throw new CommandRefused('give exactly one of --jwks-file, --jwks-uri and --generate-key: the public keys the client signs its assertions with.');
  for (const required of ['name', 'role', 'scopes']) {
    if (!flags.has(required)) throw new CommandRefused(`--${required} is required. ${USAGE}`);
  }
  const keyFile = flags.get('generate-key');
  if (keyFile !== undefined && (await access(keyFile).then(() => true, () => false))) {
    throw new CommandRefused(`${keyFile} exists already: --generate-key writes a new private key and never replaces one.`);
  }
  return keyFile;
}

async function register(auth: AuthService, flags: Map<string, string>, keyFile: string | undefined, io: { out: (t: string) => void; err: (t: string) => void }): Promise<void> {
  const alg = (flags.get('alg') ?? 'ES384') as AssertionAlgorithm;
  if (alg !== 'ES384' && alg !== 'RS384') throw new CommandRefused(`--alg is ES384 or RS384, got "${alg}".`);
  const generated = keyFile !== undefined ? await generateClientKey(alg) : undefined;
  const jwksFile = flags.get('jwks-file');
  const jwks = generated?.publicJwks ?? (jwksFile !== undefined ? await readJwks(jwksFile) : undefined);
  const jwksUri = flags.get('jwks-uri');
  const organization = flags.get('organization');
  const clientId = flags.get('client-id');
  try {
    const client = await auth.register({
      name: flags.get('name') as string,
      role: flags.get('role') as string,
      scopes: words(flags.get('scopes')),
      purposes: words(flags.get('purposes')),
      ...(organization !== undefined ? { organization } : {}),
      ...(clientId !== undefined ? { clientId } : {}),
      ...(jwks !== undefined ? { jwks } : {}),
      ...(jwksUri !== undefined ? { jwksUri } : {}),
    });
    if (keyFile !== undefined && generated !== undefined) {
      await writeCredentials(keyFile, { client_id: client.clientId, private_key: generated.privateJwk });
    }
    io.err(
      `Registered "${client.name}" (${client.role}${client.organization ? ` for ${client.organization}` : ''}), scopes ${client.scopes.join(' ')}` +
        `${client.purposes.length > 0 ? `, purposes ${client.purposes.join(' ')}` : ''}; token endpoint ${auth.urls.tokenUrl}` +
        `${keyFile !== undefined ? `; its private key is in ${keyFile} (get a token: npm run -s token -- --credentials ${keyFile})` : ''}.\n`,
    );
    io.out(`${client.clientId}\n`);
  } catch (error) {
    if (error instanceof RegistrationRefused) throw new CommandRefused(error.message);
    if ((error as { code?: unknown }).code === 11000) throw new CommandRefused(`a client ${clientId ?? ''} is registered already.`);
    throw error;
  }
}

async function setActive(auth: AuthService, flags: Map<string, string>, active: boolean, err: (t: string) => void): Promise<void> {
  const clientId = flags.get('client-id');
  if (clientId === undefined) throw new CommandRefused(`--client-id is required. ${USAGE}`);
  if (!(await auth.setClientActive(clientId, active))) throw new CommandRefused(`no client ${clientId} is registered.`);
  err(active ? `Client ${clientId} is enabled again.\n` : `Client ${clientId} is disabled: it gets no new token, and its tokens are refused within seconds.\n`);
}

async function list(auth: AuthService, out: (t: string) => void): Promise<void> {
  for (const c of await auth.clients()) {
    out(`${c.clientId}\t${c.active ? 'active' : 'disabled'}\t${c.role}\t${c.organization ?? '-'}\t${c.scopes.join(' ')}\t${c.purposes.join(' ') || '-'}\t${c.jwksUri ?? 'inline JWKS'}\t${c.name}\n`);
  }
}

async function retireSigningKey(auth: AuthService, flags: Map<string, string>, io: { out: (t: string) => void; err: (t: string) => void }): Promise<void> {
  const kid = flags.get('kid');
  if (kid === undefined) throw new CommandRefused(`--kid is required. ${USAGE}`);
  let removed: boolean;
  try {
    removed = await auth.retireSigningKey(kid);
  } catch (error) {
    throw new CommandRefused(error instanceof Error ? error.message : String(error));
  }
  if (!removed) throw new CommandRefused(`there is no signing key ${kid}.`);
  io.err(`Signing key ${kid} is retired: the tokens it signed stop verifying within a minute.\n`);
  listSigningKeys(auth, io.out);
}

/** kid and whether tokens are signed with it, one per line, oldest first. */
function listSigningKeys(auth: AuthService, out: (t: string) => void): void {
  for (const key of auth.signingKeys()) out(`${key.kid}\t${key.signing ? 'signing' : 'verifying only'}\n`);
}

/** A JWKS file, or a file holding one public JWK. */
async function readJwks(file: string): Promise<unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CommandRefused(`${file} could not be read as JSON (${error instanceof Error ? error.message : String(error)}).`);
  }
  return typeof parsed === 'object' && parsed !== null && 'kty' in parsed ? { keys: [parsed] } : parsed;
}

/** Scopes and purposes: space- or comma-separated. */
function words(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((s) => s !== '');
}
