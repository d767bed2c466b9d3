/**
 * `npm run reindex`: recomputes the search index of every stored resource, with progress.
 * Run it against MONGODB_URI, or (service stopped) the embedded database in DATA_DIR. The
 * service also reindexes by itself at start-up when the search parameters have changed.
 */
import { loadConfig } from './config/config';
import { loadConformancePackage } from './fhir/profiles';
import { startEmbeddedDatabase } from './platform/embedded-database';
import { createLogger } from './platform/logger';
import { connectMongo } from './platform/mongo';
import { extractIndex } from './search/extract';
import { buildSearchParameterRegistry } from './search/registry';
import { MongoRepository } from './store/mongo/mongo-repository';

async function reindex(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'silent' ? 'info' : config.logLevel);
  const embedded =
    config.mongodbUri === undefined ? await startEmbeddedDatabase({ binaryPath: config.ferretdbBinary, dataDir: config.dataDir, synchronous: config.embeddedSynchronous, logger }) : undefined;
  const connection = await connectMongo(embedded?.uri ?? (config.mongodbUri as string), { dbName: config.databaseName });
  try {
    // The same parameters as the service (ours from profiles/), or the service would reindex again.
    const registry = buildSearchParameterRegistry({ baseUrl: config.baseUrl, custom: loadConformancePackage().searchParameters });
    const repo = new MongoRepository({
      db: connection.db,
      registry,
      indexer: (resource) => extractIndex(resource, registry),
      now: () => new Date(),
      wildcardIndexes: connection.flavour.wildcardIndexes,
      indexedFilters: connection.flavour.indexedFilters,
    });
    await repo.initialise();
    const started = Date.now();
    const count = await repo.reindex((p) => logger.info(p, `reindexing ${p.resourceType}: ${p.done}/${p.total}`));
    logger.info({ resources: count, seconds: (Date.now() - started) / 1000 }, 'reindex complete');
  } finally {
    await connection.close();
    await embedded?.stop();
  }
}

reindex().catch((err: unknown) => {
  process.stderr.write(`casebridge reindex: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
