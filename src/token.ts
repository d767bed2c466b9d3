/**
 * `npm run -s token`: prints an access token for the local development client (or the client
 * whose credentials --credentials names), from the running CaseBridge (src/auth/token-command.ts).
 */
import { CommandRefused } from './platform/command-line';
import { TokenRequestFailed } from './auth/client-credentials';
import { runTokenCommand } from './auth/token-command';
import { ConfigError } from './config/config';

runTokenCommand(process.argv.slice(2)).then(
  (token) => process.stdout.write(`${token}\n`),
  (err: unknown) => {
    const expected = err instanceof CommandRefused || err instanceof TokenRequestFailed || err instanceof ConfigError;
    process.stderr.write(`casebridge token: ${err instanceof Error ? (expected ? err.message : (err.stack ?? err.message)) : String(err)}\n`);
    process.exit(1);
  },
);
