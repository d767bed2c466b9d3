/**
 * `npm run seed [-- --url http://host:port/fhir]`: loads the synthetic cases of fixtures/ through
 * the FHIR API, into this installation's database or a running CaseBridge
 * (src/fixtures/seed-command.ts says how; README.md, "Other commands").
 */
import { SeedRefused, runSeedCommand } from './fixtures/seed-command';
import { SeedError } from './fixtures/seed';

runSeedCommand(process.argv.slice(2)).catch((err: unknown) => {
  // A refusal or a refused Bundle is explained by its message; anything else shows where it failed.
  const expected = err instanceof SeedRefused || err instanceof SeedError;
  process.stderr.write(`casebridge seed: ${err instanceof Error ? (expected ? err.message : (err.stack ?? err.message)) : String(err)}\n`);
  process.exit(1);
});
