/**
 * `npm run partner:register | partner:list | partner:disable | partner:enable | partner:remove`:
 * the partners' FHIR servers referrals are exchanged with (src/workflows/partner-command.ts; docs/workflows.md).
 */
import { CommandRefused } from './platform/command-line';
import { ConfigError } from './config/config';
import { DatabaseInUse } from './platform/command-database';
import { runPartnerCommand } from './workflows/partner-command';

runPartnerCommand(process.argv.slice(2)).catch((err: unknown) => {
  const expected = err instanceof CommandRefused || err instanceof DatabaseInUse || err instanceof ConfigError;
  process.stderr.write(`casebridge partner: ${err instanceof Error ? (expected ? err.message : (err.stack ?? err.message)) : String(err)}\n`);
  process.exit(1);
});
