/**
 * `npm run partner:register | partner:list | partner:disable | partner:enable | partner:remove`
 * (src/partner.ts): the administrator's commands for the partners CaseBridge exchanges referrals
 * with (store/records/partners.ts), on the database the service uses (MONGODB_URI, or the
 * embedded one in DATA_DIR while the service is stopped). Running instances see a change at
 * their next workflow round.
 *
 *   npm run -s partner:register -- --id harbor --name "Harbor House" --organization Organization/harbor \
 *     --base-url https://harbor.example.org/fhir \
 *     (--credentials harbor-client.json --scope "system/Task.cru system/ServiceRequest.rs …" [--token-url …] | --bearer-token-file token.txt | --no-auth) \
 *     [--remote-organization Organization/<id at the partner>] [--our-organization Organization/<our id there>]
 *
 * --credentials is the file the partner gave us for the client it registered for us (with a
 * CaseBridge partner: `npm run client:register -- … --generate-key <file>` on its side): its
 * private key is kept in the database (protect it as the records).
 */
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { readCredentials } from '../auth/client-credentials';
import { loadConfig } from '../config/config';
import { openCommandDatabase } from '../platform/command-database';
import { CommandRefused, type CommandIo, commandStreams, parseCommand } from '../platform/command-line';
import { createLogger } from '../platform/logger';
import { type PartnerCredentials, workflowRecords } from '../store/records';

const FLAGS: Readonly<Record<string, readonly string[]>> = {
  register: ['id', 'name', 'organization', 'base-url', 'credentials', 'scope', 'token-url', 'bearer-token-file', 'no-auth', 'remote-organization', 'our-organization'],
  list: [],
  disable: ['id'],
  enable: ['id'],
  remove: ['id'],
};

const USAGE =
  'usage: npm run -s partner:register -- --id <id> --name <name> --organization Organization/<id> --base-url <https URL> (--credentials <file> --scope "<scopes>" [--token-url <URL>] | --bearer-token-file <file> | --no-auth true) [--remote-organization Organization/<id>] [--our-organization Organization/<id>]; npm run -s partner:list; npm run -s partner:disable|partner:enable|partner:remove -- --id <id>';

export async function runPartnerCommand(argv: readonly string[], io: CommandIo = {}): Promise<void> {
  const { action, flags } = parseCommand(argv, FLAGS, USAGE);
  const env = io.env ?? process.env;
  const { out, err } = commandStreams(io);
  const config = loadConfig(env);
  const logger = createLogger(env.LOG_LEVEL ? config.logLevel : 'warn', pino.destination(2));
  // Checked before the database is opened: a bad request costs nothing.
  const credentials = action === 'register' ? await partnerCredentials(flags) : undefined;
  const database = await openCommandDatabase({ ...config, logger, command: `npm run partner:${action}` });
  try {
    const { partners } = await workflowRecords(database.connection);
    const id = flags.get('id');
    switch (action) {
      case 'register': {
        for (const required of ['id', 'name', 'organization', 'base-url']) if (!flags.has(required)) throw new CommandRefused(`--${required} is required. ${USAGE}`);
        const baseUrl = (flags.get('base-url') as string).replace(/\/+$/, '');
        if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(baseUrl)) throw new CommandRefused(`--base-url must be an absolute http(s) URL, got "${baseUrl}".`);
        try {
          const partner = await partners.register(
            {
              id: id as string,
              name: flags.get('name') as string,
              organization: flags.get('organization') as string,
              baseUrl,
              credentials: credentials as PartnerCredentials,
              ...(flags.has('remote-organization') ? { remoteOrganization: flags.get('remote-organization') as string } : {}),
              ...(flags.has('our-organization') ? { ourOrganization: flags.get('our-organization') as string } : {}),
            },
            new Date(),
          );
          err(`Registered partner "${partner.name}" (${partner.organization}) at ${partner.baseUrl}; referral Tasks owned by ${partner.organization} are sent there.\n`);
          out(`${partner.id}\n`);
        } catch (error) {
          if ((error as { code?: unknown }).code === 11000) throw new CommandRefused(`a partner ${id ?? ''} (or one for ${flags.get('organization') ?? ''}) is registered already.`);
          if ((error as { name?: unknown }).name === 'ValidationError') throw new CommandRefused(`the partner is not valid: ${(error as Error).message}`);
          throw error;
        }
        return;
      }
      case 'disable':
      case 'enable':
        if (!(await partners.setActive(required(id), action === 'enable'))) throw new CommandRefused(`no partner ${id ?? ''} is registered.`);
        err(`Partner ${id ?? ''} is ${action === 'enable' ? 'enabled again' : 'disabled: nothing is sent to it or fetched from it until it is enabled'}.\n`);
        return;
      case 'remove':
        if (!(await partners.remove(required(id)))) throw new CommandRefused(`no partner ${id ?? ''} is registered.`);
        err(`Partner ${id ?? ''} is removed; work still waiting for it is abandoned.\n`);
        return;
      default:
        for (const p of await partners.list()) out(`${p.id}\t${p.active ? 'active' : 'disabled'}\t${p.organization}\t${p.baseUrl}\t${p.credentials.type}\t${p.name}\n`);
    }
  } finally {
    await database.close();
  }
}

function required(id: string | undefined): string {
  if (id === undefined) throw new CommandRefused(`--id is required. ${USAGE}`);
  return id;
}

async function partnerCredentials(flags: Map<string, string>): Promise<PartnerCredentials> {
  const sources = ['credentials', 'bearer-token-file', 'no-auth'].filter((f) => flags.has(f));
  if (sources.length !== 1) throw new CommandRefused(`give exactly one of --credentials, --bearer-token-file and --no-auth: how CaseBridge authenticates to the partner. ${USAGE}`);
  const file = flags.get('credentials');
  if (file !== undefined) {
    const scope = flags.get('scope');
    if (scope === undefined) throw new CommandRefused('--scope is required with --credentials: the scopes to ask the partner for.');
    let credentials;
    try {
      credentials = await readCredentials(file);
    } catch (error) {
      throw new CommandRefused(error instanceof Error ? error.message : String(error));
    }
    const tokenUrl = flags.get('token-url');
    return { type: 'smart-backend', clientId: credentials.client_id, privateJwk: credentials.private_key as unknown as Record<string, unknown>, scope, ...(tokenUrl ? { tokenUrl } : {}) };
  }
  const tokenFile = flags.get('bearer-token-file');
  if (tokenFile !== undefined) {
    const token = (await readFile(tokenFile, 'utf8').catch(() => '')).trim();
    if (token === '') throw new CommandRefused(`${tokenFile} holds no token.`);
    return { type: 'bearer', token };
  }
  return { type: 'none' };
}
