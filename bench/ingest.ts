/**
 * npm run bench:ingest: the ingest measurement of `npm run bench` alone, to look at one change at
 * a time. A fresh embedded FerretDB and service; the shared pool, then BENCH_CLIENTS (default
 * 300) client Bundles at concurrency 8 and a few at concurrency 1, as run.ts loads them. Prints
 * resources/s, and the service's and FerretDB's CPU seconds per 1,000 resources (from /proc).
 *
 * BENCH_PROFILE=<dir>: the service runs with `node --cpu-prof` and writes its profile there.
 * EMBEDDED_DB_SYNCHRONOUS as for the service (default full). Run under the bench lock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateClientKey, tokenSource } from '../src/auth/client-credentials';
import { openAuthService } from '../src/auth/service';
import { loadConfig } from '../src/config/config';
import { createLogger } from '../src/platform/logger';
import { startEmbeddedDatabase } from '../src/platform/embedded-database';
import { connectMongo } from '../src/platform/mongo';
import { authenticateWith, ingest, loadPool, pool } from './dataset';
import { ROOT, cpuSeconds, startNode } from './harness/processes';

const clients = Number(process.env.BENCH_CLIENTS ?? 300);
const profileDir = process.env.BENCH_PROFILE;
const synchronous = loadConfig().embeddedSynchronous;
const logger = createLogger('error');

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'casebridge-ingest-'));
  const embedded = await startEmbeddedDatabase({ binaryPath: path.join(ROOT, '.cache/bin/ferretdb'), dataDir, synchronous, logger });
  const dbName = `ingest_${Date.now()}`;
  const port = 18190;
  const baseUrl = `http://127.0.0.1:${port}/fhir`;
  const connection = await connectMongo(embedded.uri, { dbName });
  const auth = await openAuthService({ config: loadConfig({ BASE_URL: baseUrl, LOG_LEVEL: 'error' }), connection, logger });
  const { privateJwk, publicJwks } = await generateClientKey();
  const client = await auth.register({ name: 'npm run bench:ingest', role: 'administrator', scopes: ['system/*.cruds'], jwks: publicJwks });
  authenticateWith(tokenSource({ tokenUrl: auth.urls.tokenUrl, credentials: { client_id: client.clientId, private_key: privateJwk }, scope: 'system/*.cruds' }));
  const service = await startNode({
    script: 'dist/src/main.js',
    env: { MONGODB_URI: embedded.uri, MONGODB_DATABASE: dbName, BASE_URL: baseUrl, LOG_LEVEL: 'error', RATE_LIMIT_PER_MINUTE: '10000000' },
    port,
    readyPath: '/readyz',
    ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
  });
  try {
    const shared = pool();
    await loadPool(baseUrl, shared);
    const before = { service: cpuSeconds(service.pid), db: cpuSeconds(embedded.pid), load: cpuSeconds(process.pid) };
    const c8 = await ingest({ base: baseUrl, shared, firstIndex: 0, clients, concurrency: 8 });
    const after = { service: cpuSeconds(service.pid), db: cpuSeconds(embedded.pid), load: cpuSeconds(process.pid) };
    const c1 = await ingest({ base: baseUrl, shared, firstIndex: clients, clients: Math.max(10, Math.round(clients / 20)), concurrency: 1 });
    const per1000 = (s: number) => ((s * 1000) / c8.resources).toFixed(2);
    console.log(
      `${clients} clients, synchronous=${synchronous}: concurrency 8 ${c8.resourcesPerSecond.toFixed(0)} resources/s (${c8.resources} in ${c8.seconds.toFixed(1)} s, ${c8.failures} failed); ` +
        `concurrency 1 ${c1.resourcesPerSecond.toFixed(0)} resources/s; CPU per 1,000 resources at concurrency 8: service ${per1000(after.service - before.service)} s, FerretDB ${per1000(after.db - before.db)} s, this load generator ${per1000(after.load - before.load)} s`,
    );
  } finally {
    await service.stop();
    await connection.close();
    await embedded.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
