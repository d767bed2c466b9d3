/**
 * The composition of the FHIR services on a database connection: definitions, CaseBridge's
 * profiles and conformance resources (profiles/), search parameters (R4, US Core and ours), the
 * repository (with its index extraction), operations, derivations and access policy. main.ts
 * (the composition root) and the test harness both build the application through here, so
 * tests run the production wiring.
 */
import { accessPolicy } from './auth/access-policy';
import { openAuthService } from './auth/service';
import { authUrls } from './auth/smart-configuration';
import { scoringDerivation } from './casemgmt/derivations/scoring-derivation';
import type { Config } from './config/config';
import { seedConformanceResources } from './conformance';
import { loadConformancePackage } from './fhir/profiles';
import { patientEverything } from './operations/everything';
import { validateOperation } from './operations/validate';
import { loadValidator } from './fhir/validation';
import type { Logger } from './platform/logger';
import type { MongoConnection } from './platform/mongo';
import { mongoRateLimit } from './platform/rate-limit';
import type { RateLimits } from './app';
import type { FhirOperation, FhirServices } from './core/services';
import { extractIndex } from './search/extract';
import { buildSearchParameterRegistry } from './search/registry';
import { MongoRepository, type WriteObserver } from './store/mongo/mongo-repository';

export interface ServiceDependencies {
  readonly config: Config;
  readonly connection: MongoConnection;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Test hook: observes (and may fail) each database write. */
  readonly beforeWrite?: WriteObserver;
  /** Test hook: observes each database write after it was made (and may lose its answer). */
  readonly afterWrite?: WriteObserver;
  /**
   * How often to recover transactions abandoned by a process that died elsewhere (journal.ts);
   * absent: only at start-up. The service (main.ts) sweeps; one-shot commands do not.
   */
  readonly recoverySweepMs?: number;
}

/** The FHIR services, and how to stop their background work. */
export type RunningFhirServices = FhirServices & { readonly stopMaintenance: () => void };

export async function buildFhirServices(deps: ServiceDependencies): Promise<RunningFhirServices> {
  const { config, connection } = deps;
  const now = deps.now ?? (() => new Date());
  // Load the generated JSON-schema validator now rather than on the first write.
  loadValidator();
  // Our profiles, value sets, Questionnaires and search parameters; a definition that cannot be
  // used stops the start-up here. New search parameters change the registry's fingerprint, so
  // the reindex below runs once after they are added.
  const started = Date.now();
  const profiles = loadConformancePackage();
  deps.logger.info({ resources: profiles.resources.length, profiles: profiles.profiles.size, ms: Date.now() - started }, 'profiles loaded');
  const registry = buildSearchParameterRegistry({ baseUrl: config.baseUrl, custom: profiles.searchParameters });
  const repo = new MongoRepository({
    db: connection.db,
    registry,
    indexer: (resource) => extractIndex(resource, registry),
    now,
    wildcardIndexes: connection.flavour.wildcardIndexes,
    indexedFilters: connection.flavour.indexedFilters,
    transactions: connection.flavour.transactions,
    ...(deps.beforeWrite ? { beforeWrite: deps.beforeWrite } : {}),
    ...(deps.afterWrite ? { afterWrite: deps.afterWrite } : {}),
  });
  // Recovers what a killed process left half-done before anything is served (journal.ts).
  await repo.initialise();
  const stopSweep = deps.recoverySweepMs
    ? repo.startRecoverySweep(deps.recoverySweepMs, (err) => deps.logger.error({ err }, 'transaction recovery sweep failed'))
    : () => undefined;
  if ((await repo.searchIndexStatus()) === 'stale') {
    // The search parameters changed since the index was built: searches would miss or mismatch.
    deps.logger.warn('search parameters changed since the index was built: reindexing before serving');
    const count = await repo.reindex((progress) => deps.logger.info(progress, 'reindexing'));
    deps.logger.info({ resources: count }, 'reindex complete');
  }
  const seeded = await seedConformanceResources({ repo, registry, resources: profiles.resources, logger: deps.logger });
  deps.logger.info(
    { created: seeded.created.length, updated: seeded.updated.length, unchanged: seeded.unchanged.length, ambiguous: seeded.ambiguous.length },
    'conformance resources published',
  );
  const operations: FhirOperation[] = [validateOperation, patientEverything];
  const urls = authUrls(config.publicUrl, config.baseUrl);
  return {
    repo,
    registry,
    settings: {
      baseUrl: config.baseUrl,
      defaultPageSize: config.defaultPageSize,
      maxPageSize: config.maxPageSize,
      maxBundleEntries: config.maxBundleEntries,
      part2Programs: new Set(config.part2Programs),
      oauthUris: { token: urls.tokenUrl, introspect: urls.introspectionUrl },
    },
    // Real time, not the injectable clock: consent periods and cache ages are not test fixtures.
    access: accessPolicy({ registry, baseUrl: config.baseUrl, now: () => new Date(), cacheMs: config.accessCacheSeconds * 1000 }),
    now,
    operations: new Map(operations.map((o) => [o.name, o])),
    derivations: [scoringDerivation],
    profiles,
    stopMaintenance: stopSweep,
  };
}

/** The authorization server and token check on the same connection (auth/service.ts). */
export const buildAuthService = openAuthService;

/** The request budgets (platform/rate-limit.ts): per client for the APIs, per address for the token endpoint. */
export async function buildRateLimits(deps: { config: Config; connection: MongoConnection }): Promise<RateLimits> {
  const { config, connection } = deps;
  return {
    api: await mongoRateLimit(connection.db, { name: 'api', points: config.rateLimitPerMinute, durationSeconds: 60 }),
    token: await mongoRateLimit(connection.db, { name: 'token', points: config.tokenRateLimitPerMinute, durationSeconds: 60 }),
  };
}
