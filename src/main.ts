/**
 * Composition root, readable top to bottom: config → database (MONGODB_URI, or the embedded
 * FerretDB) → repository → FHIR services → HTTP app → listen; graceful shutdown on SIGINT/SIGTERM.
 */
import type { Server } from 'node:http';
import { createApp } from './app';
import { type Config, ConfigError, loadConfig } from './config/config';
import { createLogger, type Logger } from './platform/logger';
import { type EmbeddedDatabase, startEmbeddedDatabase } from './platform/embedded-database';
import { connectMongo, type MongoConnection } from './platform/mongo';
import { buildFhirServices } from './services';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`casebridge: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const stack: (() => Promise<void>)[] = [];
  const shutdown = once(async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    for (const stop of stack.reverse()) {
      await stop().catch((err: unknown) => logger.error({ err }, 'shutdown step failed'));
    }
    process.exit(0);
  });
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    const embedded = config.mongodbUri === undefined ? await startEmbedded(config, logger) : undefined;
    if (embedded) stack.push(() => embedded.stop());
    const connection: MongoConnection = await connectMongo(embedded?.uri ?? (config.mongodbUri as string), { dbName: config.databaseName });
    stack.push(() => connection.close());
    logger.info({ database: connection.flavour }, 'database connected');

    const services = await buildFhirServices({ config, connection, logger });
    const app = createApp({ services, logger, bodyLimitBytes: config.bodyLimitBytes, corsOrigins: config.corsOrigins });
    const server = await listen(app, config.port);
    stack.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    logger.info({ port: config.port, baseUrl: config.baseUrl }, 'CaseBridge is listening');
  } catch (err) {
    logger.fatal({ err }, err instanceof Error ? err.message : 'start-up failed');
    for (const stop of stack.reverse()) {
      await stop().catch(() => undefined);
    }
    process.exit(1);
  }
}

async function startEmbedded(config: Config, logger: Logger): Promise<EmbeddedDatabase> {
  logger.info({ dataDir: config.dataDir }, 'MONGODB_URI is not set: starting the embedded FerretDB');
  return startEmbeddedDatabase({ binaryPath: config.ferretdbBinary, dataDir: config.dataDir, synchronous: config.embeddedSynchronous, logger });
}

function listen(app: ReturnType<typeof createApp>, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, () => resolve(server));
    server.once('error', reject);
  });
}

function once<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let started = false;
  return async (...args: A) => {
    if (!started) {
      started = true;
      await fn(...args);
    }
  };
}

void main();
