/**
 * Composition root, readable top to bottom: config → database (MONGODB_URI, or the embedded
 * FerretDB) → repository → FHIR services → authorization server (and, on the embedded database
 * with no client registered, the local development client) → workflows (background work) →
 * HTTP app → listen; graceful
 * shutdown on SIGINT/SIGTERM. Closed by default: every FHIR and case API request needs a token.
 */
import { createApp } from './app';
import { createHttpServer, listen } from './http/server';
import { type Config, ConfigError, loadConfig } from './config/config';
import { createLogger, type Logger } from './platform/logger';
import { type EmbeddedDatabase, startEmbeddedDatabase } from './platform/embedded-database';
import { EMBEDDED_SERVER_SELECTION_TIMEOUT_MS, connectMongo, type MongoConnection } from './platform/mongo';
import { buildAuthService, buildBulkDataStore, buildFhirServices, buildPartnerDirectory, buildRateLimits, buildWorkflows } from './composition';
import { DEVELOPMENT_CLIENT_ID, type DevelopmentClientState, developmentCredentialsFile, ensureDevelopmentClient } from './auth/development-client';
import type { AuthService } from './auth/service';

/** How often abandoned transactions of other processes are looked for (their lease is 30 s). */
const RECOVERY_SWEEP_MS = 5_000;

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
    const connection: MongoConnection = await connectMongo(embedded?.uri ?? (config.mongodbUri as string), {
      dbName: config.databaseName,
      ...(embedded ? { serverSelectionTimeoutMS: EMBEDDED_SERVER_SELECTION_TIMEOUT_MS } : {}),
    });
    stack.push(() => connection.close());
    logger.info({ database: connection.flavour }, 'database connected');

    const services = await buildFhirServices({ config, connection, logger, recoverySweepMs: RECOVERY_SWEEP_MS });
    stack.push(async () => services.stopMaintenance());
    const auth = await buildAuthService({ config, connection, logger });
    const stopMaintenance = auth.startMaintenance();
    stack.push(async () => stopMaintenance());
    // Before listening, so that once it answers, the development client can get a token.
    const development = await ensureDevelopmentClient(auth, { embedded: config.mongodbUri === undefined, dataDir: config.dataDir, logger });
    // Deliveries, referral exchange, documentation requests, exports (docs/workflows.md).
    const workflows = await buildWorkflows({ services, config, connection, logger });
    if (config.workflowsEnabled) {
      workflows.start();
      stack.push(() => workflows.stop());
    }
    const rateLimits = await buildRateLimits({ config, connection, logger });
    // Stopped after the server (pushed later, so run earlier) and before the connection.
    stack.push(() => rateLimits.close());
    const bulkData = await buildBulkDataStore({ services, connection });
    const partners = await buildPartnerDirectory({ connection });
    const app = createApp({
      services,
      auth,
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      corsOrigins: config.corsOrigins,
      rateLimits,
      trustProxy: config.trustProxy,
      bulkData,
      partners,
      ...(embedded ? { databaseAvailable: () => embedded.available() } : {}),
    });
    const server = await listen(createHttpServer(app, config.http), config.port);
    stack.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    logger.info({ port: config.port, baseUrl: config.baseUrl, tokenEndpoint: auth.urls.tokenUrl }, 'CaseBridge is listening');
    await announceAccess(development, auth, config, logger);
  } catch (err) {
    logger.fatal({ err }, err instanceof Error ? err.message : 'start-up failed');
    for (const stop of stack.reverse()) {
      await stop().catch(() => undefined);
    }
    process.exit(1);
  }
}

/**
 * How to get in: with the local development client (registered on the embedded database when
 * no client was, auth/development-client.ts), the way to a token is printed; otherwise a warning
 * when no client could get one. On MongoDB nothing is registered for you.
 */
async function announceAccess(development: DevelopmentClientState, auth: AuthService, config: Config, logger: Logger): Promise<void> {
  if (development === 'credentials-missing') {
    logger.warn(
      { clientId: DEVELOPMENT_CLIENT_ID, credentials: developmentCredentialsFile(config.dataDir) },
      'the local development client is registered but its credentials file is gone: register another client (npm run client:register -- … --generate-key <file>, with the service stopped) or start on a fresh DATA_DIR',
    );
    return;
  }
  if (development !== 'not-needed') {
    const file = developmentCredentialsFile(config.dataDir);
    logger.warn({ clientId: DEVELOPMENT_CLIENT_ID, credentials: file }, 'local development client: get an access token with TOKEN=$(npm run -s token)');
    // For the person who just typed npm start: the JSON log line above says the same.
    process.stderr.write(
      [
        '',
        '  CaseBridge is closed: every /fhir and /cm/v1 request needs an access token.',
        `  Local development client "${DEVELOPMENT_CLIENT_ID}" (administrator, embedded database only),`,
        `  credentials in ${file}. Get a token (valid ${config.accessTokenSeconds} s) and use it:`,
        '',
        '    TOKEN=$(npm run -s token)',
        `    curl -H "Authorization: Bearer $TOKEN" ${config.baseUrl}/Patient`,
        '',
        '',
      ].join('\n'),
    );
    return;
  }
  if ((await auth.clients()).every((c) => !c.active)) {
    logger.warn(
      { registerWith: 'npm run client:register -- --name … --role … --scopes … --jwks-file …' },
      'no active client is registered: every /fhir and /cm/v1 request will be refused (401) until one is (docs/security.md)',
    );
  }
}

async function startEmbedded(config: Config, logger: Logger): Promise<EmbeddedDatabase> {
  logger.info({ dataDir: config.dataDir }, 'MONGODB_URI is not set: starting the embedded FerretDB');
  // Supervised: restarted on the same port when it exits; requests meanwhile are 503.
  return startEmbeddedDatabase({ binaryPath: config.ferretdbBinary, dataDir: config.dataDir, synchronous: config.embeddedSynchronous, logger, supervise: true });
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
