/**
 * npm run bench:export: the memory a system-level Bulk Data export takes, at several data sizes.
 * For each size: load the synthetic clients, restart the service (so that its memory is the
 * export's, not the load's), run `GET [base]/$export`, download every NDJSON file, and report the
 * service's resident memory before and its peak during the export. Constant memory means the
 * peak does not grow with the size of the export.
 *
 * Environment: BENCH_CLIENTS (default "100,1000"); BENCH_SERVICE_NODE_ARGS (e.g.
 * "--max-old-space-size=160": an export that held what it exported would not finish).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateClientKey, tokenSource } from '../src/auth/client-credentials';
import { openAuthService } from '../src/auth/service';
import { loadConfig } from '../src/config/config';
import { createLogger } from '../src/platform/logger';
import { startEmbeddedDatabase } from '../src/platform/embedded-database';
import { connectMongo } from '../src/platform/mongo';
import { authenticateWith, ingest, loadPool, pool } from './dataset';
import { ROOT, type RunningProcess, startNode } from './harness/processes';

const sizes = (process.env.BENCH_CLIENTS ?? '100,1000').split(',').map(Number);
const logger = createLogger('error');

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Math.round(Number(kb) / 1024) : Number.NaN;
}

async function measure(clients: number, port: number): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'casebridge-export-'));
  const embedded = await startEmbeddedDatabase({ binaryPath: path.join(ROOT, '.cache/bin/ferretdb'), dataDir, logger });
  const dbName = `export_${Date.now()}`;
  const baseUrl = `http://127.0.0.1:${port}/fhir`;
  const connection = await connectMongo(embedded.uri, { dbName });
  const auth = await openAuthService({ config: loadConfig({ BASE_URL: baseUrl, LOG_LEVEL: 'error' }), connection, logger });
  const { privateJwk, publicJwks } = await generateClientKey();
  const client = await auth.register({ name: 'npm run bench:export', role: 'administrator', scopes: ['system/*.cruds'], jwks: publicJwks });
  const token = tokenSource({ tokenUrl: auth.urls.tokenUrl, credentials: { client_id: client.clientId, private_key: privateJwk }, scope: 'system/*.cruds' });
  authenticateWith(token);
  const env = { MONGODB_URI: embedded.uri, MONGODB_DATABASE: dbName, BASE_URL: baseUrl, LOG_LEVEL: 'error', RATE_LIMIT_PER_MINUTE: '10000000', WORKFLOW_INTERVAL_MS: '200' };
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  let service: RunningProcess | undefined = await startNode({ script: 'dist/src/main.js', env, port, readyPath: '/readyz' });
  try {
    const shared = pool();
    await loadPool(baseUrl, shared);
    const loaded = await ingest({ base: baseUrl, shared, firstIndex: 0, clients, concurrency: 8 });
    await service.stop();
    service = await startNode({ script: 'dist/src/main.js', env, port, readyPath: '/readyz', nodeArgs });
    const pid = service.pid;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const before = rssMiB(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(pid));
    }, 100);
    const started = Date.now();
    const headers = async () => ({ authorization: `Bearer ${await token()}`, accept: 'application/fhir+json' });
    const kickoff = await fetch(`${baseUrl}/$export`, { headers: { ...(await headers()), prefer: 'respond-async' } });
    if (kickoff.status !== 202) throw new Error(`$export answered ${kickoff.status}: ${await kickoff.text()}`);
    const statusUrl = kickoff.headers.get('content-location') as string;
    let manifest: { output: { type: string; url: string; count?: number }[] } | undefined;
    while (!manifest) {
      const status = await fetch(statusUrl, { headers: await headers() });
      if (status.status === 200) manifest = (await status.json()) as typeof manifest;
      else if (status.status === 202) await new Promise((resolve) => setTimeout(resolve, 250));
      else throw new Error(`status answered ${status.status}: ${await status.text()}`);
    }
    let lines = 0;
    let bytes = 0;
    for (const file of manifest.output) {
      const res = await fetch(file.url, { headers: { authorization: `Bearer ${await token()}` } });
      const reader = res.body?.getReader();
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) break;
        bytes += chunk.value.length;
        for (const b of chunk.value) if (b === 10) lines++;
      }
    }
    clearInterval(sampler);
    peak = Math.max(peak, rssMiB(pid));
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `${clients} clients (${loaded.resources} resources loaded): exported ${lines} resources in ${manifest.output.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB, in ${seconds.toFixed(1)} s; ` +
        `service RSS before ${before} MiB, peak during the export and download ${peak} MiB (+${peak - before} MiB)`,
    );
  } finally {
    await service?.stop();
    await connection.close();
    await embedded.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  for (const [i, clients] of sizes.entries()) await measure(clients, 18170 + i);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
