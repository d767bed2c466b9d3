// Jest globalTeardown: stops the FerretDB that global-setup.ts started and removes its folder.
import { rm } from 'node:fs/promises';
import { STARTED_DATABASE_KEY } from './global-setup';
import type { StartedTestDatabase } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const globals = globalThis as Record<string, unknown>;
  const started = globals[STARTED_DATABASE_KEY] as StartedTestDatabase | undefined;
  delete globals[STARTED_DATABASE_KEY];
  if (started === undefined) return; // MONGODB_URI_TEST was used, or setup failed
  try {
    await started.database.stop();
  } finally {
    await rm(started.dataDir, { recursive: true, force: true });
  }
}
