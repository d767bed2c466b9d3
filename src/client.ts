/**
 * `npm run client:register | client:disable | client:enable | client:list`: registered clients
 * of the authorization server (src/auth/client-command.ts says how; docs/security.md).
 */
import { runClientCommand } from './auth/client-command';
import { CommandRefused } from './platform/command-line';
import { ConfigError } from './config/config';
import { DatabaseInUse } from './platform/command-database';

runClientCommand(process.argv.slice(2)).catch((err: unknown) => {
  const expected = err instanceof CommandRefused || err instanceof DatabaseInUse || err instanceof ConfigError;
  process.stderr.write(`casebridge client: ${err instanceof Error ? (expected ? err.message : (err.stack ?? err.message)) : String(err)}\n`);
  process.exit(1);
});
