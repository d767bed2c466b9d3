/**
 * npm run bench: CaseBridge's throughput, latency and memory, each beside the limits measured in
 * the same run on the same machine (bare express = HTTP limit; raw driver = storage limit), at
 * two data sizes. Writes bench/results/<timestamp>.json and prints a table.
 *
 * Environment: BENCH_CLIENTS (default "100,1000,5000"), BENCH_SECONDS (per scenario, default 5),
 * BENCH_CONNECTIONS (default 10), MONGODB_URI (default: a fresh embedded FerretDB per size).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateClientKey, tokenSource } from '../src/auth/client-credentials';
import { openAuthService } from '../src/auth/service';
import { loadConfig } from '../src/config/config';
import { createLogger } from '../src/platform/logger';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../src/platform/embedded-database';
import { connectMongo } from '../src/platform/mongo';
import { buildSearchParameterRegistry } from '../src/search/registry';
import { REFERENCE_DATE, SEED, authenticateWith, ingest, loadPool, pool } from './dataset';
import { drain, load, type LoadResult } from './harness/load';
import { ROOT, type RunningProcess, cpuSeconds, startNode } from './harness/processes';
import { type Row, printTable } from './report';
import { findTargets, scenarios } from './scenarios';
import { insertLimit, readLimit, searchLimit, updateLimit } from './storage-limit';

const sizes = (process.env.BENCH_CLIENTS ?? '100,1000,5000').split(',').map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
// The service's own setting (src/config): durable writes unless EMBEDDED_DB_SYNCHRONOUS=normal.
const synchronous = loadConfig().embeddedSynchronous;
const logger = createLogger('error');

interface SizeResult {
  readonly clients: number;
  readonly resources: number;
  readonly ingest: { readonly concurrency1: LoadSummary; readonly concurrency8: LoadSummary };
  readonly rows: Row[];
  readonly serviceRssMiB: number;
  readonly limits: Record<string, LoadResult>;
}

type LoadSummary = { resourcesPerSecond: number; resources: number; seconds: number; failures: number; cpuSecondsPer1000?: { service: number; database?: number } };

async function main(): Promise<void> {
  const started = Date.now();
  const httpLimit = await measureHttpLimit();
  const results: SizeResult[] = [];
  for (const [i, clients] of sizes.entries()) {
    results.push(await measureSize(clients, 18100 + i));
  }
  const report = {
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version },
    settings: { secondsPerScenario: seconds, connections, seed: SEED, referenceDate: REFERENCE_DATE, database: process.env.MONGODB_URI ? 'MONGODB_URI' : `embedded FerretDB 1.24.2 (SQLite, synchronous=${synchronous})` },
    httpLimit,
    sizes: results,
  };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nHTTP limit (bare express + helmet, GET): ${httpLimit.requestsPerSecond.toFixed(0)} req/s, p50 ${httpLimit.p50Ms} ms, p99 ${httpLimit.p99Ms} ms`);
  for (const size of results) {
    console.log(`\n${size.clients} clients, ${size.resources} resources; service peak RSS ${size.serviceRssMiB} MiB`);
    console.log(
      `ingest (transaction Bundles): concurrency 1 ${size.ingest.concurrency1.resourcesPerSecond.toFixed(0)} resources/s, concurrency 8 ${size.ingest.concurrency8.resourcesPerSecond.toFixed(0)} resources/s` +
        ` (CPU per 1,000 resources: service ${size.ingest.concurrency8.cpuSecondsPer1000?.service} s, database ${size.ingest.concurrency8.cpuSecondsPer1000?.database ?? '—'} s)`,
    );
    printTable(size.rows);
  }
  console.log(`\nwrote ${path.relative(ROOT, file)} in ${report.durationSeconds} s`);
}

async function measureHttpLimit(): Promise<LoadResult> {
  const server = await startNode({ script: 'dist/bench/baseline-server.js', env: {}, port: 18099, readyPath: '/readyz' });
  try {
    await load({ url: server.url, connections, durationSeconds: 1, requests: [{ method: 'GET', path: '/fhir/Patient/baseline' }] });
    return await load({ url: server.url, connections, durationSeconds: seconds, requests: [{ method: 'GET', path: '/fhir/Patient/baseline' }] });
  } finally {
    await server.stop();
  }
}

async function measureSize(clients: number, port: number): Promise<SizeResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'casebridge-bench-'));
  const embedded: EmbeddedDatabase | undefined = process.env.MONGODB_URI
    ? undefined
    : await startEmbeddedDatabase({ binaryPath: path.join(ROOT, '.cache/bin/ferretdb'), dataDir, synchronous, logger });
  const uri = process.env.MONGODB_URI ?? (embedded as EmbeddedDatabase).uri;
  const dbName = `bench_${clients}_${Date.now()}`;
  const baseUrl = `http://127.0.0.1:${port}/fhir`;
  let service: RunningProcess | undefined;
  const connection = await connectMongo(uri, { dbName });
  try {
    // CaseBridge is closed: the bench is a registered administrator client with its own key.
    const auth = await openAuthService({ config: loadConfig({ BASE_URL: baseUrl, LOG_LEVEL: 'error' }), connection, logger });
    const { privateJwk, publicJwks } = await generateClientKey();
    const benchClient = await auth.register({ name: 'npm run bench', role: 'administrator', scopes: ['system/*.cruds'], jwks: publicJwks });
    const token = tokenSource({ tokenUrl: auth.urls.tokenUrl, credentials: { client_id: benchClient.clientId, private_key: privateJwk }, scope: 'system/*.cruds' });
    authenticateWith(token);
    service = await startNode({
      script: 'dist/src/main.js',
      // One client drives the whole load: its request budget must not be what is measured.
      env: { MONGODB_URI: uri, MONGODB_DATABASE: dbName, BASE_URL: baseUrl, LOG_LEVEL: 'error', RATE_LIMIT_PER_MINUTE: '10000000' },
      port,
      readyPath: '/readyz',
    });
    const shared = pool();
    await loadPool(baseUrl, shared);
    log(`${clients} clients: loading at concurrency 8`);
    const cpuBefore = { service: cpuSeconds(service.pid), database: embedded ? cpuSeconds(embedded.pid) : NaN };
    const loaded = await ingest({ base: baseUrl, shared, firstIndex: 0, clients, concurrency: 8 });
    // CPU per 1,000 resources, of the service and of the embedded database: what ingest costs
    // whatever else shares the machine.
    const perThousand = (before: number, after: number) => Math.round(((after - before) * 1000 * 100) / loaded.resources) / 100;
    const concurrency8 = {
      ...loaded,
      cpuSecondsPer1000: {
        service: perThousand(cpuBefore.service, cpuSeconds(service.pid)),
        ...(embedded ? { database: perThousand(cpuBefore.database, cpuSeconds(embedded.pid)) } : {}),
      },
    };
    const concurrency1 = await ingest({ base: baseUrl, shared, firstIndex: clients, clients: Math.max(10, Math.round(clients / 20)), concurrency: 1 });
    const resources = concurrency8.resources + concurrency1.resources + shared.resources.length;
    log(`${clients} clients: ${resources} resources loaded; measuring`);
    const targets = await findTargets(baseUrl, shared.partners.housing.id as string);
    const registry = buildSearchParameterRegistry({ baseUrl });
    const limitOptions = { db: connection.db, registry, baseUrl, concurrency: connections, durationSeconds: seconds };
    const limits: Record<string, LoadResult> = {
      read: await readLimit(limitOptions, targets.patients),
      insert: await insertLimit(limitOptions),
      update: await updateLimit(limitOptions),
    };
    const rows: Row[] = [];
    for (const scenario of scenarios('/fhir', targets)) {
      const clients = scenario.connections ?? connections;
      // One client alone, after a warm-up: the latency of a request with nothing else running.
      const authorization = `Bearer ${await token()}`;
      await load({ url: service.url, connections: 1, amount: 3, requests: scenario.requests, authorization });
      // 30 requests: the median of 5 (as before) moved by a millisecond or two from run to run.
      const single = await load({ url: service.url, connections: 1, amount: 30, requests: scenario.requests, authorization });
      const result = await load({ url: service.url, connections: clients, durationSeconds: seconds, requests: scenario.requests, authorization });
      await drain(service.url);
      const storage = scenario.query ? await searchLimit(limitOptions, scenario.query) : scenario.limit ? limits[scenario.limit] : undefined;
      rows.push({ scenario: scenario.name, result, single, ...(storage ? { storage } : {}), ...(scenario.resourcesPerResponse ? { resourcesPerResponse: scenario.resourcesPerResponse } : {}) });
      log(`  ${scenario.name}: ${result.requestsPerSecond.toFixed(0)} req/s`);
    }
    return {
      clients,
      resources,
      ingest: { concurrency1, concurrency8 },
      rows,
      serviceRssMiB: service.peakRssMiB(),
      limits,
    };
  } finally {
    await service?.stop();
    await connection.db.dropDatabase().catch(() => undefined);
    await connection.close();
    await embedded?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
