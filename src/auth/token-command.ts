/**
 * `npm run -s token` (src/token.ts): an access token from a running CaseBridge, printed alone on
 * standard output (`TOKEN=$(npm run -s token)`). It reads client credentials (by default the
 * local development client's, which the service writes into DATA_DIR on the embedded database),
 * finds the token endpoint through SMART discovery under the FHIR base (BASE_URL, or --url),
 * signs a client assertion for it and asks for a token.
 *
 *   npm run -s token [-- --url http://localhost:8080/fhir] [--credentials <file>]
 *                       [--scope "system/*.rs"] [--purposes "TREAT"]
 */
import { type Env, loadConfig } from '../config/config';
import { CommandRefused } from '../platform/command-line';
import { discoverTokenEndpoint, readCredentials, requestAccessToken } from './client-credentials';
import { developmentCredentialsFile } from './development-client';

const FLAGS = ['url', 'credentials', 'scope', 'purposes'];
const USAGE = 'usage: npm run -s token [-- --url <FHIR base URL>] [--credentials <file>] [--scope "<scopes>"] [--purposes "<codes>"]';

export async function runTokenCommand(argv: readonly string[], env: Env = process.env): Promise<string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z]+)(?:=(.*))?$/s.exec(argv[i] as string);
    const name = match?.[1];
    const value = match?.[2] ?? argv[i + 1];
    if (match === null || name === undefined || !FLAGS.includes(name) || value === undefined) throw new CommandRefused(USAGE);
    if (match[2] === undefined) i++;
    flags.set(name, value);
  }
  const config = loadConfig(env);
  const file = flags.get('credentials') ?? developmentCredentialsFile(config.dataDir);
  const credentials = await readCredentials(file).catch((error: unknown) => {
    throw new CommandRefused(
      flags.has('credentials')
        ? `cannot read client credentials from ${file} (${error instanceof Error ? error.message : String(error)}).`
        : `no local development client credentials in ${file}: start CaseBridge on the embedded database (npm start) once, or give --credentials <file> for a registered client.`,
    );
  });
  const tokenUrl = await discoverTokenEndpoint(flags.get('url') ?? config.baseUrl);
  const response = await requestAccessToken({
    tokenUrl,
    credentials,
    scope: flags.get('scope') ?? 'system/*.cruds',
    purposes: (flags.get('purposes') ?? '').split(/[\s,]+/).filter((p) => p !== ''),
  });
  return response.access_token;
}
