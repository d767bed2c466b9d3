// Builds the real application on a per-file FerretDB database: the same wiring as main.ts
// (buildFhirServices + createApp), with hooks tests need (clock, write observer).
import type { Express } from 'express';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import type { FhirServices } from '../../src/core/services';
import { buildFhirServices } from '../../src/composition';
import type { WriteObserver } from '../../src/store/mongo/mongo-repository';
import { type TestDatabase, testDatabase } from './database';

export const BASE_URL = 'http://casebridge.test/fhir';

export interface TestApp {
  readonly app: Express;
  readonly services: FhirServices;
  readonly database: TestDatabase;
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly beforeWrite?: WriteObserver;
  readonly now?: () => Date;
  readonly env?: Record<string, string>;
}

export async function testApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = await testDatabase();
  const config = loadConfig({ BASE_URL: BASE_URL, LOG_LEVEL: 'silent', ...options.env });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const services = await buildFhirServices({
    config,
    connection: database.connection,
    logger,
    ...(options.now ? { now: options.now } : {}),
    ...(options.beforeWrite ? { beforeWrite: options.beforeWrite } : {}),
  });
  const app = createApp({ services, logger, bodyLimitBytes: config.bodyLimitBytes, corsOrigins: config.corsOrigins });
  return { app, services, database, close: () => database.drop() };
}

export const FHIR_JSON = 'application/fhir+json';
