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
import { evaluateMeasureOperation } from './casemgmt/evaluate-measure';
import { caseEverything } from './operations/case-everything';
import { carePlanDocument } from './operations/care-plan-document';
import { exportOperation } from './operations/export';
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
import { referralTaskRule } from './workflows/referrals/referral-rule';
import { storeAuditLog } from './audit/audit-log';
import type { AccessPolicy } from './auth/caller';
import { type WorkflowRecords, operationalRecords, workflowRecords } from './store/records';
import { allowedDestinations } from './workflows/context';
import type { Fetch } from './workflows/outbound';
import type { PartnerDirectory } from './casemgmt/command';
import { Workflows } from './workflows/runtime';
import { ExportWorker } from './workflows/export/export-worker';
import { ReferralExchange } from './workflows/referrals/referral-exchange';
import { cdexRequestRule } from './workflows/cdex/cdex-request';
import { CdexWorker } from './workflows/cdex/cdex-worker';
import type { BulkDataStore } from './http/bulk-data';
import { subscriptionRule } from './workflows/subscriptions/subscription-rule';

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
  const records = await recordsOf(connection);
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
  const operations: FhirOperation[] = [validateOperation, patientEverything, caseEverything, carePlanDocument, exportOperation({ jobs: records.exportJobs }), evaluateMeasureOperation];
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
    access: observedWrites(accessPolicy({ registry, baseUrl: config.baseUrl, now: () => new Date(), cacheMs: config.accessCacheSeconds * 1000 }), connection),
    now,
    // Keyed by definition: several operations may share a name on different types ($everything).
    operations: new Map(operations.map((o) => [o.definition, o])),
    derivations: [scoringDerivation],
    rules: [
      referralTaskRule,
      cdexRequestRule,
      subscriptionRule({ states: records.subscriptions, destinations: () => allowedDestinations(records.partners, config.subscriptionEndpointOrigins), now }),
    ],
    profiles,
    stopMaintenance: stopSweep,
  };
}

/** The workflow records of a connection, opened once (the services' rules and the workflows share them). */
const openedRecords = new WeakMap<MongoConnection, Promise<WorkflowRecords>>();
function recordsOf(connection: MongoConnection): Promise<WorkflowRecords> {
  let records = openedRecords.get(connection);
  if (!records) openedRecords.set(connection, (records = workflowRecords(connection)));
  return records;
}

/** Told of the types each applied unit wrote in this process, besides the access policy: the workflows' nudge. */
const writeListeners = new WeakMap<MongoConnection, Set<(types: readonly string[]) => void>>();
function observedWrites(policy: AccessPolicy, connection: MongoConnection): AccessPolicy {
  const listeners = new Set<(types: readonly string[]) => void>();
  writeListeners.set(connection, listeners);
  return {
    ...policy,
    written(types) {
      policy.written?.(types);
      for (const listener of listeners) listener(types);
    },
  };
}

export interface WorkflowDependencies {
  readonly services: FhirServices;
  readonly config: Config;
  readonly connection: MongoConnection;
  readonly logger: Logger;
  /** When work is due (default: the services' clock); tests move it. */
  readonly now?: () => Date;
  /** Outbound HTTP (default: fetch); tests put faults in it. */
  readonly fetch?: Fetch;
  readonly instanceId?: string;
}

/**
 * The workflows (workflows/runtime.ts) on the services: subscriptions, referral exchange with
 * partners, payers' documentation requests, Bulk Data exports. Not started: main.ts starts them
 * (WORKFLOWS_ENABLED), tests run their rounds.
 */
export async function buildWorkflows(deps: WorkflowDependencies): Promise<Workflows> {
  const { config, connection } = deps;
  const records = await recordsOf(connection);
  const clients = (await operationalRecords(connection)).clients;
  const workflows = new Workflows({
    services: deps.services,
    records,
    auditLog: storeAuditLog(deps.services.repo),
    clientActive: async (clientId) => (await clients.find(clientId))?.active === true,
    settings: {
      subscriptionEndpointOrigins: config.subscriptionEndpointOrigins,
      referralPollSeconds: config.referralPollSeconds,
      bulkExportTtlSeconds: config.bulkExportTtlSeconds,
      cdexAutomatic: config.cdexAutomatic,
      intervalMs: config.workflowIntervalMs,
      outboundTimeoutMs: config.outboundTimeoutMs,
    },
    logger: deps.logger,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.instanceId ? { instanceId: deps.instanceId } : {}),
  });
  workflows.add(new ReferralExchange(workflows.context));
  workflows.add(new CdexWorker(workflows.context));
  workflows.add(new ExportWorker(workflows.context));
  writeListeners.get(connection)?.add(() => workflows.nudge());
  return workflows;
}

/** Export jobs and their files, for the Bulk Data status and file endpoints (http/bulk-data.ts). */
export async function buildBulkDataStore(deps: { services: FhirServices; connection: MongoConnection }): Promise<BulkDataStore> {
  const records = await recordsOf(deps.connection);
  return { jobs: records.exportJobs, files: records.exportFiles, now: deps.services.now };
}

/** Which organisations are active partners (the case API's commands that send check their recipient). */
export async function buildPartnerDirectory(deps: { connection: MongoConnection }): Promise<PartnerDirectory> {
  const records = await recordsOf(deps.connection);
  return { isActivePartner: async (organization) => (await records.partners.list()).some((p) => p.active && p.organization === organization) };
}

/** The authorization server and token check on the same connection (auth/service.ts). */
export const buildAuthService = openAuthService;

/**
 * The request budgets (platform/rate-limit.ts): per client for the APIs, per address for the
 * token endpoint. `close` shares their last counts: on shutdown, after the server has stopped
 * taking requests and before the connection closes.
 */
export async function buildRateLimits(deps: { config: Config; connection: MongoConnection; logger?: Logger }): Promise<RateLimits & { close(): Promise<void> }> {
  const { config, connection, logger } = deps;
  const onError = (err: unknown) => logger?.warn({ err }, 'request budgets could not be shared through the database: counting locally meanwhile');
  const api = await mongoRateLimit(connection.db, { name: 'api', points: config.rateLimitPerMinute, durationSeconds: 60, onError });
  const token = await mongoRateLimit(connection.db, { name: 'token', points: config.tokenRateLimitPerMinute, durationSeconds: 60, onError });
  return {
    api,
    token,
    async close() {
      await Promise.all([api.close(), token.close()]);
    },
  };
}
